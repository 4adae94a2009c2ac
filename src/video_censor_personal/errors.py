"""The one exception tree of video-censor, and the exit code each branch maps to.

    VideoCensorError                  every error we raise; carries a hint naming the fix
    ├── UsageError          (exit 2)  bad input from the user
    │   ├── ManifestError             models.toml: syntax, schema, values (file + line)
    │   ├── LockfileError             models.lock: malformed or tampered
    │   │   └── LockVersionError          written by a newer video-censor
    │   ├── ResolutionError           the Hub says the repo/revision/pattern does not exist,
    │   │                             the repo is disabled, or gated without a token
    │   └── MediaError                a video that cannot be read
    ├── CheckFailed         (exit 1)  a check the user asked for did not pass
    │   ├── StaleLockError            lock --check, lock --strict
    │   ├── IntegrityError            a hash mismatch that survived its retry, verify failures
    │   └── ModelsMissingError        analyze / models path without the files
    ├── NetworkError        (exit 3)  Hub, CDN or mirror unreachable after every retry, offline
    └── DiskSpaceError      (exit 4)  not enough free space, found before any byte is fetched

Ctrl-C during a download raises DownloadInterrupted, a KeyboardInterrupt (exit 130) that
says the partial files are kept.

Hub client exceptions never leave huggingface_registry.py: they are translated there.
This module imports nothing of ours, so every stage may import it.
"""

from __future__ import annotations


class VideoCensorError(Exception):
    """Root of every error the tool reports to a user.

    `details` are the files or models concerned, printed one per line, indented;
    `hint` is one line saying what to do next.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = list(details or [])


class UsageError(VideoCensorError):
    exit_code = 2


class ManifestError(UsageError):
    """models.toml is not valid; the message names the file and line."""


class LockfileError(UsageError):
    """models.lock cannot be trusted as it is."""


class LockVersionError(LockfileError):
    """models.lock has a lock-version this tool does not know: never silently downgraded."""


class ResolutionError(UsageError):
    """The Hub cannot give what models.toml asks for."""


class MediaError(UsageError):
    """The video cannot be read."""


class CheckFailed(VideoCensorError):
    exit_code = 1


class StaleLockError(CheckFailed):
    """models.lock is missing or out of date with models.toml."""


class IntegrityError(CheckFailed):
    """Bytes that do not match the lock."""


class ModelsMissingError(CheckFailed):
    """Models needed for a command are not (fully) in the cache."""


class NetworkError(VideoCensorError):
    exit_code = 3


class DiskSpaceError(VideoCensorError):
    exit_code = 4


def highest_exit_code(errors: list[VideoCensorError]) -> int:
    """DESIGN.md: when several files fail for different reasons, the highest code wins."""
    return max((error.exit_code for error in errors), default=0)


class DownloadInterrupted(KeyboardInterrupt):
    """Ctrl-C during a download: still exit 130, and the user learns that nothing is lost."""

    hint = "partial downloads are kept: run the same command again and it resumes where it stopped"
