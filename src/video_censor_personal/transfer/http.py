"""HTTP plumbing of the transfers: sessions, redirects with the token policy, status codes.

    HttpClient(session, source, timeout).open(url, first=, last=)   -> (response, final URL)
      follows redirects itself: only a hop on `source.token_origin` gets the token
    TransferFailure                                                 why one request failed
    body_stream(response)                                           the raw body, for readinto

`requests` is imported only when a transfer starts, so a no-op run never loads it.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

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
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.lower()

    @property
    def is_file(self) -> bool:
        return self.scheme == "file"


class TransferFailure(Exception):
    """Why one transfer failed: `kind` is network, unreachable, not-found, gated, denied,
    integrity or restart; `retry` says whether the retry policy applies; `status` is the
    HTTP status when there was one."""

    def __init__(self, kind: str, reason: str, retry: bool = False, retry_after: float | None = None,
                 actual: str | None = None, status: int | None = None):
        super().__init__(reason)
        self.kind, self.reason, self.retry, self.retry_after = kind, reason, retry, retry_after
        self.actual, self.status = actual, status
        self.url: str | None = None  # the hop that answered `status`


def origin_of(url: str) -> str:
    """scheme://host:port, the unit the token policy is about (ports made explicit)."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def file_path_of(url: str) -> Path:
    """file:///srv/my%20mirror/x -> /srv/my mirror/x (spaces are %20 in VIDEO_CENSOR_MIRRORS).

    `file://localhost/srv/x` names the same file (RFC 8089): the host part is not a path.
    """
    return Path(url2pathname(unquote(urlsplit(url).path)))


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


class HttpClient:
    """GET/HEAD with redirects followed here, not by requests, so that the Authorization
    header is decided per hop: only a hop on `source.token_origin` gets it (the Hub's LFS
    redirect goes to a CDN on another origin, which must never see the token)."""

    def __init__(self, session, source: Source, timeout: float):
        self.session, self.source, self.timeout = session, source, timeout

    def open(self, url: str, first: int = 0, last: int | None = None, method: str = "GET"):
        """(response, final URL) for bytes first..last (inclusive; None: to the end)."""
        extra = {"Range": f"bytes={first}-{'' if last is None else last}"} if first or last is not None else {}
        for _ in range(MAX_REDIRECTS):
            response = self._request(method, url, extra)
            if not response.is_redirect:
                try:
                    check_status(response)
                except TransferFailure as failure:
                    failure.url = url
                    raise
                return response, url
            url = urljoin(url, response.headers["location"])
            discard(response)
        raise TransferFailure("network", f"more than {MAX_REDIRECTS} redirects")

    def _headers(self, url: str, extra: dict) -> dict:
        headers = {"Accept-Encoding": "identity", **extra}
        if self.source.token and origin_of(url) == self.source.token_origin:
            headers["Authorization"] = f"Bearer {self.source.token}"
        return headers

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


def body_stream(response):
    """Where `readinto` fills our buffers straight from the socket: one copy, no new bytes.

    urllib3's own `read`/`readinto` allocate a bytes object per call and copy it again;
    at a GiB per second those copies are most of the client's time (profiled). The
    http.client response under it reads into a caller's buffer directly. We ask for
    `Accept-Encoding: identity`, so the body is the file's bytes; a server that encodes
    anyway goes through urllib3, which decodes.
    """
    raw = response.raw
    inner = getattr(raw, "_fp", None)
    if inner is not None and hasattr(inner, "readinto") and not response.headers.get("Content-Encoding"):
        return inner
    return _Decoded(raw)


class _Decoded:
    """readinto over urllib3's decoding read, for the rare encoded body."""

    def __init__(self, raw):
        self.raw = raw

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer), decode_content=True)
        buffer[: len(data)] = data
        return len(data)


def read_into(stream, view: memoryview, received: int) -> int:
    """Fill `view` as far as the body goes (0 at its end); a broken body is a retryable failure."""
    import requests
    import urllib3

    filled = 0
    try:
        while filled < len(view) and (n := stream.readinto(view[filled:])):
            filled += n
    except (urllib3.exceptions.HTTPError, requests.RequestException, OSError, ValueError) as exc:
        reason = f"transfer broken after {received + filled} bytes ({type(exc).__name__})"
        raise TransferFailure("network", reason, retry=True) from None
    return filled


def resumes_at(response, offset: int) -> bool:
    """A 206 whose Content-Range starts where we asked."""
    content_range = response.headers.get("Content-Range", "")
    return response.status_code == 206 and content_range.startswith(f"bytes {offset}-")


def discard(response) -> None:
    """Read a small body (redirect, error) to its end so the connection can be reused."""
    import requests

    with contextlib.suppress(requests.RequestException):
        response.content  # noqa: B018 - read for its side effect
    response.close()


def check_status(response) -> None:
    code = response.status_code
    if code in (200, 206):
        return
    discard(response)
    if code in (404, 410):
        raise TransferFailure("not-found", f"HTTP {code} (not found)", status=code)
    if code in (401, 403):
        gated = response.headers.get("X-Error-Code") == "GatedRepo"
        raise TransferFailure("gated" if gated else "denied", f"HTTP {code} (access denied)", status=code)
    if code == 416:  # our Range no longer fits: start again from scratch at once
        raise TransferFailure("restart", "HTTP 416 (range not satisfiable)", retry=True, retry_after=0.0,
                              status=code)
    if code == 429 or code >= 500:
        raise TransferFailure("network", f"HTTP {code}", retry=True, retry_after=_retry_after(response),
                              status=code)
    raise TransferFailure("denied", f"HTTP {code}", status=code)


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
