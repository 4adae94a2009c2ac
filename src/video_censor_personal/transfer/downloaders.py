"""pooch-protocol downloaders: one transfer from one URL into a file, hashed as it streams.

    downloader(url, output_file, pooch)        the call pooch makes (pooch.retrieve works too)
    ├── ResumingDownloader                     http(s): Range resume, redirects, token policy
    └── FileDownloader                         file:// mirrors (a `models export` directory)

Why these are ours and not `pooch.HTTPDownloader`: pooch hashes the finished file in a
second pass (`hash_matches` after the download, about 0.8 s per GiB here), which alone
costs more than the network does on a fast link. Ours compute the sha256 in-stream, on the
same 1 MiB chunks they write (on a second thread, see HashingThread), so the digest is
ready when the last byte lands. They also resume: whatever `output_file` already holds is
hashed first and only the rest is asked for with an HTTP Range request (pooch deletes its
temp file on any failure, and has no resume).

A failed transfer raises TransferFailure, which says whether a retry may help; fetch.py
turns those into the retry policy and, in the end, into our errors. `requests` is
imported only when a transfer starts.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

from video_censor_personal.cache import CHUNK, sha256_file

MAX_REDIRECTS = 10
MAX_RETRY_AFTER = 600.0


@dataclass(frozen=True)
class Source:
    """One place to get a file from. The token goes only to `token_origin`."""

    url: str
    token: str | None = field(default=None, repr=False)
    token_origin: str | None = None

    @property
    def origin(self) -> str:
        return origin_of(self.url)

    @property
    def is_file(self) -> bool:
        return self.url.startswith("file://")


class TransferFailure(Exception):
    """Why one transfer failed: `kind` is network, unreachable, not-found, gated, denied,
    integrity or restart; `retry` says whether the retry policy applies."""

    def __init__(self, kind: str, reason: str, retry: bool = False, retry_after: float | None = None,
                 actual: str | None = None):
        super().__init__(reason)
        self.kind, self.reason, self.retry, self.retry_after = kind, reason, retry, retry_after
        self.actual = actual


def origin_of(url: str) -> str:
    """scheme://host:port, the unit the token policy is about (ports made explicit)."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def file_path_of(url: str) -> Path:
    """file:///srv/my%20mirror/x -> /srv/my mirror/x (spaces are %20 in VIDEO_CENSOR_MIRRORS)."""
    parts = urlsplit(url)
    return Path(url2pathname(unquote(parts.netloc + parts.path)))


def new_session():
    """A requests session for one download thread (connections are reused across files).

    With trust_env, requests walks all of os.environ several times per request looking for
    proxy settings (about 1 ms a request: most of the cost of a small file). Without proxy
    variables there is nothing to find, so only the CA bundle is taken over, as requests
    would (a ~/.netrc is not consulted: the Hub token is the only credential we send).
    """
    import requests

    session = requests.Session()
    if not any(name.lower() in _PROXY_VARIABLES for name in os.environ):
        session.trust_env = False
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
    return session


_PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


class ResumingDownloader:
    """A pooch downloader over HTTP(S) that resumes, hashes in-stream and guards the token.

    Called as pooch calls downloaders: `downloader(url, output_file, pooch)`. Bytes already
    in `output_file` are hashed first and kept; the rest comes with `Range: bytes=N-`.
    Redirects are followed here, not by requests, so that the Authorization header is
    decided per hop: only a hop on `source.token_origin` gets it (the Hub's LFS redirect
    goes to a CDN on another origin, which must never see the token).
    """

    def __init__(self, session, source: Source, size: int, timeout: float, progress=None):
        self.session, self.source, self.size, self.timeout = session, source, size, timeout
        self.progress = progress or (lambda n: None)
        self.hasher = hashlib.sha256()

    def __call__(self, url: str, output_file, pooch=None, check_only: bool = False):
        if check_only:
            with self._open(url, {}, method="HEAD") as response:
                return response.status_code == 200
        path = Path(output_file)
        offset = self._hash_prefix(path)
        with self._open(url, {"Range": f"bytes={offset}-"} if offset else {}) as response:
            if offset and not _resumes_at(response, offset):  # Range ignored or moved: start over
                self.progress(-offset)
                self.hasher, offset = hashlib.sha256(), 0
            with open(path, "r+b" if offset else "wb") as out:
                out.seek(offset)
                out.truncate()
                self._copy(response, out, offset)
        return None

    def _hash_prefix(self, path: Path) -> int:
        try:
            offset = path.stat().st_size
        except FileNotFoundError:
            return 0
        if offset >= self.size:  # complete or too long: nothing to resume, fetch it whole
            return 0
        sha256_file(path, self.hasher, self.progress)
        return offset

    def _headers(self, url: str, extra: dict) -> dict:
        headers = {"Accept-Encoding": "identity", **extra}
        if self.source.token and origin_of(url) == self.source.token_origin:
            headers["Authorization"] = f"Bearer {self.source.token}"
        return headers

    def _open(self, url: str, extra: dict, method: str = "GET"):
        for _ in range(MAX_REDIRECTS):
            response = self._request(method, url, extra)
            if not response.is_redirect:
                _check_status(response)
                return response
            url = urljoin(url, response.headers["location"])
            _discard(response)
        raise TransferFailure("network", f"more than {MAX_REDIRECTS} redirects")

    def _request(self, method: str, url: str, extra: dict):
        import requests

        try:
            return self.session.request(
                method, url, headers=self._headers(url, extra), stream=True, timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.ConnectionError as exc:
            if _refused(exc):
                raise TransferFailure("unreachable", _unreachable(exc, url)) from None
            raise TransferFailure("network", f"connection failed: {type(exc).__name__}", retry=True) from None
        except requests.RequestException as exc:
            raise TransferFailure("network", f"request failed: {type(exc).__name__}", retry=True) from None

    def _copy(self, response, out, offset: int) -> None:
        """Stream the body: write each 1 MiB chunk, hash it on a second thread, count it.

        Only reading errors are transfer failures; a failed write (a full disk) is not
        something a retry fixes, so it propagates as the OSError it is.
        """
        received = offset
        with HashingThread(self.hasher, self.size - offset) as hasher:
            while chunk := _read(response, received):
                received += len(chunk)
                if received > self.size:
                    raise TransferFailure("integrity", f"more bytes than the locked size {self.size}")
                out.write(chunk)
                hasher.update(chunk)
                self.progress(len(chunk))
        if received < self.size:
            raise TransferFailure("network", f"short body: {received} of {self.size} bytes", retry=True)
        response.raw.release_conn()  # body read to the end: the connection goes back to the pool


def _read(response, received: int) -> bytes:
    import requests
    import urllib3

    try:
        return response.raw.read(CHUNK, decode_content=False)
    except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
        reason = f"transfer broken after {received} bytes ({type(exc).__name__})"
        raise TransferFailure("network", reason, retry=True) from None


def _resumes_at(response, offset: int) -> bool:
    """A 206 whose Content-Range starts where our partial file ends."""
    content_range = response.headers.get("Content-Range", "")
    return response.status_code == 206 and content_range.startswith(f"bytes {offset}-")


def _discard(response) -> None:
    """Read a small body (redirect, error) to its end so the connection can be reused."""
    import requests

    with contextlib.suppress(requests.RequestException):
        response.content  # noqa: B018 - read for its side effect
    response.close()


class HashingThread:
    """Feeds a hasher from a second thread, so hashing overlaps receiving and writing.

    On two cores this takes sha256 (about 0.8 s per GiB) off the critical path of a single
    big download: hashlib and file writes both release the GIL. When other transfers are
    already streaming, the cores are busy anyway and an extra thread per file only adds
    GIL hand-offs (measured: more CPU, no gain), so those hash inline; small files too.
    The queue is bounded, so memory stays flat.
    """

    THRESHOLD = 16 * CHUNK
    DEPTH = 8
    _streaming = 0  # transfers in progress in this process
    _count_lock = threading.Lock()

    def __init__(self, hasher, expected_bytes: int):
        self.hasher, self.expected_bytes = hasher, expected_bytes
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self):
        with HashingThread._count_lock:
            alone = HashingThread._streaming == 0
            HashingThread._streaming += 1
        if alone and self.expected_bytes >= self.THRESHOLD:
            self._queue = queue.Queue(self.DEPTH)
            self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)
            self._thread.start()
        return self

    def update(self, chunk: bytes) -> None:
        if self._queue is None:
            self.hasher.update(chunk)
        else:
            self._queue.put(chunk)

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self.hasher.update(chunk)

    @property
    def threaded(self) -> bool:
        return self._thread is not None

    def __exit__(self, *exc) -> None:
        """Every queued chunk is hashed before anyone reads the digest."""
        if self._thread:
            self._queue.put(None)
            self._thread.join()
        with HashingThread._count_lock:
            HashingThread._streaming -= 1


class FileDownloader:
    """The same protocol for `file://` mirrors (an export directory): a hashed copy."""

    def __init__(self, size: int, progress=None):
        self.size, self.progress = size, progress or (lambda n: None)
        self.hasher = hashlib.sha256()

    def __call__(self, url: str, output_file, pooch=None, check_only: bool = False):
        source = file_path_of(url)
        if check_only:
            return source.is_file()
        try:
            with open(source, "rb") as src, open(output_file, "wb") as out:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
                    self.hasher.update(chunk)
                    self.progress(len(chunk))
        except FileNotFoundError:
            raise TransferFailure("not-found", f"{source} does not exist") from None
        except OSError as exc:
            raise TransferFailure("network", f"cannot read {source}: {exc.strerror}") from None
        return None


def _check_status(response) -> None:
    code = response.status_code
    if code in (200, 206):
        return
    _discard(response)
    if code in (404, 410):
        raise TransferFailure("not-found", f"HTTP {code} (not found)")
    if code in (401, 403):
        gated = response.headers.get("X-Error-Code") == "GatedRepo"
        raise TransferFailure("gated" if gated else "denied", f"HTTP {code} (access denied)")
    if code == 416:  # our Range no longer fits: start again from scratch at once
        raise TransferFailure("restart", "HTTP 416 (range not satisfiable)", retry=True, retry_after=0.0)
    if code == 429 or code >= 500:
        raise TransferFailure("network", f"HTTP {code}", retry=True, retry_after=_retry_after(response))
    raise TransferFailure("denied", f"HTTP {code}")


def _retry_after(response) -> float | None:
    """Retry-After as seconds (a number or an HTTP date), capped; None when absent or bad."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _unreachable(exc: Exception, url: str) -> str:
    """`cannot resolve HOST` for a name that does not resolve, else `cannot connect to ORIGIN`."""
    import urllib3

    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        return f"cannot resolve {urlsplit(url).hostname}"
    return f"cannot connect to {origin_of(url)}"


def _refused(exc: Exception) -> bool:
    """A refused connection or an unknown host (as opposed to a broken or slow one)."""
    import urllib3

    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)
