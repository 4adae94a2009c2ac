"""What to censor when: the report's segments turned into per-frame and per-sample actions.

    FlaggedVideo (report)  --plan()-->  CensorPlan: holds (video) + ranges (audio, cut)
    CensorPlan.timeline()  -->  FrameCensor for each frame, in presentation order
    snap_to_frames()       -->  cut ranges on frame boundaries, so audio is cut with its frames

Times are seconds from the start of the video stream, as in the report. A frame is
censored when it is on screen at any moment of a flagged range: its interval
[start, start + duration) overlaps the range by more than TOLERANCE, which absorbs the
report's rounding to milliseconds (the frame that ends a segment, the first one not
flagged, stays untouched).

Boxes. A detector's segment says where, at each sample time t. The object moves between
samples, so each sample's boxes are held from the previous sample time to the next one
(t - 1/fps to t + 1/fps, the sample interval on each side): between two samples both
samples' boxes are censored, so nothing flickers through. The first sample's boxes reach
back to the segment's start and the last one's forward to its end, which also covers the
segment's padding. Every box grows by MARGIN of its size on each side, because detector
boxes hug their object tightly.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from video_censor_personal.censoring.report_reader import Box, FlaggedRange, FlaggedVideo
from video_censor_personal.censoring.video_effects import WHOLE_FRAME, Region
from video_censor_personal.intervals import merge_intervals

MARGIN = 0.15  # of a box's width and height, added on each side
TOLERANCE = 0.001  # seconds: the report's times are rounded to milliseconds

TimeRange = tuple[float, float]


@dataclass(frozen=True)
class Hold:
    """Censor `region` (the whole frame for a classifier) of every frame shown in [start, end)."""

    start: float
    end: float
    region: Region


@dataclass(frozen=True)
class FrameCensor:
    """What to do to one frame: the regions to censor (WHOLE_FRAME alone for the whole frame)."""

    regions: tuple[Region, ...]


@dataclass(frozen=True)
class CensorPlan:
    holds: tuple[Hold, ...]  # sorted by start
    ranges: tuple[TimeRange, ...]  # flagged time, merged and sorted: for audio, and for `cut`

    @property
    def censored_seconds(self) -> float:
        return sum(end - start for start, end in self.ranges)

    def timeline(self) -> Timeline:
        return Timeline(self.holds)


def plan(flagged: FlaggedVideo, duration: float) -> CensorPlan:
    """The holds and ranges of a report, clamped to the video's duration."""
    interval = 1 / flagged.fps_sampled if flagged.fps_sampled else 0.0
    clamped = [FlaggedRange(min(r.start, duration), min(r.end, duration), r.boxes) for r in flagged.ranges]
    kept = [r for r in clamped if r.end - r.start > TOLERANCE]
    holds = [hold for flagged_range in kept for hold in _holds(flagged_range, interval)]
    return CensorPlan(tuple(sorted(holds, key=lambda h: (h.start, h.end))),
                      tuple(merge_intervals((r.start, r.end) for r in kept)))


def _holds(flagged: FlaggedRange, interval: float) -> list[Hold]:
    if not flagged.boxes:
        return [Hold(flagged.start, flagged.end, WHOLE_FRAME)]
    samples = [(t, list(boxes)) for t, boxes in groupby(sorted(flagged.boxes, key=lambda b: b.t), key=lambda b: b.t)]
    holds = []
    for index, (t, boxes) in enumerate(samples):
        start = flagged.start if index == 0 else max(flagged.start, t - interval)
        end = flagged.end if index == len(samples) - 1 else min(flagged.end, t + interval)
        holds += [Hold(start, end, with_margin(box)) for box in boxes if end > start]
    return holds


def with_margin(box: Box) -> Region:
    """The box grown by MARGIN of its size on every side, kept inside the frame."""
    dx, dy = box.w * MARGIN, box.h * MARGIN
    return Region(max(box.x - dx, 0.0), max(box.y - dy, 0.0), min(box.x + box.w + dx, 1.0),
                  min(box.y + box.h + dy, 1.0))


def overlaps(start: float, end: float, range_start: float, range_end: float) -> bool:
    """Whether a frame shown in [start, end) is on screen during [range_start, range_end)."""
    return start < range_end - TOLERANCE and end > range_start + TOLERANCE


class Timeline:
    """Answers "what to censor in this frame" for frames in presentation order.

    A sweep over the holds sorted by start: each query adds the holds that have begun and
    drops those that are over, so a film with thousands of boxes costs each frame only the
    boxes on screen. A query earlier than the one before (a damaged file's timestamps)
    starts the sweep again rather than miss a hold.
    """

    def __init__(self, holds: Sequence[Hold]):
        self._holds = holds
        self._rewind()

    def _rewind(self) -> None:
        self._next, self._active, self._last = 0, [], float("-inf")

    def at(self, start: float, end: float) -> FrameCensor | None:
        """The censoring of the frame shown in [start, end), or None when it is clean."""
        if start < self._last:
            self._rewind()
        self._last = start
        while self._next < len(self._holds) and self._holds[self._next].start < end - TOLERANCE:
            self._active.append(self._holds[self._next])
            self._next += 1
        self._active = [hold for hold in self._active if hold.end > start + TOLERANCE]
        regions = [hold.region for hold in self._active if overlaps(start, end, hold.start, hold.end)]
        if not regions:
            return None
        return FrameCensor((WHOLE_FRAME,) if WHOLE_FRAME in regions else tuple(dict.fromkeys(regions)))


def snap_to_frames(ranges: Sequence[TimeRange], frame_starts: Sequence[float], end: float) -> tuple[TimeRange, ...]:
    """The ranges `cut` removes: every frame on screen during a flagged range, whole.

    A frame shown in [t_k, t_k+1) that overlaps a range is removed entirely, and the audio
    with it from t_k to t_k+1, so both streams lose exactly the same time and stay in sync.
    `ranges` are merged and sorted (CensorPlan.ranges); `end` is when the last frame ends.
    """
    starts = sorted(frame_starts)
    removed, index = [], 0
    for start, stop in zip(starts, [*starts[1:], end], strict=True):
        while index < len(ranges) and ranges[index][1] - TOLERANCE <= start:
            index += 1  # over before this frame, so before every later frame too
        if index < len(ranges) and overlaps(start, stop, *ranges[index]):
            removed.append((start, stop))
    return tuple(merge_intervals(removed))


class Cuts:
    """The removed ranges of `cut`, and the time map from input to output."""

    def __init__(self, ranges: Sequence[TimeRange]):
        self.ranges = tuple(ranges)
        self._starts = [start for start, _ in self.ranges]
        self._removed_before = [0.0]
        for start, end in self.ranges:
            self._removed_before.append(self._removed_before[-1] + end - start)

    @property
    def total(self) -> float:
        return self._removed_before[-1]

    def removes(self, time: float) -> bool:
        index = bisect.bisect_right(self._starts, time) - 1
        return index >= 0 and time < self.ranges[index][1]

    def output_time(self, time: float) -> float:
        """Where `time` lands once the ranges before it are gone (a removed time: its range's start)."""
        index = bisect.bisect_right(self._starts, time) - 1
        if index < 0:
            return time
        start, end = self.ranges[index]
        return min(time, start) - self._removed_before[index] if time < end else time - self._removed_before[index + 1]
