"""Hub metadata answers (search results, model cards) with an on-disk cache of 24 hours.

Searching and following successor chains ask the Hub the same questions again and again,
and a user exploring models may be offline. Answers are kept as one JSON file per question:

    <cache dir>/hub-metadata-v1/
        <sha256 of the question>.json     {"format": 1, "question": {...}, "stored_at": <epoch s>,
                                           "answer": ...}

The question includes the endpoint, so two Hubs never share answers. An entry younger than
24 hours is used without asking the Hub; `refresh=True` always asks. When the Hub cannot be
asked (offline mode, or it stays unreachable after every retry) any entry is better than
nothing: it is used and a note says how old it is. With no entry, NetworkError (exit 3).

Writes are atomic (temp file beside the entry, then rename): a reader never sees half an
entry, and a broken entry is treated as missing. The clock is the module function `now`,
looked up at call time, so tests can freeze or move it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from video_censor_personal.atomic import atomic_write_bytes
from video_censor_personal.environment import Runtime
from video_censor_personal.errors import NetworkError
from video_censor_personal.huggingface_registry import HubRegistry, ModelSummary

CACHE_DIRNAME = "hub-metadata-v1"
TTL_SECONDS = 24 * 3600
_FORMAT = 1


def now() -> float:
    """Seconds since the epoch; the one clock of this module (tests patch it)."""
    return time.time()


@dataclass(frozen=True)
class CachedAnswer:
    """An answer read back from disk, with when it was stored."""

    answer: object
    stored_at: float


class MetadataCache:
    """The directory of cached answers; knows nothing about the Hub."""

    def __init__(self, root: Path):
        self.root = root

    def read(self, question: dict) -> CachedAnswer | None:
        """The stored answer to `question`, or None (absent, unreadable or from another question)."""
        try:
            entry = json.loads(self._path(question).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("format") != _FORMAT or entry.get("question") != question:
            return None
        stored_at = entry.get("stored_at")
        if not isinstance(stored_at, (int, float)) or "answer" not in entry:
            return None
        return CachedAnswer(entry["answer"], float(stored_at))

    def write(self, question: dict, answer: object, stored_at: float) -> None:
        """Store atomically; a cache that cannot be written only costs a request next time."""
        text = json.dumps({"format": _FORMAT, "question": question, "stored_at": stored_at, "answer": answer},
                          sort_keys=True, default=str)
        with contextlib.suppress(OSError):
            atomic_write_bytes(self._path(question), text.encode("utf-8"))

    def _path(self, question: dict) -> Path:
        key = json.dumps(question, sort_keys=True, separators=(",", ":"))
        return self.root / (hashlib.sha256(key.encode("utf-8")).hexdigest() + ".json")


class Discovery:
    """Cached Hub metadata for one run; `notes` collects what the user should be told."""

    def __init__(self, runtime: Runtime, registry: HubRegistry | None = None, refresh: bool = False,
                 ttl: float = TTL_SECONDS):
        self.runtime, self.refresh, self.ttl = runtime, refresh, ttl
        self.cache = MetadataCache(runtime.cache_dir / CACHE_DIRNAME)
        self.notes: list[str] = []
        self._registry = registry

    def search(self, query: str | None, task: str | None = None, library: str | None = None,
               limit: int = 20) -> list[ModelSummary]:
        """Models matching the query, most downloaded first (what `models search` shows)."""
        question = {"kind": "search", "endpoint": self.runtime.endpoint, "query": query, "task": task,
                    "library": library, "limit": limit}
        what = f"search {query!r}" if query else f"search for task {task!r}"
        answer = self._answer(question, what, lambda hub: [asdict(m) for m in hub.search(query, task, library,
                                                                                            limit)])
        found = [ModelSummary(**item) for item in answer]
        return sorted(found, key=lambda m: -m.downloads)

    def card(self, repo: str) -> tuple[str, dict]:
        """(id the Hub answers with, card metadata) of `repo`, for following successor chains."""
        question = {"kind": "card", "endpoint": self.runtime.endpoint, "repo": repo.lower()}
        answer = self._answer(question, f"model card of {repo}", lambda hub: list(hub.card(repo)))
        return answer[0], answer[1]

    # ------------------------------------------------------------ cache policy

    def _answer(self, question: dict, what: str, ask: Callable[[HubRegistry], object]):
        if self.runtime.offline:
            return self._offline(question, what)
        cached = None if self.refresh else self.cache.read(question)
        if cached is not None and 0 <= now() - cached.stored_at < self.ttl:
            return cached.answer
        try:
            answer = ask(self._hub())
        except NetworkError as error:
            stale = self.cache.read(question)
            if stale is None:
                raise
            self.notes.append(f"the Hub did not answer ({error.message}); using the {what} answer cached "
                              f"{describe_age(now() - stale.stored_at)} ago")
            return stale.answer
        self.cache.write(question, answer, now())
        return answer

    def _offline(self, question: dict, what: str):
        cached = self.cache.read(question)
        if cached is None:
            raise NetworkError(f"offline mode: no cached answer for the {what}",
                               hint="run it again online (without --offline or HF_HUB_OFFLINE=1)")
        self.notes.append(f"offline: using the {what} answer cached {describe_age(now() - cached.stored_at)} ago")
        return cached.answer

    def _hub(self) -> HubRegistry:
        if self._registry is None:
            self._registry = HubRegistry(self.runtime)
        return self._registry


def describe_age(seconds: float) -> str:
    """An age as a person says it: '45 s', '12 min', '3 h 20 min', '2 days'."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{seconds // 86400} days"
