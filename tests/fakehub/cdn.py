"""The two byte-serving origins: the LFS CDN and a plain mirror.

They are separate origins (ports) on purpose: huggingface_hub follows a redirect itself only
when it stays on the same origin, and must drop the Authorization header when it leaves; a
downloader under test must not send the token to either of them.
"""

from __future__ import annotations

import re
import time
from urllib.parse import unquote

from .base import BaseHandler
from .model import COMMIT_RE

_CDN_RE = re.compile(r"^/repos/[0-9a-f]{2}/[0-9a-f]{2}/(?P<sha>[0-9a-f]{64})(?:/.*)?$")
_BLOB_RE = re.compile(r"^/blobs/(?P<sha>[0-9a-f]{64})$")


class CdnHandler(BaseHandler):
    """Signed-URL blob storage: `/repos/aa/bb/{sha256}/{path}?expires=...`, no auth needed."""

    origin = "cdn"

    def route(self) -> None:
        match = _CDN_RE.match(self.raw_path)
        if self.command not in ("GET", "HEAD") or match is None:
            self.send_text(404, "NoSuchKey")
            return
        expires = self.param("expires")
        if expires and expires.isdigit() and int(expires) < time.time():
            self.send_text(403, "AccessDenied: Request has expired")
            return
        sha = match.group("sha")
        data = self.hub._blob(sha)
        if data is None:  # unknown, or LFS.recorded(): metadata only, no bytes to serve
            self.send_text(404, "NoSuchKey")
            return
        headers = {"ETag": f'"{sha}"', "Content-Type": "application/octet-stream"}
        self.send_content(data, headers)


class MirrorHandler(BaseHandler):
    """A static mirror: `/{repo}/resolve/{commit}/{path}` and `/blobs/{sha256}`, bytes directly.

    Like a directory served by any web server: commits only (no branch names), no redirects,
    no gating, no Hub headers. A renamed repo is found under its old and new id.
    """

    origin = "mirror"

    def route(self) -> None:
        if self.command not in ("GET", "HEAD"):
            self.send_text(405, "Method Not Allowed")
            return
        data = self._find()
        if data is None:
            self.send_text(404, "Not Found")
        else:
            self.send_content(data, {"Content-Type": "application/octet-stream"})

    def _find(self) -> bytes | None:
        blob = _BLOB_RE.match(self.raw_path)
        if blob:
            return self.hub._blob(blob.group("sha"))
        segs = self.raw_path.split("/")[1:]
        if len(segs) < 5 or segs[2] != "resolve" or not COMMIT_RE.match(segs[3]):
            return None
        repo, moved_to = self.hub._lookup(unquote(segs[0]) + "/" + unquote(segs[1]))
        if repo is None and moved_to is not None:
            repo, _ = self.hub._lookup(moved_to)
        commit = repo.commits.get(segs[3]) if repo else None
        entry = commit.files.get(unquote("/".join(segs[4:]))) if commit else None
        return entry.data if entry else None
