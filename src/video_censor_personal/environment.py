"""The settings in effect for one run: command line, then environment, then [settings].

Precedence (DESIGN.md): command-line option, environment variable, `[settings]`, default.
Mirrors are the exception: they add up, in the order --mirror, VIDEO_CENSOR_MIRRORS,
[settings] mirrors, after the primary URL.

Endpoint and mirror URLs from the command line and the environment are checked here, before
any work (urls.py); those of `[settings]` were checked with models.toml's line.

The token is read here (HF_TOKEN, else the token file huggingface_hub writes) without
importing huggingface_hub, which costs 0.3 s of start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from video_censor_personal.config import DEFAULT_ENDPOINT, Settings
from video_censor_personal.errors import UsageError
from video_censor_personal.urls import endpoint_problem, mirror_problem, url_hint

DEFAULT_TIMEOUT = 300.0
DEFAULT_RETRIES = 3
DEFAULT_JOBS = 4
DEFAULT_CONNECTIONS = 8
SEGMENTED_FROM = 64 << 20  # DESIGN: files of 64 MiB or more go over parallel Range requests
_TRUE = {"1", "true", "yes", "on"}
NAME_MAX = 255  # bytes per path component on every common filesystem


@dataclass(frozen=True)
class Runtime:
    """Everything a stage needs to know about the outside world for this run."""

    endpoint: str
    endpoint_override: str | None
    mirrors: tuple[str, ...]
    timeout: float
    retries: int
    jobs: int
    offline: bool
    cache_dir: Path
    token: str | None = field(default=None, repr=False)
    retry_sleep_scale: float = 1.0
    connections: int = DEFAULT_CONNECTIONS
    segmented_from: int = SEGMENTED_FROM


def build_runtime(
    settings: Settings,
    *,
    cli_mirrors: tuple[str, ...] = (),
    cli_offline: bool = False,
    cli_cache_dir: Path | None = None,
    cli_connections: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> Runtime:
    env = os.environ if environ is None else environ
    override = _checked_endpoint(env.get("HF_ENDPOINT")) or settings.endpoint
    mirrors = _checked_mirrors(cli_mirrors, "--mirror") + _checked_mirrors(
        tuple(env.get("VIDEO_CENSOR_MIRRORS", "").split()), "VIDEO_CENSOR_MIRRORS")
    return Runtime(
        endpoint=(override or DEFAULT_ENDPOINT).rstrip("/"),
        endpoint_override=override.rstrip("/") if override else None,
        mirrors=mirrors + settings.mirrors,
        timeout=settings.timeout or DEFAULT_TIMEOUT,
        retries=DEFAULT_RETRIES if settings.retries is None else settings.retries,
        jobs=settings.jobs or DEFAULT_JOBS,
        offline=cli_offline or env.get("HF_HUB_OFFLINE", "").lower() in _TRUE,
        cache_dir=_checked_cache_dir(cli_cache_dir, "--cache-dir") or cache_dir_from(env),
        token=read_token(env),
        # Test knob: VIDEO_CENSOR_RETRY_SLEEP_SCALE=0 removes backoff sleeps from test runs.
        retry_sleep_scale=_test_knob(env, "VIDEO_CENSOR_RETRY_SLEEP_SCALE", 1.0),
        connections=cli_connections or connections_from(env) or settings.connections or DEFAULT_CONNECTIONS,
        # Test knob: a lower VIDEO_CENSOR_SEGMENTED_FROM lets tests segment files of a few MiB.
        segmented_from=int(_test_knob(env, "VIDEO_CENSOR_SEGMENTED_FROM", SEGMENTED_FROM)),
    )


def _checked_endpoint(value: str | None) -> str | None:
    """HF_ENDPOINT, refused at once when it is no http(s) URL (it was retried for 15 s)."""
    if not value:
        return None
    problem = endpoint_problem(value)
    if problem:
        raise UsageError(f"HF_ENDPOINT {value!r} {problem}", hint=url_hint(value, endpoint=True))
    return value


def _checked_mirrors(values: tuple[str, ...], source: str) -> tuple[str, ...]:
    """Mirrors that are no URL are a mistake to report, not a source to skip (or retry)."""
    for value in values:
        problem = mirror_problem(value)
        if problem:
            raise UsageError(f"{source} {value!r} {problem}", hint=url_hint(value))
    return tuple(values)


def _test_knob(env: Mapping[str, str], name: str, default: float) -> float:
    """A test knob's number; anything that is not a finite number >= 0 (and < 2**63) means the
    default. The knobs are not part of the contract, so a stray value must not stop a run."""
    try:
        value = float(env.get(name, default))
    except ValueError:
        return default
    return value if 0 <= value < 2**63 else default


def _checked_cache_dir(path: Path | None, source: str) -> Path | None:
    """A path no filesystem can hold is refused by name (it ended in "unexpected OSError")."""
    if path is None:
        return None
    path = path.expanduser()
    too_long = [part for part in path.parts if len(os.fsencode(part)) > NAME_MAX]
    if too_long:
        size = len(os.fsencode(too_long[0]))
        raise UsageError(f"{source}: a directory name in the cache path is longer than {NAME_MAX} bytes ({size})",
                         details=[too_long[0][:40] + "..."], hint="choose a shorter cache directory")
    return path


def connections_from(env: Mapping[str, str]) -> int | None:
    """VIDEO_CENSOR_CONNECTIONS as an integer >= 1; anything else is bad input (exit 2)."""
    value = env.get("VIDEO_CENSOR_CONNECTIONS", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"VIDEO_CENSOR_CONNECTIONS must be an integer >= 1, not {value!r}",
                         hint="unset it, or set it to the number of parallel Range requests per large file")
    return int(value)


def cache_dir_from(env: Mapping[str, str]) -> Path:
    if env.get("VIDEO_CENSOR_CACHE"):
        return _checked_cache_dir(Path(env["VIDEO_CENSOR_CACHE"]), "VIDEO_CENSOR_CACHE")
    import platformdirs  # only when no cache dir is given

    return Path(platformdirs.user_cache_dir("video-censor"))


def read_token(env: Mapping[str, str]) -> str | None:
    """HF_TOKEN, else the file `hf auth login` writes (HF_TOKEN_PATH or HF_HOME/token)."""
    if env.get("HF_TOKEN", "").strip():
        return env["HF_TOKEN"].strip()
    hf_home = Path(env.get("HF_HOME") or Path(env.get("XDG_CACHE_HOME") or "~/.cache") / "huggingface")
    token_path = Path(env.get("HF_TOKEN_PATH") or hf_home / "token").expanduser()
    try:
        token = token_path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return token or None


def debug_enabled(env: Mapping[str, str] | None = None) -> bool:
    return (os.environ if env is None else env).get("VIDEO_CENSOR_DEBUG", "").lower() in _TRUE
