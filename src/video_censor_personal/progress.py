"""Progress as a protocol: the core says what happens, the CLI decides how it looks.

The core (model_manager, fetch, cache) never imports tqdm: it calls a Reporter, which is
a tqdm bar in the CLI, NullReporter when quiet, and a recording reporter in tests.
Calls may come from several download threads at once; implementations must cope.
"""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    """What a long operation tells the person watching it."""

    def start(self, total_bytes: int, files: int) -> None:
        """Work begins: this many bytes over this many files."""

    def advance(self, n: int) -> None:
        """n more bytes are done (downloaded, or hashed)."""

    def resumed(self, n: int) -> None:
        """n bytes were already on disk (a resumed partial file, another process's
        download): they count toward the total, not toward the speed."""

    def waiting(self, name: str) -> None:
        """Another process is downloading `name`; this one waits for it."""

    def file_done(self, name: str) -> None:
        """One file is finished and verified."""

    def finish(self) -> None:
        """Work is over, whether it succeeded or not."""


class NullReporter:
    """Reports nothing: --quiet, library use, and no-op runs."""

    def start(self, total_bytes: int, files: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def resumed(self, n: int) -> None:
        pass

    def waiting(self, name: str) -> None:
        pass

    def file_done(self, name: str) -> None:
        pass

    def finish(self) -> None:
        pass


def format_size(size: int) -> str:
    """Bytes as a person reads them, the same everywhere: 343401688 -> '327.5 MiB'."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
