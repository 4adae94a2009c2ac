"""What most commands load first: the settings in effect and the lock."""

from __future__ import annotations

from video_censor_personal.config import Manifest, Settings, load_manifest
from video_censor_personal.environment import Runtime, build_runtime
from video_censor_personal.errors import LockfileError
from video_censor_personal.lockfile import Lockfile, read_lockfile


def load_manifest_if_present(options) -> Manifest | None:
    """The manifest, or None when there is none (downloads need only the lock)."""
    if not options.manifest_path.exists():
        return None
    return load_manifest(options.manifest_path)


def load_runtime(options, manifest: Manifest | None = None) -> Runtime:
    settings = manifest.settings if manifest is not None else Settings()
    return build_runtime(
        settings,
        cli_mirrors=options.mirrors,
        cli_offline=options.offline,
        cli_cache_dir=options.cache_dir,
        cli_connections=options.connections,
    )


def load_lock(options) -> Lockfile:
    """The lock the download side goes by; a missing lock is bad input (exit 2)."""
    try:
        return read_lockfile(options.lockfile_path)
    except FileNotFoundError:
        raise LockfileError(
            f"{options.lockfile_path}: lock file not found",
            hint="run `video-censor models lock` to create it",
        ) from None
