"""Frames of a video, sampled in time: the only module that decodes video (PyAV).

Sampling rule (DESIGN.md, Precise rules, Analysis): the sample at time t is the first
decoded frame whose timestamp is at or after t, for t = 0, 1/fps, 2/fps, ...; a frame that
is the sample of several t is yielded once, with its own timestamp. Timestamps
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
    """One sampled frame, converted only on demand.

    `index` counts sampled frames (0, 1, 2, ...). One decoded frame can stand for several
    sample times (a 1 fps video sampled at 2 fps, or `--fps` above the frame rate): it is
    still one Sample, run through the models once. `time` is the frame's own timestamp and
    `end` the time the next frame is shown (time plus the frame's length), both in seconds
    from the start of the stream: segments are made of these, never of nominal sample
    times. Several models may want different sizes: conversions are cached per size.
    """

    __slots__ = ("index", "time", "end", "width", "height", "frame", "_rgb", "_prepared")

    def __init__(self, index: int, time: float, frame, end: float | None = None):
        self.index, self.time, self.frame = index, time, frame
        self.end = time if end is None else end
        self.width, self.height = (frame.width, frame.height) if frame is not None else (0, 0)
        self._rgb: dict[tuple[int, int], object] = {}
        self._prepared: dict[object, object] = {}

    def rgb(self, width: int, height: int, smooth: bool = False):
        """The frame as a (height, width, 3) uint8 RGB array.

        By default swscale's area filter scales straight from the decoder's YUV. `smooth`
        converts to RGB at full size first, then scales with swscale's bilinear filter (a
        triangle widened when shrinking): about 0.1 of 255 from PIL's resize(BILINEAR) on
        photographs, for models whose reference code resizes with PIL (preprocess.py).
        """
        key = (width, height, smooth)
        if key not in self._rgb:
            if self.frame is None:
                raise ValueError(f"sample {self.index} was detached without size {width}x{height}")
            self._rgb[key] = self._smooth(width, height) if smooth else self.frame.to_ndarray(
                format="rgb24", width=width, height=height, interpolation=_INTERPOLATION
            )
        return self._rgb[key]

    def _smooth(self, width: int, height: int):
        import av

        full = av.VideoFrame.from_ndarray(self.rgb(self.width, self.height), format="rgb24")
        return full.reformat(width=width, height=height, interpolation="BILINEAR").to_ndarray()

    def prepared(self, key, make: Callable[[Sample], object]):
        """What `make(self)` returns (a model's input image), made once per key."""
        if key not in self._prepared:
            if self.frame is None:
                raise ValueError(f"sample {self.index} was detached without {key}")
            self._prepared[key] = make(self)
        return self._prepared[key]

    def detach(self, preparations: dict) -> Sample:
        """Make every {key: make} input now and let the decoded frame and its RGB copies go.

        A waiting 4K frame holds 12 MB; a model's 224x224 input image holds 150 kB.
        """
        for key, make in preparations.items():
            self.prepared(key, make)
        self.frame = None
        self._rgb.clear()
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


class FrameSampler:
    """Decodes one video and yields its samples in time order.

    After iteration, `end` is the end of the last decoded frame (seconds), the fallback
    duration for containers that do not state one, and `timeline` holds (time, end) of
    every sampled frame by index: what segments are cut from.
    """

    def __init__(self, path: Path, fps: float, on_position: Callable[[float], None] | None = None):
        if not fps > 0:
            raise ValueError("fps must be positive")
        self.path, self.fps = path, Fraction(fps)
        self.on_position = on_position or (lambda seconds: None)
        self.end = 0.0
        self.timeline: list[tuple[float, float]] = []
        self._seen: list[int] = []  # recent packet timestamps, sorted

    def __iter__(self) -> Iterator[Sample]:
        with open_video(self.path) as container:
            stream = _video_stream(container, self.path)
            stream.thread_type = "AUTO"
            stream.thread_count = threads.decoder_threads()
            yield from self._samples(container, stream, _Clock(self.fps, stream))

    def _samples(self, container, stream, clock: _Clock) -> Iterator[Sample]:
        taken, sampled, decoded = 0, 0, 0  # sample times taken, frames yielded, frames decoded
        for frame in self._decode(container, stream, clock):
            decoded += 1
            time = clock.seconds(frame.pts)
            end = time + frame_length(frame, stream)
            self.end = max(self.end, end)
            if taken < clock.samples_until(frame.pts):  # some t in (previous frame, this frame]
                taken = clock.samples_until(frame.pts)
                self.timeline.append((time, end))
                yield Sample(sampled, time, frame, end)
                sampled += 1
            self.on_position(time)
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


def frame_length(frame, stream, default_rate: float | None = None) -> float:
    """How long a frame (or its packet) is shown: its own duration, else one period of the
    stream's rate, else of `default_rate`, else 0."""
    if getattr(frame, "duration", None) and frame.time_base:
        return float(frame.duration * frame.time_base)
    rate = stream.average_rate or stream.guessed_rate or default_rate
    return 1 / float(rate) if rate else 0.0
