"""One handler per input stream: what happens to its packets on the way to the output.

    CensoredVideo  the video stream the report is about: decode, censor or cut, encode H.264
    EditedAudio    an audio stream to mute, bleep or cut: decode, edit, encode AAC
    CopiedStream   everything else (and audio that stays as it is): packets copied untouched,
                   only re-timed and thinned by `cut`

Every handler takes `feed(packet)` in the container's order and `flush()` at the end, and
writes through `Output.encode` / `Output.mux`, which turn FFmpeg's failures into our
errors. Times are seconds from the start of the video stream (the report's clock), through
`Clock`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from video_censor_personal.analysis.frames import frame_length
from video_censor_personal.censoring.audio_effects import censor_samples, in_ranges, sample_times
from video_censor_personal.censoring.plan import Cuts, Timeline
from video_censor_personal.censoring.video_effects import WORKING_FORMATS, censor_frame
from video_censor_personal.errors import MediaError

VIDEO_CODEC, AUDIO_CODEC = "libx264", "aac"
# x264 at crf 18 is visually lossless (PSNR above 40 dB on the tests' clips); `veryfast` is
# what keeps a 720p30 film at about 2x real time on two cores shared with other work
# (benchmarks/censor_bench.py): the encoder is three quarters of the CPU time.
VIDEO_OPTIONS = {"crf": "18", "preset": "veryfast"}
AUDIO_BIT_RATE = 96_000  # per channel, when the input does not say: transparent AAC
AUDIO_BIT_RATE_MAX = 160_000  # per channel: AAC's useful top (PCM input says 705 kbit/s per channel)
# Standard layouts by channel count, for audio whose channels are not named (PCM in Matroska):
# the AAC encoder needs named channels.
DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
DEFAULT_RATE = 25  # frames per second, for frames without a duration in a stream without a rate
JITTER = 2  # samples: closer than this to the running position, an audio frame is contiguous


@dataclass(frozen=True)
class Clock:
    """Report time for stream timestamps, and the output timestamps once `cut` removed time."""

    origin: float  # seconds: the video stream's first timestamp
    cuts: Cuts | None = None

    def seconds(self, pts: int, time_base: Fraction) -> float:
        return float(pts * time_base) - self.origin

    def removed(self, pts: int, time_base: Fraction) -> bool:
        return self.cuts is not None and self.cuts.removes(self.seconds(pts, time_base))

    def shifted(self, pts: int | None, time_base: Fraction) -> int | None:
        """`pts` moved earlier by the time cut out before it (None stays None)."""
        if pts is None or self.cuts is None:
            return pts
        time = self.seconds(pts, time_base)
        return pts - round((time - self.cuts.output_time(time)) / time_base)


class CensoredVideo:
    """The analysed video stream: each frame censored where the plan says, or cut, then H.264."""

    def __init__(self, source, output, clock: Clock, timeline: Timeline | None, effect: str, on_position,
                 rotation: float = 0):
        self.source, self.output, self.clock = source, output, clock
        self.timeline, self.effect, self.on_position = timeline, effect, on_position
        source.thread_type = "AUTO"  # frame and slice threads: decoding overlaps the encoder's threads
        self.stream = output.add_stream(VIDEO_CODEC, source, _encoder_settings(source))
        if rotation:
            self.stream.set_display_rotation(rotation)  # a phone's portrait video stays upright
        self.last_pts: int | None = None

    def feed(self, packet) -> None:
        for frame in decode(self.source, packet, self.output.video_path):
            self._write(frame)

    def flush(self) -> None:
        self.feed(None)
        self.output.encode(self.stream, None)

    def _write(self, frame) -> None:
        if frame.pts is None or self.clock.removed(frame.pts, frame.time_base):
            return
        start = self.clock.seconds(frame.pts, frame.time_base)
        end = start + frame_length(frame, self.source, DEFAULT_RATE)
        action = self.timeline.at(start, end) if self.timeline is not None else None
        edited = censor_frame(frame, action.regions, self.effect) if action else frame
        edited.pts = self._next_pts(self.clock.shifted(frame.pts, frame.time_base))
        edited.pict_type = 0  # NONE: a decoded I/P/B type would force x264's choice of frame type
        self.output.encode(self.stream, edited)
        self.on_position(end)

    def _next_pts(self, pts: int) -> int:
        """H.264 needs rising timestamps; a damaged file's repeated one moves up a tick."""
        if self.last_pts is not None and pts <= self.last_pts:
            pts = self.last_pts + 1
        self.last_pts = pts
        return pts


def _encoder_settings(source) -> dict:
    codec = source.codec_context
    pix_fmt = codec.pix_fmt if codec.pix_fmt in WORKING_FORMATS else "yuv420p"
    return {"width": codec.width, "height": codec.height, "pix_fmt": pix_fmt, "time_base": source.time_base,
            "rate": source.average_rate or source.guessed_rate, "options": dict(VIDEO_OPTIONS),
            "color_range": codec.color_range, "colorspace": codec.colorspace,
            "color_primaries": codec.color_primaries, "color_trc": codec.color_trc,
            "sample_aspect_ratio": codec.sample_aspect_ratio}


class EditedAudio:
    """An audio stream whose flagged samples are muted or bleeped, or cut out, then AAC."""

    def __init__(self, source, output, clock: Clock, ranges, effect: str):
        self.source, self.output, self.clock = source, output, clock
        self.ranges, self.effect = ranges, effect
        codec = source.codec_context
        self.rate, self.layout = codec.sample_rate, _named_layout(codec.layout)
        per_channel = codec.bit_rate / codec.channels if codec.bit_rate else AUDIO_BIT_RATE
        bit_rate = int(min(per_channel, AUDIO_BIT_RATE_MAX) * codec.channels)
        self.stream = output.add_stream(AUDIO_CODEC, source, {"rate": self.rate, "layout": self.layout,
                                                              "bit_rate": bit_rate})
        self.resampler = None  # to planar float when the decoder gives another format
        self.end = _stream_end(source, clock)
        self.next_pts: int | None = None

    def feed(self, packet) -> None:
        for frame in decode(self.source, packet, self.output.video_path):
            for planar in self._planar(frame):
                self._write(planar)

    def flush(self) -> None:
        self.feed(None)
        self.output.encode(self.stream, None)

    def _planar(self, frame) -> list:
        if frame.format.name == "fltp" or frame.pts is None:
            return [frame] if frame.pts is not None else []
        if self.resampler is None:
            import av

            self.resampler = av.AudioResampler(format="fltp", layout=self.layout, rate=self.rate)
        return self.resampler.resample(frame)

    def _write(self, frame) -> None:
        import av
        import numpy

        samples = frame.to_ndarray()
        times = sample_times(self.clock.seconds(frame.pts, frame.time_base), samples.shape[1], self.rate)
        censor_samples(samples, times, self.ranges, self.effect)
        kept = times < self.end  # the decoder's last frame runs on past the stream's end: padding
        if self.clock.cuts is not None:
            kept &= ~in_ranges(times, self.clock.cuts.ranges)
        if not kept.any():
            return
        if not kept.all():
            samples, times = samples[:, kept], times[kept]
        edited = av.AudioFrame.from_ndarray(numpy.ascontiguousarray(samples), format="fltp", layout=self.layout)
        edited.sample_rate, edited.time_base = self.rate, Fraction(1, self.rate)
        edited.pts = self._contiguous(self._output_pts(times[0]), samples.shape[1])
        self.output.encode(self.stream, edited)

    def _output_pts(self, time: float) -> int:
        if self.clock.cuts is not None:
            time = self.clock.cuts.output_time(time)
        return round((time + self.clock.origin) * self.rate)

    def _contiguous(self, pts: int, samples: int) -> int:
        """Rounding must not open one-sample gaps: near the running position, take it."""
        if self.next_pts is not None and abs(pts - self.next_pts) <= JITTER:
            pts = self.next_pts
        self.next_pts = pts + samples
        return pts


def _named_layout(layout) -> str:
    if any(channel.name == "NONE" for channel in layout.channels):
        return DEFAULT_LAYOUTS.get(layout.nb_channels, layout.name)
    return layout.name


def _stream_end(stream, clock: Clock) -> float:
    """When the stream ends on the report's clock (infinity when the container does not say)."""
    if stream.duration is None or stream.time_base is None:
        return float("inf")
    return clock.seconds((stream.start_time or 0) + stream.duration, stream.time_base)


class CopiedStream:
    """A stream passed through as it is; `cut` drops its packets in removed time and re-times the rest."""

    def __init__(self, source, output, clock: Clock):
        self.source, self.output, self.clock = source, output, clock
        self.stream = output.copy_stream(source)

    def feed(self, packet) -> None:
        if self.stream is None or (packet.pts is None and packet.dts is None):
            return  # a stream the output cannot hold, or the demuxer's end-of-stream marker
        time_base = packet.time_base
        if self.clock.removed(packet.pts if packet.pts is not None else packet.dts, time_base):
            return
        packet.pts, packet.dts = self.clock.shifted(packet.pts, time_base), self.clock.shifted(packet.dts, time_base)
        packet.stream = self.stream
        self.output.mux([packet])

    def flush(self) -> None:
        pass


def decode(stream, packet, path: Path) -> list:
    """Decoded frames of one packet (None flushes); a damaged file is a MediaError naming it."""
    import av

    try:
        return stream.decode(packet)
    except av.error.EOFError:
        return []  # flushed already: the demuxer's end-of-stream packet did it
    except av.error.FFmpegError as exc:
        raise MediaError(f"cannot read video {path}: decoding failed ({exc})") from None
