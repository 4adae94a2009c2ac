"""The plan and the reports of the model manager, as values that can be printed or tested.

`Plan` is what `models status` prints and what `download` and `analyze` act on: each locked
file with its state (present / missing / invalid / unverified), found from stat calls and
records only. The reports say what `download`, `verify` and `export` did.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from video_censor_personal.cache import INVALID, MISSING, PRESENT
from video_censor_personal.errors import IntegrityError
from video_censor_personal.lockfile import LockedFile

DOWNLOAD_HINT = "run `video-censor models download` (or `video-censor --download-models`)"


@dataclass(frozen=True)
class FilePlan:
    """One locked file and what the cache holds for it."""

    model: str
    locked: LockedFile
    view: Path
    state: str

    @property
    def label(self) -> str:
        return f"{self.model}/{self.locked.path}"


@dataclass(frozen=True)
class ModelPlan:
    name: str
    repo: str
    commit: str
    path: Path
    files: tuple[FilePlan, ...]

    @property
    def complete(self) -> bool:
        return all(f.state == PRESENT for f in self.files)


@dataclass(frozen=True)
class Plan:
    """What the cache holds against the lock; printable (`status`), applied by download."""

    models: tuple[ModelPlan, ...]

    def files(self, *states: str) -> list[FilePlan]:
        every = [f for model in self.models for f in model.files]
        return [f for f in every if f.state in states] if states else every

    @property
    def to_fetch(self) -> list[FilePlan]:
        return self.files(MISSING, INVALID)

    def to_json(self, lockfile: Path, cache_dir: Path) -> dict:
        """The `models status --json` document (DESIGN "Precise rules"), absolute paths only:
        a script may run it from anywhere."""
        return {"lockfile": os.path.abspath(lockfile), "cache": os.path.abspath(cache_dir), "models": [
            {"name": m.name, "repo": m.repo, "commit": m.commit, "path": os.path.abspath(m.path), "files": [
                {"path": f.locked.path, "size": f.locked.size, "sha256": f.locked.sha256, "state": f.state}
                for f in m.files]}
            for m in self.models]}


@dataclass(frozen=True)
class DownloadSummary:
    fetched: tuple[FilePlan, ...] = ()
    fetched_bytes: int = 0
    present: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    failures: tuple[tuple[FilePlan, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures

    def raise_for_failures(self) -> None:
        if self.failures:
            raise IntegrityError(
                f"{len(self.failures)} of {self.checked} files failed verification",
                details=[f"{plan.label}: {reason}" for plan, reason in self.failures],
                hint=DOWNLOAD_HINT,
            )


@dataclass(frozen=True)
class ExportReport:
    directory: Path | str  # a local directory, or an s3://BUCKET/PREFIX URL
    files: int
    copied_bytes: int


@dataclass(frozen=True)
class ModelRow:
    """One line of `models list`: a model as models.toml asks for it and models.lock pins it."""

    name: str
    repo: str
    revision: str
    commit: str | None  # None: not in the lock
    files: int | None
    size: int | None
    kind: str | None  # its analysis kind, None when analyze does not use it
    cached: str  # "yes", "partly", "no", or "-" when not locked
    state: str  # "locked", "not locked", "lock differs" (models.toml changed), "not in models.toml"

    def to_json(self) -> dict:
        return {"name": self.name, "repo": self.repo, "revision": self.revision, "commit": self.commit,
                "files": self.files, "size": self.size, "kind": self.kind, "cached": self.cached,
                "state": self.state}


def list_models(manifest, lock, plan: Plan) -> list[ModelRow]:
    """models.toml and models.lock side by side, by name (either may be None)."""
    specs = {m.name: m for m in (manifest.models if manifest is not None else ())}
    locked = {m.name: m for m in (lock.models if lock is not None else ())}
    planned = {m.name: m for m in plan.models}
    return [_row(specs.get(name), locked.get(name), planned.get(name)) for name in sorted({*specs, *locked})]


def _row(spec, locked, planned: ModelPlan | None) -> ModelRow:
    source = spec or locked
    kind = spec.analysis.kind if spec is not None and spec.analysis is not None else None
    if locked is None:
        return ModelRow(source.name, source.repo, source.revision, None, None, None, kind, "-", "not locked")
    state = "not in models.toml" if spec is None else "locked" if spec.request == locked.request else "lock differs"
    return ModelRow(source.name, source.repo, source.revision, locked.commit, len(locked.files), locked.total_size,
                    kind, _cached(planned), state)


def _cached(planned: ModelPlan | None) -> str:
    if planned is None or planned.complete:
        return "yes"
    return "no" if all(f.state == MISSING for f in planned.files) else "partly"
