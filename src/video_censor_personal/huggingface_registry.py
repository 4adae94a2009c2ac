"""The only Hub client: metadata through huggingface_hub's HfApi, errors translated to ours.

huggingface_hub is used for metadata only (revision -> commit, file lists with LFS sha256,
model cards, refs, search); it never downloads model files for us, because it does not
SHA256-check what it downloads. The one download made here is of small non-LFS files at
lock time, which the Hub identifies only by git blob sha1: we hash them ourselves.

Importing huggingface_hub costs ~0.3 s, so it is imported only when a registry is made.
Every call is retried on network errors, 429 and 5xx with the run's backoff policy, each
retry said aloud (`retrying in N s (reason)`, logged for the CLI to print); what cannot
get better is not retried: a host name that does not resolve, a 4xx other than 429. A Hub
error never leaves this module as anything but a VideoCensorError.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from video_censor_personal.environment import Runtime
from video_censor_personal.errors import NetworkError, ResolutionError, UsageError, VideoCensorError
from video_censor_personal.lockfile import resolve_url
from video_censor_personal.paths import is_safe_relative_path

T = TypeVar("T")
CHUNK = 1 << 20
_RETRYABLE_STATUS = {429, 500, 502, 503, 504}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RepoFile:
    """A file of a repo at one commit. `sha256` is known for LFS files only."""

    path: str
    size: int
    sha256: str | None = None


@dataclass(frozen=True)
class RepoSnapshot:
    """A repo at one commit, with what the Hub says about the repo as a whole."""

    requested_id: str
    repo_id: str  # the id the Hub answered with: differs from requested_id after a rename
    commit: str
    files: tuple[RepoFile, ...]
    gated: bool = False
    disabled: bool = False
    card: dict = field(default_factory=dict)
    pipeline_tag: str | None = None

    @property
    def renamed(self) -> bool:
        return self.repo_id.lower() != self.requested_id.lower()


@dataclass(frozen=True)
class ModelSummary:
    """One search result, in the shape `models search --json` prints."""

    id: str
    downloads: int
    likes: int
    pipeline_tag: str | None
    library_name: str | None
    last_modified: str | None


class HubRegistry:
    """Talks to one Hub endpoint with the run's token, timeout and retry policy."""

    def __init__(self, runtime: Runtime):
        if runtime.offline:
            raise NetworkError(
                "offline mode (--offline or HF_HUB_OFFLINE=1): this command needs the Hub",
                hint="run it again online, or unset HF_HUB_OFFLINE",
            )
        # Read by huggingface_hub at import time: without this its first request also asks the
        # endpoint for telemetry settings (up to 3 s when that does not answer).
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        from huggingface_hub import HfApi

        self.runtime = runtime
        self.api = HfApi(endpoint=runtime.endpoint, token=runtime.token or False, library_name="video-censor")

    # ------------------------------------------------------------ metadata

    def snapshot(self, repo: str, revision: str) -> RepoSnapshot:
        """The repo at `revision` (branch, tag or commit) with every file's size and LFS sha256."""
        info = self._call(
            lambda: self.api.model_info(repo, revision=revision, files_metadata=True, timeout=self.runtime.timeout),
            repo,
            revision,
        )
        files = tuple(_repo_file(sibling, repo) for sibling in info.siblings or ())
        card = info.card_data.to_dict() if info.card_data is not None else {}
        return RepoSnapshot(
            requested_id=repo,
            repo_id=info.id,
            commit=info.sha,
            files=files,
            gated=bool(info.gated),
            disabled=bool(info.disabled),
            card=card,
            pipeline_tag=info.pipeline_tag,
        )

    def head_commit(self, repo: str, revision: str) -> str:
        """The commit `revision` points at now (one light request)."""
        info = self._call(lambda: self.api.model_info(repo, revision=revision, timeout=self.runtime.timeout),
                          repo, revision)
        return info.sha

    def card(self, repo: str) -> tuple[str, dict]:
        """(id as answered, card metadata) of a repo, for following successor chains."""
        info = self._call(lambda: self.api.model_info(repo, timeout=self.runtime.timeout), repo, None)
        return info.id, info.card_data.to_dict() if info.card_data is not None else {}

    def search(self, query: str | None, task: str | None = None, library: str | None = None,
               limit: int = 20) -> list[ModelSummary]:
        """Models matching `query`, most downloaded first.

        One GET of /api/models rather than HfApi.list_models: that pages through
        huggingface_hub's own backoff (5 retries, up to 23 s of sleep per call) under ours,
        and it has no `library` argument (the Hub filters libraries as tags).
        """
        from huggingface_hub import ModelInfo
        from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

        wanted = {"search": query, "pipeline_tag": task, "filter": library}
        params = {"sort": "downloads", "direction": -1, "limit": limit, **{k: v for k, v in wanted.items() if v}}
        headers = build_hf_headers(token=self.runtime.token or False, library_name="video-censor")

        def run() -> list[ModelSummary]:
            response = get_session().get(f"{self.runtime.endpoint}/api/models", params=params, headers=headers,
                                         timeout=self.runtime.timeout)
            hf_raise_for_status(response)
            return [_summary(ModelInfo(**{"siblings": None, **item})) for item in response.json()[:limit]]

        return self._call(run, query or "*", None)

    # ------------------------------------------------------------ plain files

    def hash_plain_file(self, repo: str, commit: str, path: str) -> tuple[int, str]:
        """(size, sha256) of a non-LFS file, downloaded at `commit` and hashed in-stream."""

        def run() -> tuple[int, str]:
            digest, size = hashlib.sha256(), 0
            for chunk in self._chunks(repo, commit, path):
                digest.update(chunk)
                size += len(chunk)
            return size, digest.hexdigest()

        return self._call(run, repo, commit, path=path)

    def read_small_file(self, repo: str, commit: str, path: str) -> bytes:
        """A small file's bytes at `commit` (config.json's labels, read by `models add`)."""
        return self._call(lambda: b"".join(self._chunks(repo, commit, path)), repo, commit, path=path)

    def _chunks(self, repo: str, commit: str, path: str) -> Iterator[bytes]:
        from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

        url = resolve_url(self.runtime.endpoint, repo, commit, path)
        headers = build_hf_headers(token=self.runtime.token or False, library_name="video-censor")
        with get_session().stream("GET", url, headers=headers, timeout=self.runtime.timeout) as response:
            hf_raise_for_status(response)
            yield from response.iter_bytes(CHUNK)

    # ------------------------------------------------------------ retries and errors

    def _call(self, operation: Callable[[], T], repo: str, revision: str | None, path: str | None = None) -> T:
        """Run one Hub operation with retries; translate every failure into our errors."""
        attempt = 0
        while True:
            try:
                return operation()
            except VideoCensorError:
                raise
            except Exception as exc:  # huggingface_hub and httpx raise many types: sort them here
                error, retry_after = _translate(exc, repo, revision, path, self.runtime.endpoint,
                                                bool(self.runtime.token))
                if retry_after is None or attempt >= self.runtime.retries:
                    raise error from None
                delay = min(retry_after, 60) if retry_after else 2 ** (attempt + 1)
                log.warning("retrying in %g s (%s)", delay, _reason(exc))
                time.sleep(delay * self.runtime.retry_sleep_scale)
                attempt += 1


def _repo_file(sibling, repo: str) -> RepoFile:
    if not is_safe_relative_path(sibling.rfilename):
        raise ResolutionError(
            f"{repo}: the Hub listed a file path that escapes the model directory: {sibling.rfilename!r}",
            hint="this repo cannot be used safely; report it to its owner",
        )
    lfs = sibling.lfs
    sha256 = lfs.sha256 if lfs is not None else None
    size = lfs.size if lfs is not None else sibling.size
    return RepoFile(sibling.rfilename, int(size or 0), sha256)


def _summary(model) -> ModelSummary:
    modified = model.last_modified.strftime("%Y-%m-%dT%H:%M:%S.000Z") if model.last_modified else None
    return ModelSummary(model.id, model.downloads or 0, model.likes or 0, model.pipeline_tag,
                        model.library_name, modified)


def _translate(exc: Exception, repo: str, revision: str | None, path: str | None,
               endpoint: str, has_token: bool) -> tuple[VideoCensorError, float | None]:
    """(our error, seconds to wait before a retry or None when retrying cannot help)."""
    from huggingface_hub import errors as hf_errors

    at = f"{repo}@{revision}" if revision else repo
    if isinstance(exc, hf_errors.GatedRepoError):  # a subclass of RepositoryNotFoundError: first
        if has_token:
            return ResolutionError(f"{repo} is a gated repo and your token has no access to it",
                                   hint="accept its terms on the Hub with the account of HF_TOKEN"), None
        return ResolutionError(f"{repo} is a gated repo and no token was given",
                               hint="accept its terms on the Hub, then set HF_TOKEN or run `hf auth login`"), None
    if isinstance(exc, hf_errors.RepositoryNotFoundError):
        return ResolutionError(f"repo {repo} not found on {endpoint}",
                               hint="check the repo id (private repos need HF_TOKEN)"), None
    if isinstance(exc, hf_errors.RevisionNotFoundError):
        return ResolutionError(f"revision {revision!r} not found in {repo}",
                               hint="check the revision: a branch, a tag or a full 40-hex commit"), None
    if isinstance(exc, hf_errors.EntryNotFoundError):
        return ResolutionError(f"{at}: file {path!r} not found",
                               hint="the Hub listed it a moment ago: run the same command again"), None
    if isinstance(exc, hf_errors.DisabledRepoError):
        return ResolutionError(f"repo {repo} is disabled on the Hub",
                               hint="remove it from models.toml or pick another model"), None
    status = _status_of(exc)
    where = f"{at}, file {path!r}" if path else at
    host = _unresolved_host(exc, endpoint)
    if host is not None:  # no retry makes a wrong host name resolve
        return NetworkError(f"{where}: cannot resolve {host} (the host of {endpoint})",
                            hint="check the host name in HF_ENDPOINT or [settings] endpoint, and the DNS"), None
    if status is not None and status not in _RETRYABLE_STATUS:
        error_class = UsageError if status < 500 else NetworkError
        return error_class(f"{where}: the Hub answered HTTP {status}",
                           hint=f"check that {endpoint} is a Hugging Face Hub (HF_ENDPOINT)"), None
    message = f"{where}: cannot get an answer from {endpoint} ({_reason(exc)})"
    return NetworkError(message, hint="check the network or HF_ENDPOINT, then try again"), _retry_after(exc)


def _causes(exc: BaseException):
    """`exc` and what it was raised from (httpx wraps the socket error twice)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _unresolved_host(exc: Exception, endpoint: str) -> str | None:
    """The endpoint's host when the failure is a DNS lookup that found nothing."""
    import socket
    from urllib.parse import urlsplit

    if any(isinstance(cause, socket.gaierror) for cause in _causes(exc)):
        return urlsplit(endpoint).hostname or endpoint
    return None


def _reason(exc: Exception) -> str:
    """Why a Hub request failed, in a few words: `HTTP 503`, `connection refused`, `timed out`."""
    status = _status_of(exc)
    if status:
        return f"HTTP {status}"
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, TimeoutError) or "Timeout" in type(cause).__name__:
            return "timed out"
    return type(exc).__name__


def _status_of(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(exc: Exception) -> float:
    """Seconds to wait: the server's Retry-After when it gave one, else 0 (= backoff)."""
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(float(value), 0.0) if value else 0.0
    except ValueError:
        return 0.0
