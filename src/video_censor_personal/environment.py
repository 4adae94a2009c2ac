"""The settings in effect for one run: command line, then environment, then [settings].

Precedence (DESIGN.md): command-line option, environment variable, `[settings]`, default.
Mirrors are the exception: they add up, in the order --mirror, VIDEO_CENSOR_MIRRORS,
[settings] mirrors, after the primary URL.

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

DEFAULT_TIMEOUT = 300.0
DEFAULT_RETRIES = 3
DEFAULT_JOBS = 4
DEFAULT_CONNECTIONS = 8
SEGMENTED_FROM = 64 << 20  # DESIGN: files of 64 MiB or more go over parallel Range requests
_TRUE = {"1", "true", "yes", "on"}


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
    override = env.get("HF_ENDPOINT") or settings.endpoint
    return Runtime(
        endpoint=(override or DEFAULT_ENDPOINT).rstrip("/"),
        endpoint_override=override.rstrip("/") if override else None,
        mirrors=tuple(cli_mirrors) + tuple(env.get("VIDEO_CENSOR_MIRRORS", "").split())
        + settings.mirrors,
        timeout=settings.timeout or DEFAULT_TIMEOUT,
        retries=DEFAULT_RETRIES if settings.retries is None else settings.retries,
        jobs=settings.jobs or DEFAULT_JOBS,
        offline=cli_offline or env.get("HF_HUB_OFFLINE", "").lower() in _TRUE,
        cache_dir=cli_cache_dir or cache_dir_from(env),
        token=read_token(env),
        # Test knob: VIDEO_CENSOR_RETRY_SLEEP_SCALE=0 removes backoff sleeps from test runs.
        retry_sleep_scale=float(env.get("VIDEO_CENSOR_RETRY_SLEEP_SCALE", "1")),
        connections=cli_connections or connections_from(env) or settings.connections or DEFAULT_CONNECTIONS,
        # Test knob: a lower VIDEO_CENSOR_SEGMENTED_FROM lets tests segment files of a few MiB.
        segmented_from=int(env.get("VIDEO_CENSOR_SEGMENTED_FROM", SEGMENTED_FROM)),
    )


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
        return Path(env["VIDEO_CENSOR_CACHE"]).expanduser()
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
