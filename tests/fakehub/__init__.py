"""A fake Hugging Face Hub for tests: `from tests.fakehub import FakeHub, LFS, Fault`.

See `server.FakeHub` for the setup API, `faults.Fault` for injected failures and
`faults.RequestRecord` for what each recorded request holds.
"""

from .faults import Fault, RequestRecord
from .model import LFS, Commit, FileEntry, Repo, git_blob_sha1
from .server import FakeHub

__all__ = ["LFS", "Commit", "FakeHub", "Fault", "FileEntry", "Repo", "RequestRecord", "git_blob_sha1"]
