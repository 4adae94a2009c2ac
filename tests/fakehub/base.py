"""HTTP plumbing shared by the three origins: recording, latency, faults, Range, errors.

Everything goes through `send_json`, `send_error_json`, `send_redirect` and `send_content`, so
every answer carries a Content-Length (keep-alive stays in sync) and every 200/206 body
passes through the body-fault hook.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from .faults import BODY_KINDS, EARLY_KINDS, Fault, Headers, RequestRecord

_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
_SLOW_CHUNKS_PER_SECOND = 20


class Server(ThreadingHTTPServer):
    """A threading server that knows its hub and can close idle keep-alive connections on stop."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address, handler, hub):
        self.hub = hub
        self.open_sockets: set[socket.socket] = set()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        with self.hub._lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.hub._lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_open_sockets(self) -> None:
        """Wake handlers blocked on idle keep-alive connections so their threads end."""
        with self.hub._lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address):
        """Quiet: a client that goes away is normal; other errors are kept in hub.errors."""
        if not isinstance(sys.exc_info()[1], OSError):
            self.hub._server_error(traceback.format_exc())


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(start, end inclusive) for a satisfiable single range, None to ignore it, "416" if unsatisfiable."""
    match = _RANGE_RE.match(header or "")
    if not match or (not match.group(1) and not match.group(2)):
        return None  # absent, malformed or multi-range: serve the whole body (allowed by RFC 9110)
    first, last = match.groups()
    if not first:  # suffix range: the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            return "416"
        return max(0, size - count), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return "416"
    return start, end


class BaseHandler(BaseHTTPRequestHandler):
    """One origin of the fake. Subclasses set `origin` and implement `route()`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each request on a reused connection stalls ~40 ms
    server_version = "FakeHub/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections end after this
    origin = "any"

    # -- request entry ---------------------------------------------------------------------
    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    @property
    def hub(self):
        return self.server.hub

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        self.raw_path, self.query_string = split.path, split.query
        self.query = parse_qs(split.query, keep_blank_values=True)
        self.body = self._read_request_body()
        self.record = RequestRecord(
            origin=self.origin,
            method=self.command,
            path=unquote(self.raw_path),
            query=self.query,
            headers=Headers(self.headers.items()),
            range=self.headers.get("Range"),
            raw_path=self.raw_path,
        )
        self.hub._record(self.record)
        self._sent_headers = False
        try:
            if self.hub.latency:
                time.sleep(self.hub.latency)
            if not self._early_fault():
                self.route()
        except (ConnectionError, TimeoutError):  # the client went away
            self.close_connection = True
        except Exception:
            self.hub._server_error(traceback.format_exc())
            if not self._sent_headers:
                self.send_error_json(500, "fake hub internal error (see hub.errors)")
            self.close_connection = True

    def _read_request_body(self) -> bytes:
        """Read (and keep) any request body so the next request on the connection starts clean."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _early_fault(self) -> bool:
        """Apply a status/delay/hangup fault; True when the request has been answered."""
        fault = self.hub._faults.take(EARLY_KINDS, self.origin, self.command, self.record.path)
        if fault is None:
            return False
        self.record.fault = fault.kind
        if fault.kind == "delay":
            time.sleep(float(fault.params.get("seconds", 1.0)))
            return False
        if fault.kind == "hangup":
            self.close_connection = True
            self._sent_headers = True
            return True
        status = int(fault.params["status"])
        retry_after = fault.params.get("retry_after")
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.send_error_json(status, f"injected fault: HTTP {status}", headers=headers)
        return True

    def route(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    # -- answers ---------------------------------------------------------------------------
    def send_response(self, code, message=None):
        self.record.status = code
        self._sent_headers = True
        super().send_response(code, message)

    def log_message(self, format, *args):
        """Quiet: tests read hub.requests instead of a log."""

    def version_string(self) -> str:
        return self.server_version

    def _head(self, status: int, headers: dict[str, str], length: int) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def send_json(self, obj, status: int = 200, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(obj).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        self.send_content(body, headers, status, ranges=False)

    def send_error_json(self, status: int, message: str, code: str | None = None, headers=None) -> None:
        """An error like the Hub's: X-Error-Code, X-Error-Message and {"error": ...}."""
        extra = dict(headers or {})
        if code:
            extra["X-Error-Code"] = code
        extra["X-Error-Message"] = message
        body = json.dumps({"error": message}).encode()
        self._head(status, {"Content-Type": "application/json; charset=utf-8", **extra}, len(body))
        self._write(body)

    def send_text(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        """A plain-text answer (CDN and mirror errors carry no Hub error headers)."""
        body = text.encode()
        self._head(status, {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}, len(body))
        self._write(body)

    def send_redirect(self, status: int, location: str, headers: dict[str, str] | None = None) -> None:
        body = f"{'Found' if status == 302 else 'Temporary Redirect'}. Redirecting to {location}".encode()
        all_headers = {"Location": location, "Content-Type": "text/plain; charset=utf-8", **(headers or {})}
        self._head(status, all_headers, len(body))
        self._write(body)

    def send_content(self, data: bytes, headers: dict[str, str], status: int = 200, ranges: bool = True) -> None:
        """Send file bytes (with Range support: 206/416) or JSON, through the body-fault hook."""
        size = len(data)
        if ranges:
            headers = {"Accept-Ranges": "bytes", **headers}
        if ranges and status == 200 and self.record.range is not None:
            span = parse_range(self.record.range, size)
            if span == "416":
                self.send_text(416, "Requested Range Not Satisfiable", {"Content-Range": f"bytes */{size}"})
                return
            if span is not None:
                start, end = span
                data, status = data[start : end + 1], 206
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self._head(status, headers, len(data))
        fault = None
        if data and self.command != "HEAD":
            fault = self.hub._faults.take(BODY_KINDS, self.origin, self.command, self.record.path)
        if fault is None:
            self._write(data)
        else:
            self.record.fault = fault.kind
            self._faulty_body(fault, data)

    def _write(self, data: bytes) -> None:
        if self.command == "HEAD" or not data:
            return
        self.record.bytes_sent += len(data)  # counted first: the client may see the bytes before we return
        self.wfile.write(data)

    def _faulty_body(self, fault: Fault, data: bytes) -> None:
        kind = fault.kind
        if kind == "corrupt":
            at = min(int(fault.params.get("offset", 0)), len(data) - 1)
            self._write(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :])
        elif kind == "slow":
            self._write_slowly(data, float(fault.params["rate"]))
        else:
            self._write(data[: int(fault.params.get("after", 0))])
            self.wfile.flush()
            self.close_connection = True
            if kind == "drop":
                self._reset_connection()

    def _write_slowly(self, data: bytes, rate: float) -> None:
        chunk = max(1, int(rate / _SLOW_CHUNKS_PER_SECOND))
        for start in range(0, len(data), chunk):
            self._write(data[start : start + chunk])
            self.wfile.flush()
            time.sleep(len(data[start : start + chunk]) / rate)

    def _reset_connection(self) -> None:
        """Abort with a TCP RST (SO_LINGER 0) after letting the sent bytes reach the client."""
        time.sleep(0.02)
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    # -- helpers for routes ----------------------------------------------------------------
    def bearer_token(self) -> str | None:
        return self.record.token

    def param(self, name: str, default: str | None = None) -> str | None:
        """A query parameter (also accepts the `name[]` spelling)."""
        values = self.query.get(name) or self.query.get(name + "[]")
        return values[0] if values else default

    def params(self, name: str) -> list[str]:
        return self.query.get(name, []) + self.query.get(name + "[]", [])
