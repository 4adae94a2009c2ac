"""The tally of a library run, filled in as videos finish, and the lines that close the run.

    analysed 18 of 20 video(s), 1 failed, 1 skipped (report up to date): 0.17 h of video in 42.1 s, 14.5x real time

The exit code of the whole run is the highest of its videos' (DESIGN.md, Exit codes):
`error()` is the one error the run ends with, of the class of the worst failure.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from video_censor_personal.errors import VideoCensorError


@dataclass
class Summary:
    total: int = 0  # videos found
    done: int = 0
    skipped: int = 0  # their report was up to date
    media_seconds: float = 0.0  # of the videos analysed
    failures: list[tuple[str, VideoCensorError]] = field(default_factory=list)  # (video as shown, error)
    workers: Counter = field(default_factory=Counter)  # worker -> videos it analysed
    started: float = field(default_factory=time.perf_counter)

    def add_done(self, duration: float, worker: str) -> None:
        self.done += 1
        self.media_seconds += duration
        self.workers[worker] += 1

    def add_failure(self, shown: str, error: VideoCensorError) -> None:
        self.failures.append((shown, error))

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def line(self) -> str:
        """Videos done, failed and skipped, media hours, and how many times real time."""
        elapsed = self.elapsed
        speed = f", {self.media_seconds / elapsed:.1f}x real time" if self.done and elapsed > 0 else ""
        return (f"analysed {self.done} of {self.total} video(s), {len(self.failures)} failed, "
                f"{self.skipped} skipped (report up to date): "
                f"{self.media_seconds / 3600:.2f} h of video in {elapsed:.1f} s{speed}")

    def worker_line(self) -> str | None:
        """Who did what, when more than one worker did something (a cluster, --jobs)."""
        if len(self.workers) < 2:
            return None
        return "workers: " + ", ".join(f"{name} {count}" for name, count in sorted(self.workers.items()))

    def error(self) -> VideoCensorError | None:
        """The error the run ends with: the worst failure's class, every failed video listed with its code."""
        if not self.failures:
            return None
        worst = max((error for _, error in self.failures), key=lambda error: error.exit_code)
        return type(worst)(
            f"{len(self.failures)} of {self.total} video(s) failed",
            details=[f"{shown} (exit {error.exit_code})" for shown, error in self.failures],
            hint="each one's error is above; the other videos' reports are written",
        )
