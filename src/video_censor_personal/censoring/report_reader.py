"""An analysis report (DESIGN.md, The analysis report) read back for `censor`.

`censor` takes the report as the JSON that `analyze -o` writes, whether it comes from a file
(`--report R.json`) or from an analysis run in the same process (`Report.to_dict()`): one
reader, one set of checks, and no dependence on the analysis side's in-memory classes.

Only what censoring needs is checked: every segment has numbers `start` <= `end`, and a
detector's `boxes` have numbers `t`, `x`, `y`, `w`, `h` inside the frame (0-1). Labels,
scores and model names are carried along for messages but not required, so a report
written by hand (or by another tool) works too. Every problem names the file and the
segment, because a wrong report censors the wrong frames.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from video_censor_personal.errors import UsageError

REPORT_HINT = "write the report with `video-censor analyze VIDEO -o REPORT.json`, or leave out --report"


@dataclass(frozen=True)
class Box:
    """Where a detector saw something, at sample time t: frame-relative, x, y the top-left corner."""

    t: float
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class FlaggedRange:
    """One segment of the report: a time range, and the boxes when a detector gave them."""

    start: float
    end: float
    boxes: tuple[Box, ...] = ()


@dataclass(frozen=True)
class FlaggedVideo:
    """What the report says to censor in one video."""

    ranges: tuple[FlaggedRange, ...]
    duration: float | None  # seconds, as analysed; None when the report does not say
    fps_sampled: float | None  # samples per second; boxes are held for 1 / fps_sampled


def load_report(path: Path) -> FlaggedVideo:
    """Read and check a report file; UsageError naming the file, line or segment."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"cannot read report {path}: file not found", hint=REPORT_HINT) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"cannot read report {path}: {reason}", hint=REPORT_HINT) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg})", hint=REPORT_HINT) from None
    return read_report(data, str(path))


def read_report(data: object, source: str) -> FlaggedVideo:
    """The report as parsed JSON (a dict as `Report.to_dict()` gives) -> FlaggedVideo."""
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
        raise UsageError(f"{source}: not an analysis report (no \"segments\" list)", hint=REPORT_HINT)
    duration = _optional_number(data, "duration", source)
    fps = _optional_number(data, "fps_sampled", source)
    if fps is not None and fps <= 0:
        raise UsageError(f"{source}: \"fps_sampled\" must be a positive number, not {fps}", hint=REPORT_HINT)
    ranges = tuple(_flagged_range(segment, f"{source}: segment {index}")
                   for index, segment in enumerate(data["segments"], start=1))
    if fps is None and any(flagged.boxes for flagged in ranges):
        raise UsageError(f"{source}: segments have boxes but \"fps_sampled\" is missing "
                         "(boxes are held for one sample interval)", hint=REPORT_HINT)
    return FlaggedVideo(ranges, duration, fps)


def _flagged_range(segment: object, where: str) -> FlaggedRange:
    if not isinstance(segment, dict):
        raise UsageError(f"{where}: not an object", hint=REPORT_HINT)
    start, end = _number(segment, "start", where), _number(segment, "end", where)
    if start < 0 or end < start:
        raise UsageError(f"{where}: needs 0 <= start <= end, got start {start} and end {end}", hint=REPORT_HINT)
    boxes = segment.get("boxes", [])
    if not isinstance(boxes, list):
        raise UsageError(f"{where}: \"boxes\" must be a list", hint=REPORT_HINT)
    return FlaggedRange(start, end, tuple(_box(box, f"{where}, box {n}") for n, box in enumerate(boxes, start=1)))


def _box(box: object, where: str) -> Box:
    if not isinstance(box, dict):
        raise UsageError(f"{where}: not an object", hint=REPORT_HINT)
    t, x, y, w, h = (_number(box, key, where) for key in ("t", "x", "y", "w", "h"))
    if not (0 <= x <= 1 and 0 <= y <= 1 and 0 < w <= 1 and 0 < h <= 1):
        raise UsageError(f"{where}: x, y, w, h are fractions of the frame (0-1, w and h above 0), "
                         f"got {x}, {y}, {w}, {h}", hint=REPORT_HINT)
    return Box(t, x, y, w, h)


def _number(data: dict, key: str, where: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{where}: \"{key}\" must be a number, not {json.dumps(value)}", hint=REPORT_HINT)
    return float(value)


def _optional_number(data: dict, key: str, where: str) -> float | None:
    return None if data.get(key) is None else _number(data, key, where)
