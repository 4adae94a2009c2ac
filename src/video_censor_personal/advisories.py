"""Warnings and notes found at lock time (deprecation, renames, safety, stale pins).

`advise` looks at what the Hub said about a model (its head snapshot) next to what was
locked, and returns Advisory values; the lock command prints them and `--strict` turns
any warning into exit 1. Errors (disabled, gated without a token) are raised by locking.
"""

from __future__ import annotations

from dataclasses import dataclass

from video_censor_personal.config import ModelSpec
from video_censor_personal.huggingface_registry import RepoSnapshot
from video_censor_personal.lockfile import LockedModel


@dataclass(frozen=True)
class Advisory:
    """One thing a user should know about a locked model; `level` is warning or note."""

    model: str
    message: str
    hint: str | None = None
    level: str = "warning"


def advise(spec: ModelSpec, head: RepoSnapshot, locked: LockedModel, registry, has_token: bool) -> list[Advisory]:
    found: list[Advisory] = []
    if head.gated and has_token:
        found.append(Advisory(spec.name, f"{spec.repo} is gated: downloads use your token", level="note"))
    if head.commit != locked.commit:
        found.append(Advisory(
            spec.name,
            f"newer commit available on {spec.revision!r}: {locked.commit[:7]} -> {head.commit[:7]}",
            hint=f"run `video-censor models lock --upgrade-model {spec.name}`",
        ))
    return found
