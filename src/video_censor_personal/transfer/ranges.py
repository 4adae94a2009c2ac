"""Which byte ranges of a partial file are on disk: the segments and their record.

    blobs/<sha256>.part           the partial file, written at each segment's offsets
    blobs/<sha256>.part.ranges    {"size": N, "done": [[start, end), ...]}: what is on disk

The record is written after the bytes it describes and replaced atomically (temp file,
rename), so whatever a SIGKILL leaves, it never claims bytes that are not there; a re-run
re-fetches at most the unfinished tail of each segment. It is not fsynced: it guards
against a killed process (the page cache survives it), not a power cut, and the whole-file
sha256 before the rename catches anything else. A partial file without a record is a
single stream's: its size is the contiguous prefix.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from video_censor_personal.cache import ranges_path, write_replacing
from video_censor_personal.intervals import merge_intervals

MAX_SEGMENT = 16 << 20  # small enough that the in-order hash keeps up, large enough per request
MIN_SEGMENT = 1 << 20
SAVE_EVERY = 0.5  # seconds between record writes while bytes arrive


@dataclass
class Segment:
    start: int
    done: int  # bytes start..done are on disk
    end: int

    @property
    def complete(self) -> bool:
        return self.done >= self.end


def segment_size(size: int) -> int:
    """About 32 segments per file, 1 to 16 MiB each: a function of the size alone, so a
    re-run with another `connections` cuts the file the same way and resumes every segment."""
    return min(max(size // 32, MIN_SEGMENT), MAX_SEGMENT)


def bytes_on_disk(part: Path, size: int) -> int:
    """How many of the file's bytes a partial file already holds (its record, else its size)."""
    return SegmentTable.load(part, size).done_bytes


class SegmentTable:
    """The segments of one file, handed out in order, and how far each got. Thread-safe."""

    def __init__(self, part: Path, size: int, done: list[tuple[int, int]]):
        self.part, self.size = part, size
        step = segment_size(size)
        self.segments = [Segment(start, start, min(start + step, size)) for start in range(0, size, step)]
        for segment in self.segments:
            segment.done = _covered_from(segment.start, segment.end, done)
        self._lock = threading.Lock()
        self._claimed: set[int] = set()
        self._first_open = 0
        self._saved_at = 0.0

    @classmethod
    def load(cls, part: Path, size: int) -> SegmentTable:
        """From the record beside `part`; without one, `part`'s size is a done prefix."""
        try:
            record = json.loads(ranges_path(part).read_text(encoding="utf-8"))
            done = [(int(a), int(b)) for a, b in record["done"]] if record["size"] == size else []
        except FileNotFoundError:
            prefix = part.stat().st_size if part.exists() else 0
            done = [(0, prefix)] if 0 < prefix <= size else []
        except (OSError, ValueError, KeyError, TypeError):
            done = []  # unreadable: trust nothing on disk
        on_disk = part.stat().st_size if part.exists() else 0
        if any(last > on_disk for _, last in done):
            done = []  # the partial file was cut or replaced since: the record describes another file
        return cls(part, size, done)

    @property
    def done_bytes(self) -> int:
        with self._lock:
            return sum(s.done - s.start for s in self.segments)

    @property
    def complete(self) -> bool:
        return self.frontier >= self.size

    @property
    def frontier(self) -> int:
        """The end of the contiguous prefix on disk: what the in-order hash may read."""
        with self._lock:
            while self._first_open < len(self.segments) and self.segments[self._first_open].complete:
                self._first_open += 1
            if self._first_open >= len(self.segments):
                return self.size
            return self.segments[self._first_open].done

    def claim(self) -> int | None:
        """The next unfinished segment nobody works on, in file order (None when none is left)."""
        with self._lock:
            for index, segment in enumerate(self.segments):
                if not segment.complete and index not in self._claimed:
                    self._claimed.add(index)
                    return index
            return None

    def release(self, index: int) -> None:
        with self._lock:
            self._claimed.discard(index)

    def advance(self, index: int, n: int) -> None:
        """n more bytes of segment `index` are on disk."""
        with self._lock:
            self.segments[index].done += n

    def save(self, force: bool = True) -> None:
        """Write the record (atomically); unless `force`, at most every SAVE_EVERY seconds."""
        now = time.monotonic()
        with self._lock:
            if not force and now - self._saved_at < SAVE_EVERY:
                return
            self._saved_at = now
            done = merge_intervals([(s.start, s.done) for s in self.segments if s.done > s.start])
        write_replacing(ranges_path(self.part), json.dumps({"size": self.size, "done": done}))

    def forget(self) -> None:
        """The file is whole: the record has nothing more to say."""
        ranges_path(self.part).unlink(missing_ok=True)

    def abandon(self) -> None:
        """The source ignores Range: the part becomes a single stream's, with no segments."""
        with self._lock:
            self.segments, self._first_open = [], 0
        self.forget()


def _covered_from(start: int, end: int, done: list[tuple[int, int]]) -> int:
    """How far from `start` the done intervals reach without a gap (capped at `end`)."""
    reach = start
    for first, last in sorted(done):
        if first <= reach < last:
            reach = last
    return min(reach, end)
