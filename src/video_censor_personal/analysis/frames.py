"""Frames of a video, sampled in time: the only module that decodes video (PyAV).

Sampling rule (DESIGN.md, Precise rules, Analysis): the sample at time t is the first
decoded frame whose timestamp is at or after t, for t = 0, 1/fps, 2/fps, ... Timestamps
count from the start of the video stream, so a stream whose first frame is stamped 1.4 s
(MPEG-TS, edited MP4) still has a sample at t = 0. Times are exact fractions: 1/3 s and a
frame stamped 1/3 s must compare equal, which floats do not promise.

Why it is fast enough to run many times faster than real time:

- only sampled frames are converted to RGB, straight to the size a model wants (swscale
  scales and converts in one pass); the others stay in the decoder's YUV;
- a frame that cannot be a sample (no t between the previous frame's timestamp and its own)
  is not decoded at all when the codec can drop it (`skip_frame = NONREF`: frames no other
  frame refers to). Reference frames are always decoded, so every sample is bit-identical
  to a full decode; only the work nobody looks at is skipped.

Every way a file can fail to be a video becomes a MediaError (exit 2) naming the file.
av and numpy are imported inside functions: the CLI imports this module lazily anyway, but
`video-censor --help` must never pay for them.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from video_censor_personal.analysis import threads
from video_censor_personal.errors import MediaError

# How many recent packet timestamps to remember for "the previous frame" (enough for any
# B-frame reordering depth; a forgotten one only makes the skip test more cautious).
_HISTORY = 64
# swscale's area filter: the closest to the antialiased bilinear resize (PIL) that image
# models are trained with, and cheap (about 1.5 ms for 720p -> 224x224).
_INTERPOLATION = "AREA"


@dataclass(frozen=True)
class VideoInfo:
    """What a cheap probe (container header, no decoding) says about a video."""

    path: Path
    duration: float | None  # seconds; None when the container does not say
    width: int
    height: int


class Sample:
    """The frame chosen for sample `index` (time index/fps), converted only on demand.

    One decoded frame can serve several samples (a 1 fps video sampled at 2 fps), and
    several models may want different sizes: conversions are cached per size.
    """

    __slots__ = ("index", "time", "frame", "_rgb")

    def __init__(self, index: int, time: float, frame):
        self.index, self.time, self.frame = index, time, frame
        self._rgb: dict[tuple[int, int], object] = {}

    def rgb(self, width: int, height: int):
        """The frame as a (height, width, 3) uint8 RGB array."""
        key = (width, height)
        if key not in self._rgb:
            if self.frame is None:
                raise ValueError(f"sample {self.index} was detached without size {width}x{height}")
            self._rgb[key] = self.frame.to_ndarray(
                format="rgb24", width=width, height=height, interpolation=_INTERPOLATION
            )
        return self._rgb[key]

    def detach(self, sizes) -> Sample:
        """Convert to every (width, height) in `sizes` now and let the decoded frame go.

        A waiting 4K frame holds 12 MB; its 224x224 RGB copy holds 150 kB.
        """
        for width, height in sizes:
            self.rgb(width, height)
        self.frame = None
        return self


def probe(path: Path) -> VideoInfo:
    """Open the container, find the video stream and its duration; MediaError if unusable."""
    with open_video(path) as container:
        stream = _video_stream(container, path)
        duration = stream_duration(container, stream)
        if duration is not None and duration <= 0:
            raise MediaError(f"cannot read video {path}: it is zero-length (no frames)")
        return VideoInfo(path, duration, stream.codec_context.width, stream.codec_context.height)


def open_video(path: Path):
    """av.open with every failure turned into one clear MediaError line."""
    import av

    if not path.exists():
        raise MediaError(f"cannot read video {path}: file not found")
    if not path.is_file():
        raise MediaError(f"cannot read video {path}: not a file")
    if path.stat().st_size == 0:
        raise MediaError(f"cannot read video {path}: the file is empty (zero length)")
    try:
        return av.open(str(path), mode="r")
    except av.error.EOFError:
        raise MediaError(f"cannot read video {path}: it holds no frames (zero length)") from None
    except (av.error.FFmpegError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MediaError(f"cannot read video {path}: not a video file ({reason})") from None


def _video_stream(container, path: Path):
    if container.streams.video:
        return container.streams.video[0]
    if container.streams.audio:
        raise MediaError(f"cannot read video {path}: it has no video stream (only audio)")
    raise MediaError(f"cannot read video {path}: it has no video stream (empty or zero length)")


def stream_duration(container, stream) -> float | None:
    """The video stream's own duration, else the container's, in seconds."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # AV_TIME_BASE
    return None


def sample_times(fps: float) -> Iterator[Fraction]:
    """t = 0, 1/fps, 2/fps, ... as exact fractions."""
    step = 1 / Fraction(fps)
    index = 0
    while True:
        yield index * step
        index += 1


class FrameSampler:
    """Decodes one video and yields its samples in time order.

    After iteration, `end` is the end of the last decoded frame (seconds), the fallback
    duration for containers that do not state one.
    """

    def __init__(self, path: Path, fps: float, on_position: Callable[[float], None] | None = None):
        if not fps > 0:
            raise ValueError("fps must be positive")
        self.path, self.fps = path, Fraction(fps)
        self.on_position = on_position or (lambda seconds: None)
        self.end = 0.0
        self._seen: list[int] = []  # recent packet timestamps, sorted

    def __iter__(self) -> Iterator[Sample]:
        with open_video(self.path) as container:
            stream = _video_stream(container, self.path)
            stream.thread_type = "AUTO"
            # FFmpeg's default (one frame thread per core) leaves cores idle while frames wait
            # on their references; three per core kept both busy here: 720p H.264, 60 s,
            # 3.1 s -> 2.4 s of decoding (benchmarks/analysis_bench.py).
            stream.thread_count = 3 * threads.cores()
            yield from self._samples(container, stream, _Clock(self.fps, stream))

    def _samples(self, container, stream, clock: _Clock) -> Iterator[Sample]:
        index, decoded = 0, 0
        for frame in self._decode(container, stream, clock):
            decoded += 1
            self.end = max(self.end, clock.seconds(frame.pts) + _frame_length(frame, stream))
            while index < clock.samples_until(frame.pts):
                yield Sample(index, index / float(self.fps), frame)
                index += 1
            self.on_position(clock.seconds(frame.pts))
        if decoded == 0:
            raise MediaError(f"cannot read video {self.path}: it holds no frames (zero length)")

    def _decode(self, container, stream, clock: _Clock):
        """Decoded frames in presentation order, dropping droppable frames that no sample needs."""
        import av

        codec = stream.codec_context
        try:
            for packet in container.demux(stream):
                wanted = packet.pts is None or self._may_be_sample(packet.pts, clock)
                codec.skip_frame = "DEFAULT" if wanted else "NONREF"
                yield from (frame for frame in codec.decode(packet) if frame.pts is not None)
        except av.error.FFmpegError as exc:
            raise MediaError(f"cannot read video {self.path}: decoding failed ({exc})") from None

    def _may_be_sample(self, pts: int, clock: _Clock) -> bool:
        """Whether some t lies in (previous frame's time, this frame's time].

        "Previous" is taken among packets seen so far; one not yet seen (B-frame reordering)
        can only make the interval wider, so a needed frame is never skipped.
        """
        position = bisect.bisect_left(self._seen, pts)
        before = clock.samples_until(self._seen[position - 1]) if position else 0
        self._seen.insert(position, pts)
        if len(self._seen) > _HISTORY:
            del self._seen[0]
        return clock.samples_until(pts) > before


class _Clock:
    """Sample times in the stream's own integer timestamps: exact, and cheap per packet.

    t = k / fps is at or before timestamp pts when k <= (pts - origin) * time_base * fps.
    """

    def __init__(self, fps: Fraction, stream):
        time_base = Fraction(stream.time_base)
        self.origin = stream.start_time or 0
        self.numerator = fps.numerator * time_base.numerator
        self.denominator = fps.denominator * time_base.denominator
        self.tick = float(time_base)

    def samples_until(self, pts: int) -> int:
        """How many sample times t = 0, 1/fps, 2/fps, ... are at or before `pts`."""
        ticks = pts - self.origin
        return ticks * self.numerator // self.denominator + 1 if ticks >= 0 else 0

    def seconds(self, pts: int) -> float:
        return (pts - self.origin) * self.tick


def _frame_length(frame, stream) -> float:
    """How long one frame is shown: its own duration, else one period of the stream's rate."""
    if getattr(frame, "duration", None) and frame.time_base:
        return float(frame.duration * frame.time_base)
    rate = stream.average_rate or stream.guessed_rate
    return 1 / float(rate) if rate else 0.0
