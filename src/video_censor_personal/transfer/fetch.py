"""One locked file from its sources into a verified partial file: sources and retry policy.

    sources_for(wanted, runtime)      primary URL (origin replaced by the endpoint in effect),
                                      then --mirror, VIDEO_CENSOR_MIRRORS, [settings] mirrors
    fetch(wanted, sources, part)      each source in order until one gives the locked bytes
      └── _from_source                network errors, 429, 5xx: backoff 2/4/8 s (Retry-After
                                      wins); wrong bytes: once more from scratch; 404: next
            └── _attempt              one pooch-protocol transfer, resumed from `part`,
                  │                   hashed in-stream, checked against the lock
                  └── downloader_for  the one place a source URL becomes a downloader
                                      (by scheme; large http(s) files go segmented)

The caller (model_manager) owns the rename: `fetch` leaves verified bytes in `part` and the
cache moves them into place, so nothing unverified ever reaches a final path. A partial
file is kept after a broken transfer: the next attempt, or the next run, resumes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from video_censor_personal.cache import discard_partial, ranges_path, sha256_file
from video_censor_personal.environment import SEGMENTED_FROM
from video_censor_personal.errors import IntegrityError, NetworkError, ResolutionError, VideoCensorError
from video_censor_personal.transfer.downloaders import FileDownloader, ResumingDownloader
from video_censor_personal.transfer.http import Source, TransferFailure, new_session, origin_of
from video_censor_personal.transfer.segmented import SegmentedDownloader

TOKEN_HINT = "accept the model's conditions on its Hub page, then set HF_TOKEN (or run `hf auth login`)"


@dataclass(frozen=True)
class Wanted:
    """One locked file, with the model coordinates that mirror templates need."""

    model: str
    repo: str
    commit: str
    path: str
    url: str
    size: int
    sha256: str

    @property
    def label(self) -> str:
        return f"{self.model}/{self.path}"


@dataclass
class Policy:
    """How to transfer, from the settings in effect; `sleep` is injectable for tests."""

    retries: int = 3
    timeout: float = 300.0
    sleep_scale: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    connections: int = 8
    segmented_from: int = SEGMENTED_FROM

    def pause(self, attempt: int, retry_after: float | None) -> None:
        """2 s, 4 s, 8 s ... unless the server said how long (Retry-After wins)."""
        delay = retry_after if retry_after is not None else 2.0 ** (attempt + 1)
        self.sleep(delay * self.sleep_scale)


class DeadOrigins:
    """Origins that refused a connection or do not resolve: skipped for the rest of the run."""

    def __init__(self) -> None:
        self._dead: set[str] = set()
        self._lock = threading.Lock()

    def add(self, origin: str) -> None:
        with self._lock:
            self._dead.add(origin)

    def __contains__(self, origin: str) -> bool:
        with self._lock:
            return origin in self._dead


class FetchRun:
    """What the download threads of one run share: settings, dead origins, sessions, Ctrl-C."""

    def __init__(self, runtime, reporter, sleep=time.sleep):
        self.runtime, self.reporter = runtime, reporter
        self.policy = Policy(runtime.retries, runtime.timeout, runtime.retry_sleep_scale, sleep,
                             runtime.connections, runtime.segmented_from)
        self.dead, self.cancel = DeadOrigins(), threading.Event()
        self._local, self._sessions = threading.local(), []

    def fetch(self, model, locked, part: Path) -> int:
        """`locked` (a LockedFile of `model`) from its sources into `part`, verified;
        returns the bytes that came over the network."""
        wanted = Wanted(model.name, model.repo, model.commit, locked.path, locked.url, locked.size, locked.sha256)
        return fetch(wanted, sources_for(wanted, self.runtime), part, session=self._session(),
                     policy=self.policy, dead=self.dead, progress=self.advance)

    def advance(self, n: int, resumed: bool = False) -> None:
        """Progress, and the point where a Ctrl-C reaches the download threads."""
        if self.cancel.is_set():
            raise KeyboardInterrupt  # the partial file stays: the next run resumes it
        if resumed:
            self.reporter.resumed(n)
        else:
            self.reporter.advance(n)

    def _session(self):
        """One requests session per thread: connections are reused from file to file."""
        if not hasattr(self._local, "session"):
            self._local.session = new_session()
            self._sessions.append(self._local.session)
        return self._local.session

    def close(self) -> None:
        for session in self._sessions:
            session.close()


# ---------------------------------------------------------------- sources


def rewrite_origin(url: str, endpoint: str | None, repo: str) -> str:
    """DESIGN: the endpoint in effect at download time replaces the lock URL's origin.

    The endpoint may carry a path (a proxy such as `https://host/api/hf`): everything
    before `/{repo}/resolve/` in the lock URL is the lock-time endpoint and is replaced
    whole; a URL of another shape keeps its path and changes origin only.
    """
    if not endpoint:
        return url
    parts = urlsplit(url)
    marker = parts.path.find(f"/{repo}/resolve/")
    path = parts.path[marker:] if marker >= 0 else parts.path
    base = endpoint.rstrip("/") if marker >= 0 else "{0.scheme}://{0.netloc}".format(urlsplit(endpoint))
    return base + path + (f"?{parts.query}" if parts.query else "")


def expand_mirror(template: str, wanted: Wanted) -> str:
    """A mirror URL for `wanted`: `{repo}` `{commit}` `{path}` `{sha256}` filled in.

    A bare `file://DIR` or `s3://BUCKET/PREFIX` is a `models export` directory
    (`DIR/blobs/{sha256}`); a bare http(s) URL is a Hub-shaped mirror
    (`URL/{repo}/resolve/{commit}/{path}`). Paths are not %-quoted in file and S3 names.
    """
    export_layout = template.startswith(("file://", "s3://"))
    if "{" not in template:
        suffix = "/blobs/{sha256}" if export_layout else "/{repo}/resolve/{commit}/{path}"
        template = template.rstrip("/") + suffix
    path = wanted.path if export_layout else quote(wanted.path)
    values = {"repo": wanted.repo, "commit": wanted.commit, "path": path, "sha256": wanted.sha256}
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def sources_for(wanted: Wanted, runtime) -> list[Source]:
    """Primary URL first, then mirrors in DESIGN order; offline keeps only file:// mirrors."""
    mirrors = [Source(expand_mirror(template, wanted)) for template in runtime.mirrors]
    if runtime.offline:
        return [source for source in mirrors if source.is_file]
    token_origin = origin_of(runtime.endpoint)
    primary = Source(rewrite_origin(wanted.url, runtime.endpoint_override, wanted.repo), runtime.token,
                     token_origin)
    return [primary, *mirrors]


# ---------------------------------------------------------------- fetch


def fetch(wanted: Wanted, sources: list[Source], part: Path, *, session, policy: Policy,
          dead: DeadOrigins, progress=None) -> int:
    """Leave `part` holding exactly the locked bytes, from the first source that has them.

    Returns the bytes that came over the network (resumed ones excluded, failed tries
    included). Raises the VideoCensorError that says why no source could (see
    `_final_error`). A partial file is kept after a broken transfer: the next run resumes it.
    """
    failures: list[tuple[Source, TransferFailure]] = []
    counter = _Counter(progress)
    for source in sources:
        if source.origin in dead:
            failures.append((source, TransferFailure("unreachable", "skipped: unreachable earlier in this run")))
            continue
        try:
            _from_source(wanted, source, part, session, policy, counter)
            return counter.fetched
        except TransferFailure as failure:
            failures.append((source, failure))
            if failure.kind == "unreachable":
                dead.add(source.origin)
    raise _final_error(wanted, failures, sources)


def _from_source(wanted: Wanted, source: Source, part: Path, session, policy: Policy, counter) -> None:
    """Network errors, 429 and 5xx: retried with backoff. Wrong bytes: once from scratch."""
    attempt, fresh_retry_left = 0, True
    while True:
        try:
            _attempt(wanted, source, part, session, policy, counter)
            return
        except TransferFailure as failure:
            if failure.kind in ("integrity", "restart"):
                discard_partial(part)
            if failure.kind == "integrity" and fresh_retry_left:
                fresh_retry_left = False
                continue
            if not failure.retry or attempt >= policy.retries:
                raise
            policy.pause(attempt, failure.retry_after)
            attempt += 1


def downloader_for(source: Source, wanted: Wanted, part: Path, session, policy: Policy, progress):
    """The one place a source URL becomes a pooch-protocol downloader, by its scheme.

    http(s): a file of `policy.segmented_from` bytes or more goes over parallel Range
    requests (or whenever a segmented run left its record beside `part`); others, and
    `connections = 1`, go as one stream. New schemes plug in here.
    """
    if source.is_file:
        return FileDownloader(wanted.size, progress)
    if source.scheme == "s3":
        from video_censor_personal.interop.s3 import S3Downloader  # the optional `s3` extra, only when used

        return S3Downloader(wanted.size, policy.timeout, progress)
    if source.scheme not in ("http", "https"):
        raise TransferFailure("denied", f"no downloader for {source.scheme}:// URLs")
    big = wanted.size >= policy.segmented_from
    if big and (policy.connections > 1 or ranges_path(part).exists()):
        return SegmentedDownloader(session, source, wanted.size, policy.timeout, connections=policy.connections,
                                   policy=policy, progress=progress)
    return ResumingDownloader(session, source, wanted.size, policy.timeout, progress)


def _attempt(wanted: Wanted, source: Source, part: Path, session, policy: Policy, counter) -> None:
    """One try; the progress it reported is taken back if it fails (the next try re-counts)."""
    counter.begin()
    try:
        if _already_complete(wanted, part, counter):
            return
        downloader = downloader_for(source, wanted, part, session, policy, counter)
        downloader(source.url, str(part), None)
        size, actual = part.stat().st_size, downloader.hasher.hexdigest()
        if size != wanted.size or actual != wanted.sha256:
            raise TransferFailure("integrity", f"wrong bytes: sha256 {actual} ({size} bytes), expected "
                                  f"{wanted.sha256} ({wanted.size} bytes)", actual=actual)
    except TransferFailure:
        counter.take_back()
        raise


def _already_complete(wanted: Wanted, part: Path, counter) -> bool:
    """A run killed between the last byte and the rename left a whole file: check it.

    With a ranges record beside it, the part's size says nothing (segments are written
    at their offsets): the segmented downloader resumes it instead. A whole file with
    other bytes is discarded here, where that is known, so that no downloader takes it
    for a prefix to keep (the segmented one would hash it again and fail on it).
    """
    try:
        if part.stat().st_size != wanted.size or ranges_path(part).exists():
            return False
    except FileNotFoundError:
        return False
    if sha256_file(part, progress=lambda n: counter(n, resumed=True)) == wanted.sha256:
        return True
    counter.take_back()
    discard_partial(part)
    return False


class _Counter:
    """Forwards progress, counts the bytes really fetched, and remembers what one attempt
    reported so a failed attempt can take it back (the next one re-counts). Thread-safe:
    a segmented transfer reports from several connections."""

    def __init__(self, progress) -> None:
        self.progress, self.reported, self.fetched = progress, [0, 0], 0
        self._lock = threading.Lock()

    def begin(self) -> None:
        self.reported = [0, 0]

    def __call__(self, n: int, resumed: bool = False) -> None:
        with self._lock:
            self.reported[resumed] += n
            if not resumed:
                self.fetched += n
        if self.progress:
            self.progress(n, resumed=resumed)

    def take_back(self) -> None:
        fetched, resumed = self.reported
        self.reported = [0, 0]
        if self.progress and fetched:
            self.progress(-fetched, resumed=True)  # taken back without touching the speed
        if self.progress and resumed:
            self.progress(-resumed, resumed=True)


def _final_error(wanted: Wanted, failures: list[tuple[Source, TransferFailure]], sources) -> VideoCensorError:
    """Gated beats everything (exit 2); wrong bytes everywhere is exit 1; else exit 3."""
    details = [f"{_display(source.url)}: {failure.reason}" for source, failure in failures]
    kinds = {failure.kind for _, failure in failures}
    if not sources:
        return NetworkError(
            f"{wanted.label}: offline and not in the cache",
            details=[f"{wanted.label} ({wanted.size} bytes)"],
            hint="run `video-censor --download-models` with network access, or pass --mirror file:///DIR",
        )
    if kinds & {"gated", "denied"} and (kinds <= {"gated", "denied", "not-found", "unreachable"}):
        return _access_error(wanted, failures, details)
    if kinds == {"integrity"}:
        actual = failures[-1][1].actual or f"more than the locked {wanted.size} bytes"
        return IntegrityError(
            f"{wanted.label}: sha256 mismatch from every source: expected {wanted.sha256}, got {actual}",
            details=details,
            hint="the sources serve other bytes than models.lock pins; check the mirrors, "
            "or run `video-censor models lock` if the lock is wrong",
        )
    if kinds == {"not-found"}:  # retrying cannot help: the lock points where nothing is
        return NetworkError(
            f"{wanted.label}: no source has this file at commit {wanted.commit[:7]}",
            details=details,
            hint=f"check the mirrors, or re-lock it: `video-censor models lock --upgrade-model {wanted.model}`",
        )
    return NetworkError(
        f"{wanted.label}: download failed from every source",
        details=details,
        hint="check the network (or the mirrors) and run the same command again: it resumes",
    )


def _access_error(wanted: Wanted, failures, details) -> VideoCensorError:
    token_sent = any(source.token for source, _ in failures)
    gated = any(failure.kind == "gated" for _, failure in failures)
    what = "is gated and needs a token" if gated and not token_sent else "refused access"
    return ResolutionError(
        f"{wanted.label}: repo {wanted.repo} {what}",
        details=details,
        hint=TOKEN_HINT if not token_sent else f"check that the token has access to {wanted.repo}",
    )


def _display(url: str) -> str:
    """A URL as shown in messages: no query string, no credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return f"{parts.scheme}://{netloc}{parts.path}"
