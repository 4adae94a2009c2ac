"""Resolve models.toml through the Hub into models.lock, the way `uv lock` does.

A model whose repo and revision did not change keeps its locked commit (even when its
include/exclude changed: the files are re-selected at that commit); only `--upgrade`,
`--upgrade-model` or a changed repo/revision moves it. LFS files take size and sha256
from Hub metadata; plain files are downloaded at the commit and hashed. Models resolve
concurrently, and so do plain-file downloads.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

from video_censor_personal.advisories import Advisory, advise
from video_censor_personal.config import Manifest, ModelSpec, manifest_hash
from video_censor_personal.environment import Runtime
from video_censor_personal.errors import (
    LockfileError,
    LockVersionError,
    NetworkError,
    ResolutionError,
    StaleLockError,
    VideoCensorError,
)
from video_censor_personal.huggingface_registry import HubRegistry, RepoSnapshot
from video_censor_personal.lockfile import LockedFile, LockedModel, Lockfile, read_lockfile, resolve_url

METADATA_WORKERS = 16
FILE_WORKERS = 16


class LockMode(Enum):
    WRITE = "write"
    DRY_RUN = "dry-run"
    CHECK = "check"


@dataclass(frozen=True)
class Upgrade:
    """Which models may move to the newest commit of their revision (uv's -U / -P)."""

    everything: bool = False
    names: frozenset[str] = frozenset()

    def allows(self, name: str) -> bool:
        return self.everything or name in self.names


@dataclass(frozen=True)
class Resolution:
    lock: Lockfile
    advisories: list[Advisory] = field(default_factory=list)

    @property
    def warnings(self) -> list[Advisory]:
        return [a for a in self.advisories if a.level == "warning"]


# ---------------------------------------------------------------- --check (offline)


def check_lock(manifest: Manifest, lock: Lockfile | None, lock_path) -> None:
    """Raise StaleLockError with a one-line reason unless the lock matches the manifest."""
    hint = "run `video-censor models lock` and commit models.lock"
    if lock is None:
        raise StaleLockError(f"{lock_path} is missing", hint=hint)
    reason = staleness(manifest, lock)
    if reason is not None:
        raise StaleLockError(f"{lock_path} is out of date with {manifest.path}: {reason}", hint=hint)


def staleness(manifest: Manifest, lock: Lockfile) -> str | None:
    """Why `lock` no longer matches `manifest` (which models changed), or None when it does."""
    if lock.manifest_hash == manifest_hash(manifest):
        return None
    return _changed_models(manifest, lock)


def _changed_models(manifest: Manifest, lock: Lockfile) -> str:
    wanted = {m.name: m for m in manifest.models}
    added = sorted(set(wanted) - set(lock.names))
    removed = sorted(set(lock.names) - set(wanted))
    changed = sorted(
        name for name in set(wanted) & set(lock.names) if wanted[name].request != lock.model(name).request
    )
    parts = [f"{', '.join(names)} {verb}" for names, verb in
             ((added, "added"), (removed, "removed"), (changed, "changed")) if names]
    return "; ".join(parts) or "manifest-hash differs"


# ---------------------------------------------------------------- resolve


def read_previous_lock(path) -> tuple[Lockfile | None, list[Advisory]]:
    """The lock whose pins `lock` keeps, and a warning when it had to be set aside.

    A damaged lock (bad TOML, bad hash, unsafe path) is set aside: locking afresh is how it
    gets repaired, and the old one is only replaced once the new one is complete. A lock
    from a newer video-censor is refused instead of being silently downgraded.
    """
    try:
        return read_lockfile(path), []
    except FileNotFoundError:
        return None, []
    except LockVersionError:
        raise
    except LockfileError as error:
        return None, [Advisory(str(path), f"set aside, every model is resolved afresh: {error.message}")]



def resolve(manifest: Manifest, previous: Lockfile | None, runtime: Runtime, upgrade: Upgrade,
            registry: HubRegistry | None = None) -> Resolution:
    """The lock for `manifest`, keeping `previous` pins where the rules say so."""
    _check_upgrade_names(manifest, upgrade)
    if runtime.offline and registry is None:
        return _resolve_offline(manifest, previous, upgrade)
    registry = registry or HubRegistry(runtime)
    with ThreadPoolExecutor(FILE_WORKERS) as file_pool, ThreadPoolExecutor(METADATA_WORKERS) as pool:
        resolver = _ModelResolver(registry, runtime, file_pool)
        futures = [
            pool.submit(resolver.lock_model, spec, previous.model(spec.name) if previous else None,
                        upgrade.allows(spec.name))
            for spec in manifest.models
        ]
        results = _gather(futures)
    models = tuple(sorted((model for model, _ in results), key=lambda m: m.name))
    advisories = [advisory for _, found in results for advisory in found]
    return Resolution(Lockfile(manifest_hash(manifest), models), advisories)


def _resolve_offline(manifest: Manifest, previous: Lockfile | None, upgrade: Upgrade) -> Resolution:
    """Offline, like `uv lock --offline`: fine as long as every model keeps its pin as it is.

    A removed model, or a manifest reordered or re-commented, needs no Hub; anything that must
    be resolved does, and is named.
    """
    def kept(spec: ModelSpec) -> LockedModel | None:
        locked = previous.model(spec.name) if previous else None
        return locked if locked and locked.request == spec.request and not upgrade.allows(spec.name) else None

    needing = [spec.name for spec in manifest.models if kept(spec) is None]
    if needing:
        raise NetworkError(f"offline (--offline or HF_HUB_OFFLINE=1): resolving {', '.join(needing)} needs the Hub",
                           hint="run the same command online")
    models = tuple(sorted((kept(spec) for spec in manifest.models), key=lambda m: m.name))
    note = Advisory(str(manifest.path), "offline: every pin kept as locked; Hub warnings were not checked",
                    level="note")
    return Resolution(Lockfile(manifest_hash(manifest), models), [note] if models else [])


def _check_upgrade_names(manifest: Manifest, upgrade: Upgrade) -> None:
    unknown = sorted(name for name in upgrade.names if manifest.model(name) is None)
    if unknown:
        raise ResolutionError(f"--upgrade-model names a model not in {manifest.path}: {', '.join(unknown)}",
                              hint="use a name of a [models.NAME] table")


def _gather(futures) -> list:
    """Every result; when models fail, one error naming each, with the highest exit code."""
    results, errors = [], []
    for future in futures:
        try:
            results.append(future.result())
        except VideoCensorError as error:
            errors.append(error)
    if not errors:
        return results
    worst = max(errors, key=lambda error: error.exit_code)
    if len(errors) > 1:
        worst.details = [e.message for e in errors if e is not worst] + worst.details
    raise worst


class _ModelResolver:
    """Locks one model at a time; shared by the worker threads."""

    def __init__(self, registry: HubRegistry, runtime: Runtime, file_pool: ThreadPoolExecutor):
        self.registry, self.runtime, self.file_pool = registry, runtime, file_pool

    def lock_model(self, spec: ModelSpec, old: LockedModel | None, upgrade: bool):
        try:
            return self._lock_model(spec, old, upgrade)
        except VideoCensorError as error:  # say which model, whichever stage found the problem
            if f"model {spec.name!r}" in error.message:
                raise
            raise type(error)(f"model {spec.name!r}: {error.message}", hint=error.hint,
                              details=error.details) from None

    def _lock_model(self, spec: ModelSpec, old: LockedModel | None, upgrade: bool):
        head = self.registry.snapshot(spec.repo, spec.revision)
        self._refuse_unusable(spec, head)
        keep_commit = old is not None and not upgrade and (old.repo, old.revision) == (spec.repo, spec.revision)
        if keep_commit and old.request == spec.request:
            locked = old
        else:
            at_commit = head if not keep_commit or head.commit == old.commit else \
                self.registry.snapshot(spec.repo, old.commit)
            locked = self._lock_files(spec, at_commit, old)
        return locked, advise(spec, head, locked, self.registry, bool(self.runtime.token))

    def _refuse_unusable(self, spec: ModelSpec, head: RepoSnapshot) -> None:
        if head.disabled:
            raise ResolutionError(f"model {spec.name!r}: repo {spec.repo} is disabled on the Hub",
                                  hint="remove it from models.toml or pick another model")
        if head.gated and not self.runtime.token:
            raise ResolutionError(f"model {spec.name!r}: repo {spec.repo} is gated and no token was given",
                                  hint="accept its terms on the Hub, then set HF_TOKEN or run `hf auth login`")

    def _lock_files(self, spec: ModelSpec, snapshot: RepoSnapshot, old: LockedModel | None) -> LockedModel:
        selected = select_files(spec, snapshot)
        known = {f.path: f for f in old.files} if old is not None and old.commit == snapshot.commit else {}
        futures = [self.file_pool.submit(self._lock_file, spec, snapshot.commit, f, known.get(f.path))
                   for f in selected]
        files = tuple(_gather(futures))
        return LockedModel(spec.name, spec.repo, spec.revision, spec.include, spec.exclude,
                           snapshot.commit, files)

    def _lock_file(self, spec: ModelSpec, commit: str, repo_file, known: LockedFile | None) -> LockedFile:
        if known is not None:
            return known
        url = resolve_url(self.runtime.endpoint, spec.repo, commit, repo_file.path)
        if repo_file.sha256 is not None:
            return LockedFile(repo_file.path, url, repo_file.size, repo_file.sha256)
        size, sha256 = self.registry.hash_plain_file(spec.repo, commit, repo_file.path)
        return LockedFile(repo_file.path, url, size, sha256)


def select_files(spec: ModelSpec, snapshot: RepoSnapshot) -> list:
    """The snapshot's files that the model's include/exclude select; every include must match."""
    paths = [f.path for f in snapshot.files]
    for pattern in spec.include:
        if not any(ModelSpec(spec.name, spec.repo, include=(pattern,)).selects(p) for p in paths):
            raise ResolutionError(
                f"model {spec.name!r}: include pattern {pattern!r} matches no file in "
                f"{spec.repo}@{snapshot.commit[:7]}",
                details=_sample(paths),
                hint="fix the pattern in models.toml (Hugging Face globs: * crosses /)",
            )
    selected = [f for f in snapshot.files if spec.selects(f.path)]
    if not selected:
        raise ResolutionError(f"model {spec.name!r}: include/exclude leave no file of {spec.repo}",
                              hint="loosen exclude in models.toml")
    return sorted(selected, key=lambda f: f.path)


def _sample(paths: Iterable[str], limit: int = 10) -> list[str]:
    paths = sorted(paths)
    return paths[:limit] + ([f"... and {len(paths) - limit} more"] if len(paths) > limit else [])


# ---------------------------------------------------------------- what changed


@dataclass(frozen=True)
class ModelChange:
    """How one model differs between two locks (for the summary and --dry-run)."""

    name: str
    kind: str  # added | removed | updated | unchanged
    old_commit: str | None = None
    new_commit: str | None = None
    files_added: tuple[str, ...] = ()
    files_removed: tuple[str, ...] = ()
    size_delta: int = 0


def diff_locks(old: Lockfile | None, new: Lockfile) -> list[ModelChange]:
    old_models = {m.name: m for m in (old.models if old else ())}
    new_models = {m.name: m for m in new.models}
    return [_change(name, old_models.get(name), new_models.get(name))
            for name in sorted(set(old_models) | set(new_models))]


def _change(name: str, old: LockedModel | None, new: LockedModel | None) -> ModelChange:
    if old is None:
        return ModelChange(name, "added", None, new.commit, tuple(f.path for f in new.files), (),
                           new.total_size)
    if new is None:
        return ModelChange(name, "removed", old.commit, None, (), tuple(f.path for f in old.files),
                           -old.total_size)
    old_files, new_files = set(old.files), set(new.files)
    old_paths, new_paths = {f.path for f in old.files}, {f.path for f in new.files}
    same = old_files == new_files and old.commit == new.commit and old.request == new.request
    return ModelChange(
        name, "unchanged" if same else "updated", old.commit, new.commit,
        tuple(sorted(new_paths - old_paths)), tuple(sorted(old_paths - new_paths)),
        new.total_size - old.total_size,
    )

