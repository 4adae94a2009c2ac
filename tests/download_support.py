"""Helpers for the download tests: publish files on the fake Hub and lock them directly.

The lock is built by hand (not by `models lock`) so that download tests depend only on the
lock format, and so that a test can point a lock at any URL it likes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.fakehub import LFS
from video_censor_personal.lockfile import LockedFile, LockedModel, Lockfile, resolve_url, write_lockfile

ZERO_HASH = "sha256:" + "0" * 64


def publish(hub, name: str, files: dict[str, bytes], *, repo_id: str | None = None, gated=False,
            lfs_from: int = 64, endpoint: str | None = None) -> LockedModel:
    """Commit `files` to a new repo (LFS for files of `lfs_from` bytes or more); its locked model."""
    repo_id = repo_id or f"org/{name}"
    repo = hub.create_repo(repo_id, gated=gated)
    commit = repo.commit({path: LFS(data) if len(data) >= lfs_from else data for path, data in files.items()})
    base = endpoint or hub.url
    locked = tuple(
        LockedFile(path, resolve_url(base, repo_id, commit, path), len(data), hashlib.sha256(data).hexdigest())
        for path, data in sorted(files.items())
    )
    return LockedModel(name, repo_id, "main", ("*",), (), commit, locked)


def write_lock(path: Path, *models: LockedModel) -> Path:
    write_lockfile(path, Lockfile(ZERO_HASH, tuple(models)))
    return path


def cache_root() -> Path:
    return Path(os.environ["VIDEO_CENSOR_CACHE"]) / "models-v1"


def view_of(model: LockedModel, path: str) -> Path:
    return cache_root() / "snapshots" / model.name / model.commit / path


def blob_of(model: LockedModel, path: str) -> Path:
    return cache_root() / "blobs" / model.file(path).sha256


def flip_byte(path: Path, offset: int = 0) -> None:
    """Corrupt one byte in place (size unchanged), as a bad disk or a careless edit would."""
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic, incompressible-enough bytes of any size."""
    block = hashlib.sha256(f"seed-{seed}".encode()).digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]
