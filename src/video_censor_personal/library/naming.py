"""The name of each video's report in `-o DIR`: `<file name>.json`, clashes resolved deterministically.

DESIGN.md: `DIR/<file name>.json` (`clip1.mp4` -> `clip1.mp4.json`); two videos with the
same file name in different folders get their path relative to the folder given, `/`
written as `__`. Names are tried in that order, then two more, each only for the videos
still clashing:

    1. the file name                       clip.mp4.json
    2. the path inside the folder given    season1__clip.mp4.json
    3. the path as given                   tv__season1__clip.mp4.json (the leading / dropped)
    4. the path as given, numbered         tv__season1__clip.mp4~2.json (in sorted order)

Two names clash when they differ only in case (macOS and Windows folders would make them
one file). A name is kept only if no other video wants it at the same step and no video
took it at an earlier step, so the result depends on the set of videos, never on the
order in which they were named or found.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

from video_censor_personal.library.discover import Video

SUFFIX = ".json"


def _flat(path: PurePosixPath | str) -> str:
    return str(path).lstrip("/").replace("/", "__")


_STEPS: tuple[Callable[[Video], str], ...] = (
    lambda video: video.relative.name,
    lambda video: _flat(video.relative),
    lambda video: _flat(video.path.as_posix()),
)


def report_names(videos: Iterable[Video]) -> dict[Video, str]:
    """Each video's report file name, unique (case-insensitively) among these videos."""
    names: dict[Video, str] = {}
    taken: set[str] = set()
    pending = list(videos)
    for step in _STEPS:
        wanted = {video: step(video) + SUFFIX for video in pending}
        counts = Counter(name.casefold() for name in wanted.values())
        for video, name in wanted.items():
            if counts[name.casefold()] == 1 and name.casefold() not in taken:
                names[video] = name
        taken.update(names[video].casefold() for video in pending if video in names)
        pending = [video for video in pending if video not in names]
    for video in sorted(pending, key=lambda v: v.path.as_posix()):
        names[video] = _numbered(_flat(video.path.as_posix()), taken)
    return names


def _numbered(stem: str, taken: set[str]) -> str:
    number = 2
    while f"{stem}~{number}{SUFFIX}".casefold() in taken:
        number += 1
    taken.add(f"{stem}~{number}{SUFFIX}".casefold())
    return f"{stem}~{number}{SUFFIX}"
