"""What most commands load first: where the project is, the settings in effect and the lock."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from video_censor_personal.config import Manifest, Settings, load_manifest
from video_censor_personal.environment import Runtime, build_runtime
from video_censor_personal.errors import LockfileError, ManifestError
from video_censor_personal.lockfile import Lockfile, read_lockfile

MANIFEST_NAME, LOCK_NAME = "models.toml", "models.lock"
START_HINT = ("start one with `video-censor models add NAME ORG/REPO` (it writes models.toml and locks it), "
              "or pass --manifest PATH")


def find_nearest(name: str, start: Path) -> Path | None:
    """The nearest file `name` in `start` or its parents, as uv finds pyproject.toml."""
    start = start.absolute()
    return next((d / name for d in (start, *start.parents) if (d / name).is_file()), None)


def locate_project(manifest: Path | None, lockfile: Path | None, start: Path) -> tuple[Path, Path]:
    """(models.toml, models.lock) in effect: given paths win; else the nearest models.toml and
    the lock beside it (a project of a lock alone: the nearest models.lock). Paths stay relative
    to the current directory, so messages stay short."""
    if manifest is None:
        found = find_nearest(MANIFEST_NAME, start) or find_nearest(LOCK_NAME, start)
        manifest = Path(os.path.relpath(found.with_name(MANIFEST_NAME))) if found else Path(MANIFEST_NAME)
    return manifest, lockfile or manifest.parent / LOCK_NAME


def require_manifest(options) -> Manifest:
    """The manifest, or an error naming where the search for it began."""
    if not options.manifest_path.exists() and options.manifest_path == Path(MANIFEST_NAME):
        raise ManifestError(f"{MANIFEST_NAME}: file not found in {options.search_start.absolute()} "
                            "or its parent directories", hint=START_HINT)
    return load_manifest(options.manifest_path)


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
        if not options.manifest_path.exists():  # `models lock` would only say models.toml is missing
            raise LockfileError(f"no {MANIFEST_NAME} or {LOCK_NAME} in {options.search_start.absolute()} "
                                "or its parent directories", hint=START_HINT) from None
        raise LockfileError(
            f"{options.lockfile_path}: lock file not found",
            hint="run `video-censor models lock` to create it",
        ) from None


def download_and_rerun(options, *command: str | Path) -> str:
    """The hint for missing models: the exact command (root options as given, then
    `--download-models`, then `command`) that downloads them and runs this one again."""
    words = ["video-censor"]
    for flag, value, default in (("--manifest", options.manifest_path, Path(MANIFEST_NAME)),
                                 ("--lockfile", options.lockfile_path, Path(LOCK_NAME)),
                                 ("--cache-dir", options.cache_dir, None)):
        if value is not None and value != default:
            words += [flag, str(value)]
    words += [word for mirror in options.mirrors for word in ("--mirror", mirror)]
    return "run `" + shlex.join(words + ["--download-models", *map(str, command)]) + "`"
