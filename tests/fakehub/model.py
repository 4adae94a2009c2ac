"""Repositories, commits and files of the fake Hub (no HTTP here).

The Hub is a git server: a file is identified by the git blob sha1 of what git stores
(the bytes themselves, or the LFS pointer for an LFS file), a commit by a 40-hex sha, and a
branch or tag by the commit it points at. Everything is deterministic so that a lock made
against the fake is byte-identical from run to run.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_EPOCH = datetime(2026, 1, 5, 9, 30, 0, tzinfo=timezone.utc)


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob: what the Hub reports as `oid`/`blobId` and plain-file ETag."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def format_date(value: datetime) -> str:
    """The Hub's date format (`2026-11-24T11:50:47.000Z`): anything else makes huggingface_hub raise."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class LFS:
    """Content stored through Git LFS: the Hub lists its sha256 and size, and serves it from the CDN.

    `LFS(data)` holds real bytes. `LFS.recorded(size=, sha256=)` holds only the metadata of a
    real (too large) file, so that a test can reproduce a lock of it: the API reports it
    exactly, but its bytes cannot be downloaded (the CDN answers 404).
    """

    __slots__ = ("data", "sha256", "size")

    def __init__(self, data: bytes | None = None, *, size: int | None = None, sha256: str | None = None):
        if data is not None:
            self.data: bytes | None = bytes(data)
            self.size = len(self.data)
            self.sha256 = hashlib.sha256(self.data).hexdigest()
            return
        if size is None or sha256 is None or not SHA256_RE.match(sha256) or size < 0:
            raise ValueError("LFS without bytes needs size >= 0 and a 64-hex lowercase sha256")
        self.data, self.size, self.sha256 = None, int(size), sha256

    @classmethod
    def recorded(cls, size: int, sha256: str) -> LFS:
        """Metadata only (size + sha256): for reproducing a real multi-hundred-MB file."""
        return cls(size=size, sha256=sha256)

    @property
    def pointer(self) -> bytes:
        """The pointer file git stores instead of the content (its sha1 is the file's git oid)."""
        return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n").encode()

    def __repr__(self) -> str:
        kind = "bytes" if self.data is not None else "recorded"
        return f"LFS({kind}, size={self.size}, sha256={self.sha256[:12]}...)"


@dataclass(frozen=True)
class FileEntry:
    """One file of a commit, with everything the API, the tree and resolve report about it."""

    path: str
    size: int
    oid: str
    data: bytes | None
    sha256: str
    lfs: bool
    pointer_size: int | None = None

    @classmethod
    def build(cls, path: str, content: bytes | LFS) -> FileEntry:
        """Turn `bytes` (a plain git file) or `LFS` into an entry; validates the path like git."""
        check_path(path)
        if isinstance(content, LFS):
            pointer = content.pointer
            return cls(path, content.size, git_blob_sha1(pointer), content.data, content.sha256, True, len(pointer))
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise TypeError(f"{path}: content must be bytes or LFS, not {type(content).__name__}")
        data = bytes(content)
        return cls(path, len(data), git_blob_sha1(data), data, hashlib.sha256(data).hexdigest(), False)


def check_path(path: str) -> None:
    """Reject paths git would not store, so tests fail early instead of producing odd URLs."""
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid file path in repo: {path!r}")


@dataclass(frozen=True)
class Commit:
    """An immutable snapshot: the full tree, its parent, message and date."""

    sha: str
    parent: str | None
    message: str
    date: datetime
    files: Mapping[str, FileEntry] = field(repr=False)

    def directories(self) -> list[str]:
        """Every directory that holds a file, at any depth (the tree API lists them too)."""
        dirs = {p.rsplit("/", i)[0] for p in self.files for i in range(1, p.count("/") + 1)}
        return sorted(dirs)

    def dir_oid(self, directory: str) -> str:
        """A stable id for a directory (stands in for the git tree sha)."""
        prefix = directory + "/"
        items = "".join(f"{p}\0{e.oid}\n" for p, e in sorted(self.files.items()) if p.startswith(prefix))
        return hashlib.sha1(f"tree {directory}\n{items}".encode()).hexdigest()

    def is_dir(self, path: str) -> bool:
        prefix = path + "/"
        return any(p.startswith(prefix) for p in self.files)


def commit_sha(parent: str | None, files: Mapping[str, FileEntry], message: str) -> str:
    """Deterministic sha: same parent, tree and message give the same commit."""
    h = hashlib.sha1(f"parent {parent}\nmessage {message}\n".encode())
    for path in sorted(files):
        h.update(f"{path}\0{files[path].oid}\n".encode())
    return h.hexdigest()


class Repo:
    """A model repo on the fake Hub. Attributes (card, gated, downloads...) may be changed at any time."""

    def __init__(self, hub, repo_id: str, **attrs):
        self._hub = hub
        self.id = repo_id
        self.card: dict = dict(attrs.pop("card") or {})
        gated = attrs.pop("gated")
        self.gated: bool | str = "auto" if gated is True else gated
        for name, value in attrs.items():
            setattr(self, name, value)
        self.created_at: datetime = hub._clock()
        self.commits: dict[str, Commit] = {}
        self.branches: dict[str, str] = {}
        self.git_tags: dict[str, str] = {}

    @property
    def _lock(self) -> threading.RLock:
        return self._hub._lock

    def commit(self, files: Mapping[str, bytes | LFS], branch: str = "main", message: str = "update") -> str:
        """Make a commit whose FULL tree is `files` on `branch` (created if new); returns its sha."""
        entries = {path: FileEntry.build(path, content) for path, content in files.items()}
        with self._lock:
            parent = self.branches.get(branch)
            return self._add(commit_sha(parent, entries, message), parent, entries, message, branch)

    def commit_update(
        self,
        changes: Mapping[str, bytes | LFS] | None = None,
        delete: Iterable[str] = (),
        branch: str = "main",
        message: str = "update",
    ) -> str:
        """Commit the branch head's tree with `changes` added/replaced and `delete` removed."""
        with self._lock:
            head = self.branches.get(branch)
            base = dict(self.commits[head].files) if head else {}
            for path in delete:
                if base.pop(path, None) is None:
                    raise KeyError(f"{self.id}@{branch}: cannot delete missing file {path!r}")
            base.update({path: FileEntry.build(path, content) for path, content in (changes or {}).items()})
            return self._add(commit_sha(head, base, message), head, base, message, branch)

    def record(
        self,
        commit: str,
        files: Mapping[str, bytes | LFS],
        branch: str | None = "main",
        message: str = "recorded commit",
    ) -> str:
        """Add a commit with a FIXED sha (a real Hub commit), typically with `LFS.recorded` files."""
        if not COMMIT_RE.match(commit):
            raise ValueError(f"commit must be 40 lowercase hex digits: {commit!r}")
        entries = {path: FileEntry.build(path, content) for path, content in files.items()}
        with self._lock:
            parent = self.branches.get(branch) if branch else None
            return self._add(commit, parent, entries, message, branch)

    def tag(self, name: str, rev: str) -> str:
        """Point tag `name` at `rev` (a commit, branch or tag); tags resolve like branches."""
        with self._lock:
            self.git_tags[name] = self._require(rev).sha
            return self.git_tags[name]

    def branch(self, name: str, rev: str) -> str:
        """Create or move branch `name` to `rev` (a commit, branch or tag)."""
        with self._lock:
            self.branches[name] = self._require(rev).sha
            return self.branches[name]

    def head(self, branch: str = "main") -> str | None:
        """The commit sha a branch points at, or None."""
        return self.branches.get(branch)

    def resolve(self, rev: str) -> Commit | None:
        """A branch, tag or full commit sha (also `refs/heads/x`, `refs/tags/x`) to its commit."""
        with self._lock:
            for prefix, refs in (("refs/heads/", self.branches), ("refs/tags/", self.git_tags)):
                if rev.startswith(prefix) and rev[len(prefix) :] in refs:
                    return self.commits[refs[rev[len(prefix) :]]]
            sha = self.branches.get(rev) or self.git_tags.get(rev) or rev
            return self.commits.get(sha)

    def history(self, commit: Commit) -> list[Commit]:
        """`commit` and its ancestors, newest first."""
        out = [commit]
        while out[-1].parent and out[-1].parent in self.commits:
            out.append(self.commits[out[-1].parent])
        return out

    def last_commit_for(self, commit: Commit, path: str) -> Commit:
        """The newest ancestor commit that changed `path` (what the tree API's expand=true reports)."""
        entry = commit.files.get(path)
        chain = self.history(commit)
        for older, newer in zip(chain[1:], chain, strict=False):
            if older.files.get(path) != entry:
                return newer
        return chain[-1]

    @property
    def last_modified(self) -> datetime:
        """Date of the newest commit (the Hub's lastModified)."""
        with self._lock:
            return max((c.date for c in self.commits.values()), default=self.created_at)

    def _require(self, rev: str) -> Commit:
        found = self.resolve(rev)
        if found is None:
            raise KeyError(f"{self.id}: unknown revision {rev!r}")
        return found

    def _add(self, sha: str, parent: str | None, entries: dict, message: str, branch: str | None) -> str:
        old = self.commits.get(sha)
        if old is None:
            self.commits[sha] = Commit(sha, parent, message, self._hub._clock(), MappingProxyType(entries))
            self._hub._store_blobs(entries.values())
        elif dict(old.files) != entries:
            raise ValueError(f"{self.id}: commit {sha} already exists with a different tree")
        if branch:
            self.branches[branch] = sha
        return sha

    def __repr__(self) -> str:
        return f"Repo({self.id!r}, branches={self.branches})"


def clock_from(start: datetime = _EPOCH):
    """A deterministic clock: each call is one second later (dates in API answers stay stable)."""
    state = {"n": 0}
    lock = threading.Lock()

    def tick() -> datetime:
        with lock:
            state["n"] += 1
            return start + timedelta(seconds=state["n"])

    return tick
