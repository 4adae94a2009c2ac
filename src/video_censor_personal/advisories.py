"""Warnings and notes found at lock time (deprecation, renames, safety, stale pins).

`advise` looks at what the Hub said about a model (its head snapshot) next to what was
locked, and returns Advisory values; the lock command prints them and `--strict` turns
any warning into exit 1. Errors (disabled, gated without a token) are raised by locking.

What is checked, each naming the model and what to do:

- the card declares a successor (`new_version`, followed v1 -> v2 -> v3 to the newest,
  stopping at the first id seen twice) or `deprecated: true`; a deprecated model with no
  successor gets alternatives from a discovery query (same pipeline tag, by downloads);
- the repo was renamed (the Hub redirected): the lock keeps the requested id;
- the pin is behind the head of the revision it was requested from;
- a locked pickle file (.bin .pt .pth .pkl .ckpt) has a safetensors or ONNX file beside it;
- a gated repo used with a token (a note, not a warning).

`outdated` answers the same questions for `models outdated`, one row per locked model.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from video_censor_personal.config import REPO_ID, ModelSpec
from video_censor_personal.discovery import Discovery
from video_censor_personal.errors import UsageError, VideoCensorError
from video_censor_personal.huggingface_registry import HubRegistry, RepoSnapshot
from video_censor_personal.lockfile import LockedModel, Lockfile

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
SAFE_SUFFIXES = (".safetensors", ".onnx")
MAX_CHAIN = 32  # a chain longer than this is a loop in disguise: stop there
SUGGESTIONS = 3
OUTDATED_WORKERS = 8


@dataclass(frozen=True)
class Advisory:
    """One thing a user should know about a locked model; `level` is warning or note."""

    model: str
    message: str
    hint: str | None = None
    level: str = "warning"


def advise(spec: ModelSpec, head: RepoSnapshot, locked: LockedModel, registry: HubRegistry, has_token: bool,
           discovery: Discovery | None = None) -> list[Advisory]:
    """Everything worth telling about `spec` once it is locked as `locked` (head: its revision now)."""
    discovery = discovery or Discovery(registry.runtime, registry)
    found = [
        *_gated(spec, head, has_token),
        *_renamed(spec, head),
        *_succession_advice(spec, head, discovery),
        *_newer_commit(spec, head, locked),
        *_pickles(spec, locked, lambda: _files_at(registry, spec, head, locked)),
    ]
    return found + [Advisory(spec.name, note, level="note") for note in discovery.notes]


def _gated(spec: ModelSpec, head: RepoSnapshot, has_token: bool) -> list[Advisory]:
    if not (head.gated and has_token):
        return []
    return [Advisory(spec.name, f"{spec.repo} is gated: your token has access, and downloads will need it too",
                     hint="keep HF_TOKEN set (or `hf auth login`) where the models are downloaded", level="note")]


def _renamed(spec: ModelSpec, head: RepoSnapshot) -> list[Advisory]:
    if not head.renamed:
        return []
    return [Advisory(spec.name, f"repo {spec.repo} was renamed or moved to {head.repo_id} (the Hub redirects); "
                                f"models.lock keeps {spec.repo}",
                     hint=f'set repo = "{head.repo_id}" in [models.{spec.name}] of models.toml, '
                          "then run `video-censor models lock`")]


def _newer_commit(spec: ModelSpec, head: RepoSnapshot, locked: LockedModel) -> list[Advisory]:
    if head.commit == locked.commit:
        return []
    return [Advisory(spec.name, f"newer commit available on {spec.revision!r} of {spec.repo}: "
                                f"locked {locked.commit[:7]}, head {head.commit[:7]}",
                     hint=f"run `video-censor models lock --upgrade-model {spec.name}`")]


# ---------------------------------------------------------------- successors


@dataclass(frozen=True)
class Succession:
    """What a model card says about the model's future."""

    deprecated: bool = False
    chain: tuple[str, ...] = ()  # successors in order, the newest last

    @property
    def newest(self) -> str | None:
        return self.chain[-1] if self.chain else None


def successor_chain(repo_ids: tuple[str, ...], card: dict, discovery: Discovery) -> tuple[str, ...]:
    """Follow `new_version` from card to card like the Hub does; survive cycles and dead ends.

    The chain stops at the first id already seen (the model itself included), so its last
    id is the last new one; a successor whose card cannot be read ends the chain, named
    when it is the first one (the card says so), dropped otherwise (it may not exist).
    """
    seen = {repo_id.lower() for repo_id in repo_ids}
    chain: list[str] = []
    current = _declared_successor(card)
    while current and current.lower() not in seen and len(chain) < MAX_CHAIN:
        seen.add(current.lower())
        try:
            answered, card = discovery.card(current)
        except VideoCensorError:
            chain += [] if chain else [current]
            break
        if answered.lower() != current.lower() and answered.lower() in seen:
            break  # renamed into an id already in the chain: a cycle too
        seen.add(answered.lower())
        chain.append(answered)
        current = _declared_successor(card)
    return tuple(chain)


def _declared_successor(card: dict) -> str | None:
    value = card.get("new_version")
    return value if isinstance(value, str) and REPO_ID.match(value) else None


def _is_deprecated(card: dict) -> bool:
    value = card.get("deprecated")
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes"))


def _succession_advice(spec: ModelSpec, head: RepoSnapshot, discovery: Discovery) -> list[Advisory]:
    found = _model_succession(head, discovery)
    if found.newest:
        return [_successor_advisory(spec, found)]
    if found.deprecated:
        return [_deprecated_advisory(spec, head, discovery)]
    return []


def _model_succession(head: RepoSnapshot, discovery: Discovery) -> Succession:
    chain = successor_chain((head.requested_id, head.repo_id), head.card, discovery)
    return Succession(_is_deprecated(head.card), chain)


def _successor_advisory(spec: ModelSpec, found: Succession) -> Advisory:
    via = f" (via {' -> '.join(found.chain)})" if len(found.chain) > 1 else ""
    state = "is deprecated; its newest successor is" if found.deprecated else "has a newer version:"
    return Advisory(spec.name, f"{spec.repo} {state} {found.newest}{via}",
                    hint=f'check {found.newest}, set repo = "{found.newest}" in [models.{spec.name}] of '
                         "models.toml, then run `video-censor models lock`")


def _deprecated_advisory(spec: ModelSpec, head: RepoSnapshot, discovery: Discovery) -> Advisory:
    message = f"{spec.repo} is deprecated by its authors and declares no successor"
    task = head.pipeline_tag
    if not task:
        return Advisory(spec.name, message, hint="find a replacement with `video-censor models search QUERY`")
    exclude = {head.requested_id.lower(), head.repo_id.lower()}
    try:
        found = [m for m in discovery.search(None, task=task, limit=SUGGESTIONS + 2) if m.id.lower() not in exclude]
    except VideoCensorError as error:
        return Advisory(spec.name, f"{message} (no alternatives: {error.message})",
                        hint=f"find a replacement with `video-censor models search --task {task} QUERY`")
    names = ", ".join(f"{m.id} ({m.downloads} downloads)" for m in found[:SUGGESTIONS])
    alternatives = f"; alternatives for {task}: {names}" if names else f"; no other {task} model found"
    return Advisory(spec.name, message + alternatives,
                    hint=f"replace it: `video-censor models remove {spec.name}` then "
                         f"`video-censor models add {spec.name} REPO`")


# ---------------------------------------------------------------- pickles


def _files_at(registry: HubRegistry, spec: ModelSpec, head: RepoSnapshot, locked: LockedModel) -> list[str]:
    """Every path of the repo at the locked commit (one more request only when the pin is behind)."""
    snapshot = head if head.commit == locked.commit else registry.snapshot(spec.repo, locked.commit)
    return [f.path for f in snapshot.files]


def _pickles(spec: ModelSpec, locked: LockedModel, repo_paths: Callable[[], list[str]]) -> list[Advisory]:
    """One warning per directory whose locked pickle files have a safe format beside them."""
    pickles = [f.path for f in locked.files if f.path.lower().endswith(PICKLE_SUFFIXES)]
    if not pickles:
        return []
    safe: dict[str, list[str]] = {}
    for path in repo_paths():
        if path.lower().endswith(SAFE_SUFFIXES):
            safe.setdefault(posixpath.dirname(path), []).append(path)
    found = []
    for directory in sorted({posixpath.dirname(p) for p in pickles} & set(safe)):
        flagged = [p for p in pickles if posixpath.dirname(p) == directory]
        found.append(_pickle_advisory(spec, flagged, sorted(safe[directory])))
    return found


def _pickle_advisory(spec: ModelSpec, flagged: list[str], beside: list[str]) -> Advisory:
    one = len(flagged) == 1
    subject = f"locked file {flagged[0]} is a" if one else f"locked files {', '.join(flagged)} are"
    safe = f"{beside[0]} sits" if len(beside) == 1 else f"{', '.join(beside)} sit"
    return Advisory(spec.name,
                    f"{subject} pickle (loading can run arbitrary code), and {safe} beside "
                    f"{'it' if one else 'them'} in {spec.repo}",
                    hint=f"lock the safe format: in [models.{spec.name}] include {', '.join(beside)} and exclude "
                         f"{', '.join(flagged)}, then run `video-censor models lock`")


# ---------------------------------------------------------------- models outdated


@dataclass(frozen=True)
class OutdatedModel:
    """One row of `models outdated`."""

    name: str
    repo: str
    revision: str
    locked_commit: str
    newest_commit: str | None
    renamed_to: str | None = None
    deprecated: bool = False
    successors: tuple[str, ...] = ()
    problem: str | None = None  # the Hub refused to answer for this model (gone, disabled...)

    @property
    def newer_commit(self) -> bool:
        return self.newest_commit is not None and self.newest_commit != self.locked_commit

    @property
    def successor(self) -> str | None:
        return self.successors[-1] if self.successors else None


def outdated(lock: Lockfile, registry: HubRegistry, discovery: Discovery) -> list[OutdatedModel]:
    """Per locked model: newest commit of its revision and declared successor (chains followed)."""
    with ThreadPoolExecutor(OUTDATED_WORKERS) as pool:
        return list(pool.map(lambda model: _outdated_model(model, registry, discovery), lock.models))


def _outdated_model(model: LockedModel, registry: HubRegistry, discovery: Discovery) -> OutdatedModel:
    try:
        head = registry.snapshot(model.repo, model.revision)
    except UsageError as error:  # the repo or revision is gone: say so in its row
        return OutdatedModel(model.name, model.repo, model.revision, model.commit, None, problem=error.message)
    found = _model_succession(head, discovery)
    return OutdatedModel(model.name, model.repo, model.revision, model.commit, head.commit,
                         head.repo_id if head.renamed else None, found.deprecated, found.chain)
