"""Shared by the library tests: a library of short clips (the project is tests/tiny_project.py).

Clips are 2 s, 64x64, bright from 0.5 s to 1 s: each report has one segment, and a
differently bright clip gives a different report, so a report put under the wrong name shows.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.media import dark_bright_dark, make_clip


def clip_bytes(directory: Path, bright: tuple[float, float] = (0.5, 1.0), seconds: float = 2) -> bytes:
    return make_clip(directory / "clip.mp4", seconds=seconds, gray=dark_bright_dark(bright)).read_bytes()


def make_library(root: Path, clips: dict[str, bytes]) -> Path:
    """root/<relative path> for each clip."""
    for relative, data in clips.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def reports_in(directory: Path) -> dict[str, bytes]:
    """Every report of an output directory (not the hidden resume state), by name."""
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir()) if not path.name.startswith(".")}


def segment_of(report: bytes) -> tuple[float, float]:
    [segment] = json.loads(report)["segments"]
    return segment["start"], segment["end"]
