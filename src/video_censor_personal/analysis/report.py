"""From flagged samples to the analysis report: segments, JSON and EDL.

Merging (DESIGN.md, Precise rules, Analysis): flagged samples of the same model and label
with consecutive sample indexes form one segment; one unflagged sample between them splits
it. A segment runs from its first flagged sample to its last flagged sample plus 1/fps,
clamped to the duration; its score is the highest score among its samples. Indexes, not
float times, decide what is consecutive, so rounding can never join or split a segment.

The JSON report (DESIGN.md, The analysis report):

    {"video": "in.mp4", "duration": 12.4, "fps_sampled": 2,
     "models": {"nsfw-classifier": "<commit>"},
     "segments": [{"start": 3.0, "end": 4.5, "label": "nsfw", "score": 0.97,
                   "model": "nsfw-classifier"}]}

The EDL is the skip list of MPlayer (`-edl FILE`) and Kodi (`NAME.edl` beside `NAME.mp4`),
which mpv reads through its EDL-skip scripts: one `start end 0` line per range (action 0 =
skip), overlapping ranges of different models or labels joined.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

DECIMALS = 3  # milliseconds: finer than any frame, coarse enough to read


@dataclass(frozen=True)
class Flag:
    """One sample that one model flagged for one label."""

    model: str
    label: str
    index: int  # sample index: the sample's time is index / fps
    score: float


@dataclass(frozen=True)
class Segment:
    """A time range to censor, in seconds."""

    start: float
    end: float
    label: str
    score: float
    model: str


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


def merge_segments(flags: Iterable[Flag], fps: float, duration: float) -> tuple[Segment, ...]:
    """Consecutive flagged samples of one model and label become one segment."""
    by_series = sorted(set(flags), key=lambda f: (f.model, f.label, f.index))
    segments: list[Segment] = []
    for (model, label), series in groupby(by_series, key=lambda f: (f.model, f.label)):
        for run in _runs(list(series)):
            start = run[0].index / fps
            end = min((run[-1].index + 1) / fps, duration)
            score = max(flag.score for flag in run)
            segments.append(Segment(start, max(end, start), label, score, model))
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
    """MPlayer/mpv/Kodi EDL: `start end 0` (skip) per range, overlaps joined, in time order."""
    ranges: list[list[float]] = []
    for segment in sorted(segments, key=lambda s: (s.start, s.end)):
        if ranges and segment.start <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], segment.end)
        else:
            ranges.append([segment.start, segment.end])
    return "".join(f"{_format(start)} {_format(end)} 0\n" for start, end in ranges)


def _segment_dict(segment: Segment) -> dict:
    return {
        "start": _round(segment.start),
        "end": _round(segment.end),
        "label": segment.label,
        "score": _round(segment.score),
        "model": segment.model,
    }


def _round(value: float) -> float:
    return round(float(value), DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def _number(value: float) -> int | float:
    """2.0 -> 2 (as DESIGN.md shows `fps_sampled`), 2.5 stays 2.5."""
    value = _round(value)
    return int(value) if value.is_integer() else value


def _format(seconds: float) -> str:
    return f"{_round(seconds):.3f}"
