"""Which videos a library run analyses: the files named, and the videos found in the folders named.

A file named on the command line is analysed whatever it is called: the user chose it, and
if it is no video its report says so. A folder is searched, recursively and in sorted
order, and a file in it is a video when FFmpeg finds a moving picture in it (container
probing: a video stream that is not cover art, in a container that is not a still image),
or when its extension says video (so a damaged `.mp4` is reported as a failure, not
silently passed over). Probing reads only the container's header, so a folder of
subtitles, pictures and music costs little.

Passed over in folders: hidden files and folders (`.name`), partial downloads (browsers',
download managers' and torrent clients' suffixes), and symlinked folders (a link back up
the tree would never end). The same file reached twice is analysed once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from video_censor_personal.errors import MediaError, UsageError

# What browsers, download managers and torrent clients call a file they are still writing,
# and aria2's control file, which sits beside a partial download that has its final name.
PARTIAL_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".opdownload", ".tmp", ".temp",
                    ".!qb", ".!ut", ".!bt", ".aria2", ".ytdl")
# Extensions that mean video whatever the header says: a damaged file with one of these is
# reported as a failed video instead of being passed over as "not a video".
VIDEO_EXTENSIONS = frozenset(("3gp", "asf", "avi", "divx", "f4v", "flv", "m2ts", "m2v", "m4v", "mkv", "mov",
                              "mp4", "mpeg", "mpg", "mts", "mxf", "ogv", "rm", "rmvb", "ts", "vob", "webm", "wmv"))
_ATTACHED_PIC = 0x400  # AV_DISPOSITION_ATTACHED_PIC: an album cover, not a moving picture


@dataclass(frozen=True)
class Video:
    """One video to analyse.

    `path` is as the user would write it (the folder given joined with the path found in
    it): reports and messages show it. `relative` is its path inside the folder given (a
    file given alone: its name), which names its report when file names clash.
    """

    path: Path
    relative: PurePosixPath

    @property
    def absolute(self) -> Path:
        """What a worker opens: a worker process or a cluster node has another working directory."""
        return Path(os.path.abspath(self.path))


@dataclass
class Found:
    """The videos found, in order, and what could not be searched: (path as given, error)."""

    videos: list[Video] = field(default_factory=list)
    problems: list[tuple[str, UsageError]] = field(default_factory=list)


def find_videos(arguments: list[Path]) -> Found:
    """The videos of every argument, in the order given (a folder's in sorted order), once each."""
    found, seen = Found(), set()
    for argument in arguments:
        for video in _videos_of(argument, found):
            key = os.path.realpath(video.path)
            if key not in seen:
                seen.add(key)
                found.videos.append(video)
    return found


def _videos_of(argument: Path, found: Found):
    if argument.is_dir():
        yield from sorted(_search(argument, found), key=lambda video: video.relative.parts)
    elif argument.exists():
        yield Video(argument, PurePosixPath(argument.name))
    else:
        found.problems.append((str(argument), MediaError(f"cannot read video {argument}: file not found")))


def _search(folder: Path, found: Found):
    def unreadable(error: OSError) -> None:
        found.problems.append((error.filename, UsageError(f"cannot search folder {error.filename}: {error.strerror}",
                                                          hint="make it readable, or name the videos inside it")))

    for directory, folders, files in os.walk(folder, onerror=unreadable):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in sorted(files):
            path = Path(directory, name)
            if is_candidate(name) and is_video(path):
                yield Video(path, PurePosixPath(path.relative_to(folder).as_posix()))


def is_candidate(name: str) -> bool:
    """Not hidden and not a partial download: worth probing."""
    return not name.startswith(".") and not name.lower().endswith(PARTIAL_SUFFIXES)


def is_video(path: Path) -> bool:
    """A video by its extension, or by what FFmpeg finds in its header."""
    return path.suffix.lower().lstrip(".") in VIDEO_EXTENSIONS or has_moving_picture(path)


def has_moving_picture(path: Path) -> bool:
    """Whether the container holds a video stream that is neither a still image nor cover art."""
    import av

    try:
        with av.open(str(path), mode="r") as container:
            name = container.format.name
            if name == "image2" or name.endswith("_pipe"):  # JPEG, PNG, WebP, BMP... stills
                return False
            return any(not int(getattr(s, "disposition", 0)) & _ATTACHED_PIC for s in container.streams.video)
    except (av.error.FFmpegError, OSError, UnicodeError, ValueError):
        return False
