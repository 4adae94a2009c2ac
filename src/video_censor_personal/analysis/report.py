"""From flagged samples to the analysis report: segments, JSON and EDL.

Segments cover what could be flagged (DESIGN.md, Precise rules): flagged samples of the same
model and label with consecutive indexes form one run; one unflagged sample between them
splits it. Content that begins after an unflagged sample may be on screen from the very
next frame on, and content may last until the next unflagged sample is shown, so a run
becomes the segment

    start = end of the last unflagged sampled frame before it (its time + one frame), or 0
    end   = time of the first unflagged sampled frame after it, or the duration

with the decoded frames' own timestamps (the sampler's timeline), never nominal sample
times. `--pad` then widens every segment on both sides, clamped to [0, duration]. A
segment's score is the highest among its samples. Indexes, not float times, decide what is
consecutive, so rounding can never join or split a segment.

The JSON report (DESIGN.md, The analysis report):

    {"video": "in.mp4", "duration": 12.4, "fps_sampled": 2,
     "models": {"nsfw-classifier": "<commit>"},
     "segments": [{"start": 3.0, "end": 4.5, "label": "nsfw", "score": 0.97,
                   "model": "nsfw-classifier"}]}

A segment of an object detector also has "boxes": one per flagged sample and box of the
segment's label, {"t", "x", "y", "w", "h", "label", "score"}, x and y the top-left corner,
all four 0-1 of the frame's width and height.

The EDL is the skip list of MPlayer (`-edl FILE`) and Kodi (`NAME.edl` beside `NAME.mp4`),
which mpv reads through its EDL scripts: `start end 0` (skip) for video ranges and
`start end 1` (mute) for audio ranges, overlaps of the same action joined, and audio
ranges trimmed to what no skip already removes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

from video_censor_personal.intervals import merge_intervals

DECIMALS = 3  # milliseconds: finer than any frame, coarse enough to read
SKIP, MUTE = 0, 1  # EDL actions


@dataclass(frozen=True)
class Box:
    """Where in a sampled frame an object detector found a label; 0-1 of the frame's size."""

    t: float  # the sampled frame's timestamp, seconds
    x: float  # top-left corner
    y: float
    w: float
    h: float
    label: str
    score: float


@dataclass(frozen=True)
class Flag:
    """One sample that one model flagged for one label."""

    model: str
    label: str
    index: int  # which sampled frame (FrameSampler's timeline index)
    score: float
    boxes: tuple[Box, ...] = ()  # an object detector's boxes of this label


@dataclass(frozen=True)
class Segment:
    """A time range to censor, in seconds."""

    start: float
    end: float
    label: str
    score: float
    model: str
    boxes: tuple[Box, ...] = ()
    audio: bool = False  # a range of the audio track: muted (EDL action 1), not skipped


@dataclass(frozen=True)
class Report:
    video: str
    duration: float
    fps_sampled: float
    models: dict[str, str]  # model name -> locked commit
    segments: tuple[Segment, ...] = ()

    def to_dict(self) -> dict:
        """The report as DESIGN.md shows it, numbers rounded to milliseconds."""
        return {
            "video": self.video,
            "duration": _round(self.duration),
            "fps_sampled": _number(self.fps_sampled),
            "models": dict(sorted(self.models.items())),
            "segments": [_segment_dict(segment) for segment in self.segments],
        }


def merge_segments(flags: Iterable[Flag], timeline: Sequence[tuple[float, float]],
                   duration: float, pad: float = 0.0) -> tuple[Segment, ...]:
    """Runs of flagged samples of one model and label become segments (module docstring).

    `timeline[i]` is (time, end) of sampled frame i, as FrameSampler.timeline records it.
    """
    by_series = sorted(set(flags), key=lambda f: (f.model, f.label, f.index))
    segments: list[Segment] = []
    for (model, label), series in groupby(by_series, key=lambda f: (f.model, f.label)):
        for run in _runs(list(series)):
            first, last = run[0].index, run[-1].index
            start = timeline[first - 1][1] if first > 0 else 0.0
            end = timeline[last + 1][0] if last + 1 < len(timeline) else duration
            start, end = max(start - pad, 0.0), min(end + pad, duration)
            boxes = tuple(box for flag in run for box in flag.boxes)
            score = max(flag.score for flag in run)
            segments.append(Segment(min(start, end), end, label, score, model, boxes))
    return tuple(sorted(segments, key=lambda s: (s.start, s.end, s.model, s.label)))


def _runs(series: list[Flag]) -> list[list[Flag]]:
    """Split one model+label series (sorted by index) where an index is missing."""
    runs: list[list[Flag]] = []
    for flag in series:
        if runs and flag.index <= runs[-1][-1].index + 1:
            runs[-1].append(flag)
        else:
            runs.append([flag])
    return runs


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"


def render_edl(segments: Iterable[Segment]) -> str:
    """MPlayer/Kodi EDL, in time order: `start end 0` per skipped range, `start end 1` per muted one."""
    segments = list(segments)
    skips = merge_intervals((s.start, s.end) for s in segments if not s.audio)
    mutes = [part for span in merge_intervals((s.start, s.end) for s in segments if s.audio)
             for part in _outside(span, skips)]  # a skipped range needs no muting
    lines = sorted([(start, end, SKIP) for start, end in skips] + [(start, end, MUTE) for start, end in mutes])
    return "".join(f"{_format(start)} {_format(end)} {action}\n" for start, end, action in lines)


def _outside(span: tuple[float, float], cuts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of `span` that no span of `cuts` (joined, in time order) covers."""
    parts, start = [], span[0]
    for cut_start, cut_end in cuts:
        if cut_end <= start or cut_start >= span[1]:
            continue
        if cut_start > start:
            parts.append((start, cut_start))
        start = max(start, cut_end)
    if start < span[1]:
        parts.append((start, span[1]))
    return parts


def _segment_dict(segment: Segment) -> dict:
    document = {
        "start": _round(segment.start),
        "end": _round(segment.end),
        "label": segment.label,
        "score": _round(segment.score),
        "model": segment.model,
    }
    if segment.boxes:
        document["boxes"] = [_box_dict(box) for box in segment.boxes]
    return document


def _box_dict(box: Box) -> dict:
    return {"t": _round(box.t), "x": _round(box.x), "y": _round(box.y), "w": _round(box.w), "h": _round(box.h),
            "label": box.label, "score": _round(box.score)}


def _round(value: float) -> float:
    return round(float(value), DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def _number(value: float) -> int | float:
    """2.0 -> 2 (as DESIGN.md shows `fps_sampled`), 2.5 stays 2.5."""
    value = _round(value)
    return int(value) if value.is_integer() else value


def _format(seconds: float) -> str:
    return f"{_round(seconds):.3f}"
