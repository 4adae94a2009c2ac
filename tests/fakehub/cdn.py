"""The two byte-serving origins: the LFS CDN and a plain mirror.

They are separate origins (ports) on purpose: huggingface_hub follows a redirect itself only
when it stays on the same origin, and must drop the Authorization header when it leaves; a
downloader under test must not send the token to either of them.
"""

from __future__ import annotations

import re
import time
from urllib.parse import unquote

from .base import BaseHandler, parse_range
from .faults import SERVING_KINDS
from .model import COMMIT_RE

_SLICES_PER_SECOND = 20

_CDN_RE = re.compile(r"^/repos/[0-9a-f]{2}/[0-9a-f]{2}/(?P<sha>[0-9a-f]{64})(?:/.*)?$")
_BLOB_RE = re.compile(r"^/blobs/(?P<sha>[0-9a-f]{64})$")


class CdnHandler(BaseHandler):
    """Signed-URL blob storage: `/repos/aa/bb/{sha256}/{path}?expires=...&sig=...`, no auth.

    Like the Hub's CDN: an expired or tampered URL is 403, each connection is capped at
    `hub.cdn_rate` bytes per second (a CDN edge's per-connection limit), and a blob
    registered with `hub.serve_file` goes out by the kernel's sendfile.
    """

    origin = "cdn"

    def route(self) -> None:
        try:
            self._answer()
        finally:
            self.record.finished = time.monotonic()

    def _answer(self) -> None:
        match = _CDN_RE.match(self.raw_path)
        if self.command not in ("GET", "HEAD") or match is None:
            self.send_text(404, "NoSuchKey")
            return
        refusal = self._refusal()
        if refusal:
            self.send_text(403, refusal)
            return
        sha = match.group("sha")
        headers = {"ETag": f'"{sha}"', "Content-Type": "application/octet-stream"}
        path = self.hub._blob_file(sha)
        if path is not None:
            self._send_file(path, headers)
            return
        data = self.hub._blob(sha)
        if data is None:  # unknown, or LFS.recorded(): metadata only, no bytes to serve
            self.send_text(404, "NoSuchKey")
            return
        self.send_content(data, headers, ranges=not self._ignores_range())

    def _refusal(self) -> str | None:
        expires, sig = self.param("expires", ""), self.param("sig", "")
        if not expires.isdigit() or sig != self.hub._signature(self.raw_path, expires):
            return "AccessDenied: signature does not match"
        if int(expires) < time.time():
            return "AccessDenied: Request has expired"
        return None

    def _ignores_range(self) -> bool:
        fault = self.hub._faults.take(SERVING_KINDS, self.origin, self.command, self.record.path)
        if fault is not None:
            self.record.fault = fault.kind
        return fault is not None

    def _send_file(self, path, headers: dict[str, str]) -> None:
        """Headers, then the bytes by sendfile (Range honoured; body faults do not apply)."""
        size = path.stat().st_size
        span = parse_range(self.record.range, size) if not self._ignores_range() else None
        if span == "416":
            self.send_text(416, "Requested Range Not Satisfiable", {"Content-Range": f"bytes */{size}"})
            return
        start, end, status = (0, size - 1, 200) if span is None else (*span, 206)
        if span is not None:
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self._head(status, {"Accept-Ranges": "bytes", **headers}, end - start + 1)
        if self.command == "HEAD":
            return
        self.wfile.flush()
        with open(path, "rb") as handle:
            self._throttled(lambda offset, count: self.connection.sendfile(handle, offset, count), start,
                            end - start + 1)

    def _write(self, data: bytes) -> None:
        if self.command == "HEAD" or not data:
            return
        view = memoryview(data)

        def send(offset: int, count: int) -> int:
            self.wfile.write(view[offset : offset + count])
            self.wfile.flush()
            return count

        self._throttled(send, 0, len(data))

    def _throttled(self, send, offset: int, count: int) -> None:
        """send(offset, count) in slices that keep this connection under hub.cdn_rate."""
        rate = self.hub.cdn_rate
        slice_size = count if not rate else max(1, int(rate / _SLICES_PER_SECOND))
        end = offset + count
        while offset < end:
            sent = send(offset, min(slice_size, end - offset))
            self.record.bytes_sent += sent
            offset += sent
            if rate:
                self._pace(rate, sent)

    def _pace(self, rate: float, sent: int) -> None:
        """Sleep so that this connection's bytes since it opened stay at `rate` per second."""
        now = time.monotonic()
        started, total = getattr(self, "_pace_state", (now, 0))
        self._pace_state = (started, total + sent)
        ahead = (total + sent) / rate - (now - started)
        if ahead > 0:
            time.sleep(ahead)


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
