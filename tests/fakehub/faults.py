"""Injected faults and the request log of the fake Hub.

Faults reproduce what a downloader meets in real life (rate limits, 5xx, connections cut
mid-body, truncated or corrupted bodies, slow links) on a chosen origin and path, a given
number of times, so that retry, resume and verification code can be tested deterministically.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

ORIGINS = ("hub", "cdn", "mirror", "any")
#: Kinds decided when the request arrives (before any routing).
EARLY_KINDS = frozenset({"status", "delay", "hangup"})
#: Kinds applied to the body of a successful (200/206) GET answer, whatever route produced it.
BODY_KINDS = frozenset({"drop", "short", "corrupt", "slow"})
#: Kinds the byte-serving origins (CDN, mirror) apply to how they answer.
SERVING_KINDS = frozenset({"ignore_range"})
_PARAMS = {
    "ignore_range": set(),
    "status": {"status", "retry_after"},
    "delay": {"seconds"},
    "hangup": set(),
    "drop": {"after"},
    "short": {"after"},
    "corrupt": {"offset"},
    "slow": {"rate"},
}


class Fault:
    """One injected failure.

    `Fault(kind, origin="any", path=None, method=None, times=1, **params)`:

    - origin: "hub" | "cdn" | "mirror" | "any"
    - path: substring of the decoded URL path (None = any path)
    - method: "GET", "HEAD"... (None = any). Body kinds never match HEAD (there is no body).
    - times: how many matching requests get it (None = forever); `fault.hits` counts them.

    Kinds and params:

    - "status" (status=503, retry_after=None): answer that status with a JSON error body,
      and `Retry-After: <retry_after>` when given.
    - "delay" (seconds=1.0): sleep, then answer normally.
    - "hangup": close the connection without answering (the client sees a disconnect).
    - "drop" (after=0): headers with the full Content-Length, `after` body bytes, then a TCP
      reset (the client sees "connection reset"; if it reads slowly it may get fewer bytes).
    - "short" (after=0): headers with the full Content-Length, exactly `after` body bytes,
      then a clean close (the client sees an incomplete body).
    - "corrupt" (offset=0): flips one byte of the body at `offset` (clamped to the last
      byte); length and headers unchanged.
    - "slow" (rate=bytes per second): throttles the body.
    - "ignore_range" (CDN and mirror): answer 200 with the whole body, as a server that
      does not support Range would.

    Body kinds apply to the first matching 200/206 answer with a non-empty body (file bytes
    or JSON), so an "any"-origin fault on an LFS path hits the CDN, not the hub's redirect.
    """

    def __init__(
        self,
        kind: str,
        origin: str = "any",
        path: str | None = None,
        method: str | None = None,
        times: int | None = 1,
        **params,
    ):
        if kind not in _PARAMS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(_PARAMS)}")
        if origin not in ORIGINS:
            raise ValueError(f"unknown origin {origin!r}; known: {ORIGINS}")
        unknown = set(params) - _PARAMS[kind]
        if unknown:
            raise TypeError(f"fault {kind!r} does not take {sorted(unknown)}")
        if kind == "status" and "status" not in params:
            params["status"] = 503
        if kind == "slow" and not float(params.get("rate", 0)) > 0:
            raise ValueError("a 'slow' fault needs rate=<bytes per second> > 0")
        self.kind, self.origin, self.path = kind, origin, path
        self.method = method.upper() if method else None
        self.times, self.params, self.hits = times, params, 0

    def matches(self, origin: str, method: str, path: str) -> bool:
        """Whether this fault (still armed) applies to a request."""
        if self.times is not None and self.hits >= self.times:
            return False
        if self.kind in BODY_KINDS and method == "HEAD":
            return False
        return (
            self.origin in ("any", origin)
            and (self.method is None or self.method == method)
            and (self.path is None or self.path in path)
        )

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def __repr__(self) -> str:
        return (
            f"Fault({self.kind!r}, origin={self.origin!r}, path={self.path!r}, method={self.method!r}, "
            f"times={self.times}, hits={self.hits}, {self.params})"
        )


class FaultList:
    """Thread-safe list of faults; taking a fault counts a hit atomically."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, kinds: frozenset, origin: str, method: str, path: str) -> Fault | None:
        """The first armed fault of one of `kinds` matching the request, with its hit counted."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(origin, method, path):
                    fault.hits += 1
                    return fault
        return None

    def __iter__(self):
        with self._lock:
            return iter(list(self._faults))


class Headers(dict):
    """Request headers with case-insensitive lookups (`rec.headers["authorization"]`)."""

    def __init__(self, pairs=()):
        super().__init__()
        for key, value in pairs:
            self[key] = value

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default=None):
        return super().get(key.lower(), default)


@dataclass
class RequestRecord:
    """One request seen by the fake, filled in as the answer is sent.

    It is appended when the request arrives, so it is in `hub.requests` before the client
    can see the answer; `status` and `bytes_sent` are set before the bytes leave.
    """

    origin: str
    method: str
    path: str  # decoded URL path
    query: dict[str, list[str]]
    headers: Headers
    status: int | None = None
    range: str | None = None
    bytes_sent: int = 0
    raw_path: str = ""  # URL path as sent (percent-encoded)
    fault: str | None = field(default=None)  # kind of the fault applied, if any
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None  # when the CDN sent the last byte (CDN answers only)

    @property
    def token(self) -> str | None:
        """The bearer token sent, or None."""
        auth = self.headers.get("authorization")
        if auth and auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return None
