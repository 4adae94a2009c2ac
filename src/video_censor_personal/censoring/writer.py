"""`censor`: a censored copy of a video, complete or not at all.

    probe VIDEO, check OUT, check the report fits  (cheap: before any decoding)
    plan (and, for `cut`, the frame times from the packets, so cuts fall on frame boundaries)
    temp file beside OUT  <--  demux every stream once, each through its track (tracks.py)
    close (trailer), fsync, rename over OUT

The output is written to a hidden `.OUT.XXXX.part.EXT` in OUT's directory (same file
system, so the rename is atomic; same extension, so FFmpeg picks the same container) and
renamed only when the container is closed: a failure, a full disk or Ctrl-C removes the
temp file and leaves OUT as it was. FFmpeg's errors are turned into ours here: reading
into MediaError (exit 2), writing into UsageError (exit 2) or DiskSpaceError (exit 4).

Streams: the analysed video stream (the first) is decoded, censored and encoded as H.264;
audio streams are copied untouched unless they are muted, bleeped or cut (then AAC, at the
input's sample rate, layout and bit rate); every other stream (subtitles, more video,
data, attachments) is copied packet for packet. Container and stream metadata, stream
dispositions and the video's rotation are kept.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from video_censor_personal.analysis import frames
from video_censor_personal.atomic import NEW_FILE_MODE
from video_censor_personal.censoring.plan import CensorPlan, Cuts, plan, snap_to_frames
from video_censor_personal.censoring.report_reader import FlaggedVideo
from video_censor_personal.censoring.tracks import DEFAULT_RATE, CensoredVideo, Clock, CopiedStream, EditedAudio, decode
from video_censor_personal.errors import DiskSpaceError, MediaError, UsageError

OUTPUT_HINT = "name the output .mp4, .mkv or .mov"
# Tags that describe the old encoding of a stream that is encoded again: stale once it is.
STALE_TAGS = {"encoder", "bps", "duration", "number_of_frames", "number_of_bytes"}  # any case
CODEC_NAMES = {"libx264": "H.264", "aac": "AAC"}  # as people know them
DURATION_SLACK = 0.5  # seconds: a report whose duration differs more is another video's


@dataclass(frozen=True)
class CensorRequest:
    video: Path
    output: Path
    video_effect: str = "blur"  # blur | black | pixelate | cut
    audio_effect: str = "keep"  # keep | mute | bleep


@dataclass(frozen=True)
class CensorResult:
    duration: float  # of the input, seconds
    output_duration: float
    censored: float  # seconds flagged (cut: removed)
    elapsed: float  # wall seconds, for "times real time"
    warnings: tuple[str, ...] = ()


def check_output(video: Path, output: Path) -> None:
    """Fail before a long analysis, not after it, when OUT cannot be written."""
    if not output.parent.is_dir():
        raise UsageError(f"cannot write {output}: directory {output.parent} does not exist")
    if output.is_dir():
        raise UsageError(f"cannot write {output}: it is a directory", hint="give a file name, e.g. -o out.mp4")
    if output.exists() and video.exists() and output.samefile(video):
        raise UsageError(f"cannot write {output}: it is the input video",
                         hint="write the censored copy to another file; the original is never overwritten")


def censor_video(request: CensorRequest, flagged: FlaggedVideo, report_name: str,
                 on_position: Callable[[float], None] | None = None) -> CensorResult:
    """Write the censored copy of request.video to request.output; see the module docstring."""
    started = time.perf_counter()
    info = frames.probe(request.video)
    check_output(request.video, request.output)
    duration = info.duration if info.duration is not None else (flagged.duration or 0.0)
    _check_report_fits(flagged, duration, report_name, request.video)
    censor_plan = plan(flagged, duration)
    cutting = request.video_effect == "cut" and censor_plan.ranges
    cuts = Cuts(snap_to_frames(censor_plan.ranges, *_frame_times(request.video))) if cutting else None
    with complete_or_nothing(request.output) as partial:
        warnings = _write(request, partial, censor_plan, cuts, on_position or (lambda seconds: None))
    removed = cuts.total if cuts is not None else 0.0
    return CensorResult(duration, duration - removed, removed if cuts is not None else censor_plan.censored_seconds,
                        time.perf_counter() - started, tuple(warnings))


def _check_report_fits(flagged: FlaggedVideo, duration: float, report_name: str, video: Path) -> None:
    if flagged.duration is not None and duration and abs(flagged.duration - duration) > DURATION_SLACK:
        raise UsageError(
            f"{report_name} is the report of another video: it says {flagged.duration:.1f} s, "
            f"{video} lasts {duration:.1f} s",
            hint=f"leave out --report to analyse {video}, or run `video-censor analyze {video} -o REPORT.json`",
        )


def _frame_times(video: Path) -> tuple[list[float], float]:
    """Start of every frame of the video stream (from packets: no decoding), and when the last ends."""
    starts, end = [], 0.0
    with frames.open_video(video) as container:
        stream = container.streams.video[0]
        origin = float((stream.start_time or 0) * stream.time_base)
        for packet in _demuxed(container, video, stream):
            if packet.pts is not None:
                start = float(packet.pts * packet.time_base) - origin
                starts.append(start)
                end = max(end, start + frames.frame_length(packet, stream, DEFAULT_RATE))
    return starts, end


@contextlib.contextmanager
def complete_or_nothing(path: Path) -> Iterator[Path]:
    """A temp file beside `path`, renamed over it on success and removed on any failure."""
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".part{path.suffix}", dir=path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from None
    os.close(descriptor)
    partial = Path(name)
    try:
        yield partial
        _fsync(partial)
        os.chmod(partial, stat.S_IMODE(path.stat().st_mode) if path.exists() else NEW_FILE_MODE)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write(request: CensorRequest, partial: Path, censor_plan: CensorPlan, cuts: Cuts | None,
           on_position: Callable[[float], None]) -> list[str]:
    with frames.open_video(request.video) as source, Output.open(partial, request) as output:
        video = source.streams.video[0]
        clock = Clock(float((video.start_time or 0) * video.time_base), cuts)
        output.copy_metadata(source)
        tracks = {stream.index: _track(stream, video, output, clock, censor_plan, request, on_position)
                  for stream in source.streams}
        for packet in _demuxed(source, request.video):
            tracks[packet.stream.index].feed(packet)
        for track in tracks.values():
            track.flush()
        return output.warnings


def _track(stream, video, output: Output, clock: Clock, censor_plan: CensorPlan, request: CensorRequest,
           on_position):
    """The handler for one input stream: censor it, edit it, or copy it."""
    cut = clock.cuts is not None
    if stream.index == video.index and (censor_plan.ranges or cut):
        timeline = None if cut else censor_plan.timeline()
        return CensoredVideo(stream, output, clock, timeline, request.video_effect, on_position,
                             _rotation(request.video))
    if stream.type == "audio" and censor_plan.ranges and (cut or request.audio_effect != "keep"):
        effect = "keep" if cut else request.audio_effect  # `cut` takes the flagged audio out whole
        return EditedAudio(stream, output, clock, censor_plan.ranges, effect)
    return CopiedStream(stream, output, clock)


def _rotation(video: Path) -> float:
    """The display rotation of the video's first frame: it must be in the output's header,
    which is written before the first frame is decoded in the main pass."""
    with frames.open_video(video) as container:
        stream = container.streams.video[0]
        for packet in _demuxed(container, video, stream):
            for frame in decode(stream, packet, video):
                return frame.rotation
    return 0


def _demuxed(container, path: Path, *streams) -> Iterator:
    import av

    try:
        yield from container.demux(*streams)
    except av.error.FFmpegError as exc:
        raise MediaError(f"cannot read video {path}: reading failed ({exc})") from None


class Output:
    """The output container, with FFmpeg's refusals and write failures turned into our errors."""

    def __init__(self, container, path: Path, video_path: Path):
        self.container, self.path, self.video_path = container, path, video_path
        self.warnings: list[str] = []

    @classmethod
    @contextlib.contextmanager
    def open(cls, partial: Path, request: CensorRequest) -> Iterator[Output]:
        import av

        try:
            container = av.open(str(partial), "w")
        except ValueError:
            raise UsageError(f"cannot write {request.output}: FFmpeg knows no container format for the "
                             f"extension {request.output.suffix!r}", hint=OUTPUT_HINT) from None
        output = cls(container, request.output, request.video)
        try:
            yield output
        except BaseException:
            with contextlib.suppress(Exception):
                container.close()
            raise
        output.close()

    def close(self) -> None:
        with self._writing():
            self.container.close()

    def add_stream(self, codec: str, source, settings: dict):
        """A stream encoded with `codec`, set up from `settings`, with the source's metadata."""
        settings = dict(settings)
        try:
            stream = self.container.add_stream(codec, rate=settings.pop("rate"))
        except ValueError:
            raise UsageError(f"cannot write {self.path}: a {self.path.suffix} file cannot hold "
                             f"{CODEC_NAMES.get(codec, codec)} {source.type}", hint=OUTPUT_HINT) from None
        stream.options = settings.pop("options", {})
        if "time_base" in settings:
            stream.time_base = settings["time_base"]
        for name, value in settings.items():
            if value is not None:
                setattr(stream.codec_context, name, value)
        self._copy_stream_properties(source, stream, STALE_TAGS)
        return stream

    def copy_stream(self, source):
        """A stream whose packets are copied; None (and a warning) for data the container cannot hold.

        FFmpeg checks a codec against the container when the stream is added, except for
        streams without a codec (data, attachments): those fail only when the header is
        written, for every stream at once. So they are copied only into the same kind of
        container as they came from, where they are known to fit.
        """
        codec = source.codec_context.name if source.codec_context is not None else (source.name or source.type)
        what = f"stream #{source.index} ({source.type}, {codec})"
        left_out = f"{self.path}: a {self.path.suffix} file cannot hold {what}; it is left out"
        if source.codec_context is None and self.container.format.name not in source.container.format.name.split(","):
            self.warnings.append(left_out)
            return None
        try:
            stream = self.container.add_stream_from_template(source)
        except ValueError:
            if source.type in ("data", "attachment"):
                self.warnings.append(left_out)
                return None
            raise UsageError(f"cannot write {self.path}: a {self.path.suffix} file cannot hold {what}",
                             hint="write to a .mkv file: Matroska holds every kind of stream") from None
        self._copy_stream_properties(source, stream, set())
        return stream

    @staticmethod
    def _copy_stream_properties(source, stream, dropped: set[str]) -> None:
        stream.metadata.update({key: value for key, value in source.metadata.items() if key.lower() not in dropped})
        stream.disposition = source.disposition

    def copy_metadata(self, source) -> None:
        self.container.metadata.update({key: value for key, value in source.metadata.items()
                                        if key.lower() != "encoder"})

    def mux(self, packets) -> None:
        with self._writing():
            self.container.mux(packets)

    def encode(self, stream, frame) -> None:
        """Encode one frame (None: flush the encoder) and write what comes out."""
        with self._writing():
            self.container.mux(stream.encode(frame))

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        import av

        try:
            yield
        except (av.error.FFmpegError, OSError) as exc:
            raise _write_error(self.path, exc) from None


def _write_error(path: Path, exc: Exception) -> Exception:
    """A failed write: a full disk is exit 4 (as for downloads), anything else exit 2."""
    if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return DiskSpaceError(f"cannot write {path}: the disk is full",
                              hint="free some space, or write the censored copy to another disk")
    reason = getattr(exc, "strerror", None) or str(exc)
    return UsageError(f"cannot write {path}: {reason}")
