"""The plan and the reports of the model manager, as values that can be printed or tested.

`Plan` is what `models status` prints and what `download` and `analyze` act on: each locked
file with its state (present / missing / invalid / unverified), found from stat calls and
records only. The reports say what `download`, `verify` and `export` did.
"""

from __future__ import annotations

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
    linked: bool = True

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
        """The `models status --json` document (DESIGN "Precise rules")."""
        return {"lockfile": str(lockfile), "cache": str(cache_dir), "models": [
            {"name": m.name, "repo": m.repo, "commit": m.commit, "path": str(m.path), "files": [
                {"path": f.locked.path, "size": f.locked.size, "sha256": f.locked.sha256, "state": f.state}
                for f in m.files]}
            for m in self.models]}


@dataclass(frozen=True)
class DownloadSummary:
    fetched: tuple[FilePlan, ...] = ()
    fetched_bytes: int = 0
    present: int = 0
    seconds: float = 0.0
    by_others: int = 0  # files another process downloaded while this one waited for it


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
    directory: Path
    files: int
    copied_bytes: int
