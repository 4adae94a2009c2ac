"""FakeHub: a local, in-memory stand-in for the Hugging Face Hub, for tests.

Three HTTP/1.1 servers on 127.0.0.1, each on its own ephemeral port (three origins):

- `hub.url`: the API (/api/models...) and /{repo}/resolve/{rev}/{path};
- `hub.cdn_url`: LFS bytes, reached through a cross-origin 302 like the real Hub's CDN;
- `hub.mirror_url`: a plain mirror serving /{repo}/resolve/{commit}/{path} and /blobs/{sha256}.

Repos, commits, tokens, renames and faults are set up from Python; every request is recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from .api import HubHandler
from .base import Server
from .cdn import CdnHandler, MirrorHandler
from .faults import Fault, FaultList, RequestRecord
from .model import FileEntry, Repo, clock_from

_POLL_INTERVAL = 0.05


class FakeHub:
    """The fake Hub. Use as a context manager or call `stop()`.

    Attributes changeable at any time: `tokens` (accepted bearer tokens), `page_size`
    (pagination of tree, commits and listings), `latency` (seconds slept before every answer,
    all origins), `url_ttl` (lifetime of CDN URLs; negative gives already-expired URLs) and
    `disabled_info` (False: a disabled repo answers 403 on every endpoint, as the real Hub;
    True: model_info answers 200 with `"disabled": true`) and `cdn_rate` (bytes per second
    per CDN connection, like a real CDN edge; None: unthrottled).

    CDN URLs are signed: a changed `expires` or `sig` is refused (403), as an expired one is.
    `serve_file(path)` makes the CDN send a file from disk with the kernel's sendfile, so a
    benchmark's client, not this Python server, is the bottleneck.
    """

    def __init__(self, page_size: int = 1000, latency: float = 0.0, host: str = "127.0.0.1", ports=(0, 0, 0)):
        self.page_size = page_size
        self.latency = latency
        self.tokens: set[str] = set()
        self.url_ttl = 3600
        self.disabled_info = False
        self.cdn_rate: float | None = None
        self._url_secret = os.urandom(16)
        self._blob_files: dict[str, Path] = {}
        self.repos: dict[str, Repo] = {}
        self.redirects: dict[str, str] = {}
        self.errors: list[str] = []
        self._lock = threading.RLock()
        self._clock = clock_from()
        self._blobs: dict[str, bytes] = {}
        self._faults = FaultList()
        self._records: list[RequestRecord] = []
        self._servers: dict[str, Server] = {}
        self._threads: list[threading.Thread] = []
        handlers = {"hub": HubHandler, "cdn": CdnHandler, "mirror": MirrorHandler}
        try:
            for (origin, handler), port in zip(handlers.items(), ports, strict=True):
                self._servers[origin] = Server((host, port), handler, self)
        except OSError:
            self._close_listeners()
            raise
        for origin, server in self._servers.items():
            thread = threading.Thread(
                target=server.serve_forever, args=(_POLL_INTERVAL,), name=f"fakehub-{origin}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    # -- origins ---------------------------------------------------------------------------
    def _origin_url(self, origin: str) -> str:
        host, port = self._servers[origin].server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The hub origin (API + resolve), e.g. http://127.0.0.1:40123; use it as HF_ENDPOINT."""
        return self._origin_url("hub")

    @property
    def cdn_url(self) -> str:
        return self._origin_url("cdn")

    @property
    def mirror_url(self) -> str:
        return self._origin_url("mirror")

    # -- repos -----------------------------------------------------------------------------
    def create_repo(
        self,
        repo_id: str,
        card: dict | None = None,
        *,
        gated: bool | str = False,
        disabled: bool = False,
        private: bool = False,
        pipeline_tag: str | None = None,
        library_name: str | None = None,
        downloads: int = 0,
        likes: int = 0,
        tags: Iterable[str] = (),
    ) -> Repo:
        """A new empty repo `org/name`; `card` is the model card's YAML header (cardData)."""
        if repo_id.count("/") != 1 or not all(repo_id.split("/")):
            raise ValueError(f"repo id must be org/name: {repo_id!r}")
        if gated not in (False, True, "auto", "manual"):
            raise ValueError("gated must be False, True, 'auto' or 'manual'")
        with self._lock:
            if repo_id in self.repos:
                raise ValueError(f"repo {repo_id} already exists")
            repo = Repo(
                self, repo_id, card=card, gated=gated, disabled=disabled, private=private,
                pipeline_tag=pipeline_tag, library_name=library_name, downloads=downloads,
                likes=likes, tags=list(tags),
            )  # fmt: skip
            self.repos[repo_id] = repo
            self.redirects.pop(repo_id, None)  # a new repo at an old name takes the name back
            return repo

    def repo(self, repo_id: str) -> Repo:
        """The repo named `repo_id` (KeyError if none)."""
        with self._lock:
            return self.repos[repo_id]

    def rename(self, old: str, new: str) -> Repo:
        """Move a repo; requests for `old` then answer 307 to the same URL under `new`."""
        with self._lock:
            if new in self.repos:
                raise ValueError(f"repo {new} already exists")
            repo = self.repos.pop(old)
            repo.id = new
            self.repos[new] = repo
            for source, target in list(self.redirects.items()):
                if target == old:
                    self.redirects[source] = new
            self.redirects[old] = new
            self.redirects.pop(new, None)
            return repo

    def _lookup(self, repo_id: str) -> tuple[Repo | None, str | None]:
        """(repo, None) if it exists, (None, new_id) if it was renamed, else (None, None)."""
        with self._lock:
            if repo_id in self.repos:
                return self.repos[repo_id], None
            return None, self.redirects.get(repo_id)

    def _token_valid(self, token: str | None) -> bool:
        return token is not None and token in self.tokens

    def _store_blobs(self, entries: Iterable[FileEntry]) -> None:
        with self._lock:
            for entry in entries:
                if entry.data is not None:
                    self._blobs[entry.sha256] = entry.data

    def _blob(self, sha256: str) -> bytes | None:
        with self._lock:
            return self._blobs.get(sha256)

    def serve_file(self, path: Path, sha256: str | None = None) -> str:
        """Let the CDN serve `path` (by sendfile) as the blob `sha256`; publish it with
        `LFS.recorded(size, sha256)`. Returns the sha256 (computed when not given)."""
        if sha256 is None:
            from video_censor_personal.cache import sha256_file

            sha256 = sha256_file(Path(path))
        with self._lock:
            self._blob_files[sha256] = Path(path)
        return sha256

    def _blob_file(self, sha256: str) -> Path | None:
        with self._lock:
            return self._blob_files.get(sha256)

    def _cdn_location(self, entry: FileEntry) -> str:
        """A signed CDN URL for an LFS file (path kept at the end for readability and faults)."""
        sha = entry.sha256
        path = f"/repos/{sha[:2]}/{sha[2:4]}/{sha}/{quote(entry.path)}"
        expires = int(time.time() + self.url_ttl)
        return f"{self.cdn_url}{path}?expires={expires}&sig={self._signature(path, str(expires))}"

    def _signature(self, path: str, expires: str) -> str:
        return hmac.new(self._url_secret, f"{path}?{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    # -- faults and records ----------------------------------------------------------------
    def add_fault(self, fault: Fault) -> Fault:
        """Arm a fault (see `Fault`); returns it so a test can read `fault.hits`."""
        return self._faults.add(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        return list(self._faults)

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def _server_error(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the log of every request so far, in arrival order."""
        with self._lock:
            return list(self._records)

    def clear_requests(self) -> None:
        with self._lock:
            self._records.clear()

    def count(
        self,
        origin: str | None = None,
        method: str | None = None,
        path_contains: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many recorded requests match all the given criteria."""
        return sum(
            1
            for r in self.requests
            if (origin is None or r.origin == origin)
            and (method is None or r.method == method.upper())
            and (path_contains is None or path_contains in r.path)
            and (status is None or r.status == status)
        )

    @property
    def cdn_bytes_sent(self) -> int:
        """Content bytes the CDN sent in 200/206 answers (what LFS downloads really fetched)."""
        return sum(r.bytes_sent for r in self.requests if r.origin == "cdn" and r.status in (200, 206))

    # -- lifecycle -------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop the three servers and close their connections (idempotent)."""
        stoppers = [threading.Thread(target=s.shutdown, daemon=True) for s in self._servers.values()]
        for thread in stoppers:
            thread.start()
        for server in self._servers.values():
            _poke(server)
        for thread in stoppers + self._threads:
            thread.join(timeout=5)
        for server in self._servers.values():
            server.close_open_sockets()
        self._close_listeners()
        self._threads = []

    def _close_listeners(self) -> None:
        for server in self._servers.values():
            server.server_close()

    def __enter__(self) -> FakeHub:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FakeHub(url={self.url!r}, cdn_url={self.cdn_url!r}, mirror_url={self.mirror_url!r})"


def _poke(server: Server) -> None:
    """Wake serve_forever's select() so shutdown does not wait for the poll interval."""
    try:
        with socket.create_connection(server.server_address[:2], timeout=0.2):
            pass
    except OSError:
        pass
