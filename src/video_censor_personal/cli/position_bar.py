"""A progress bar over a video's timeline, for the commands that decode one (analyze, censor)."""

from __future__ import annotations

import sys


class PositionBar:
    """A tqdm bar over the video's duration in seconds, on stderr, labelled `desc`.

    It follows the position reporter protocol of analysis_pipeline (start, update, finish).
    """

    def __init__(self, desc: str):
        self.desc, self._bar = desc, None

    def start(self, duration: float | None) -> None:
        from tqdm import tqdm

        counter = "{n:.1f}/{total:.1f} s [{elapsed}<{remaining}]" if duration else "{n:.1f} s [{elapsed}]"
        self._bar = tqdm(total=duration or None, desc=self.desc, file=sys.stderr, dynamic_ncols=True,
                         bar_format="{desc}: {percentage:3.0f}%|{bar}| " + counter)

    def update(self, position: float) -> None:
        """Move to `position` seconds; never backwards, never past the end."""
        if self._bar is None:
            return
        position = min(position, self._bar.total) if self._bar.total else position
        if position > self._bar.n:
            self._bar.update(position - self._bar.n)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
