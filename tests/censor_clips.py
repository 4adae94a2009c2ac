"""Clips for the `censor` tests, and the measurements that judge its output.

A clip is small (160x120, 10 fps, a few seconds) and made so that each property the tests
check can be read back from the decoded output alone:

- the picture is a fine grey sinusoidal grating (lots of high-frequency energy, which blur
  and pixelate must remove), drifting one pixel per frame, above a band whose grey level
  is the frame's index, so a test can tell which input frame an output frame came from;
- the audio is a tone whose pitch changes every second (300, 500, 700, 900 Hz, ...), never
  1 kHz, so a bleep and the audio's position in time (sync after `cut`) can be heard back.

The input is encoded with x264 at crf 4, so its decoded frames are the reference that the
output's untouched parts are compared with (PSNR).
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

WIDTH, HEIGHT, FPS, RATE = 160, 120, 10, 48000
BAND = 16  # rows at the bottom whose grey level tells the frame's index, readable after encoding
INDEX_BASE, INDEX_STEP = 10, 5


def pitch(second: int) -> float:
    """The tone's frequency during second `second` of the clip: 300, 500, 700, 900, 1100, ..."""
    return 300.0 + 200.0 * second


def make_clip(path: Path, seconds: float = 4.0, subtitles: bool = False, rotation: int = 0,
              pix_fmt: str = "yuv420p", audio_codec: str = "aac") -> Path:
    """The clip described above, with a stereo audio track (and a SubRip track, for .mkv)."""
    import av

    with av.open(str(path), "w") as container:
        container.metadata["title"] = "test clip"
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, pix_fmt
        video.options = {"crf": "4"}
        video.metadata["language"] = "eng"
        if rotation:
            video.set_display_rotation(rotation)
        audio = container.add_stream(audio_codec, rate=RATE, layout="stereo")
        audio.metadata["language"] = "fra"
        subtitle = container.add_mux_stream("subrip") if subtitles else None
        frames = round(seconds * FPS)
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(picture(index), format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            container.mux(video.encode(frame))
            if subtitle is not None and index % FPS == 0:
                container.mux(_subtitle_packet(subtitle, index // FPS))
        _write_tone(container, audio, seconds)
        container.mux(video.encode(None))
    return path


def workdir_with(directory: Path, monkeypatch, clip: bytes, report: dict) -> Path:
    """`directory` as the current directory, holding clip.mp4 and its report.json."""
    (directory / "clip.mp4").write_bytes(clip)
    (directory / "report.json").write_text(json.dumps(report), encoding="utf-8")
    monkeypatch.chdir(directory)
    return directory


def picture(index: int):
    """Frame `index`: a drifting grey grating, and the index as the grey level of the bottom band."""
    import numpy as np

    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    grating = 128 + 90 * np.sin(2 * np.pi * (x + index) / 6) * np.sin(2 * np.pi * y / 7)
    grating[-BAND:] = INDEX_BASE + INDEX_STEP * index
    return np.repeat(grating.astype(np.uint8)[..., None], 3, axis=2)


def _write_tone(container, stream, seconds: float) -> None:
    import av
    import numpy as np

    total = round(seconds * RATE)
    for start in range(0, total, 1024):
        times = (start + np.arange(min(1024, total - start))) / RATE
        tone = 0.3 * np.sin(2 * np.pi * np.vectorize(pitch)(np.floor(times).astype(int)) * times)
        frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]).astype(np.float32), format="fltp",
                                           layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _subtitle_packet(stream, second: int):
    import av

    packet = av.Packet(f"second {second}".encode())
    packet.stream, packet.time_base = stream, Fraction(1, 1000)
    packet.pts = packet.dts = second * 1000
    packet.duration = 800
    return packet


def video_frames(path: Path) -> list:
    """Every frame of the first video stream as (time in seconds, RGB array), in order."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(float(frame.pts * frame.time_base), frame.to_ndarray(format="rgb24"))
                for frame in container.decode(stream)]


def audio_samples(path: Path):
    """The first audio stream decoded: (first sample's time, mono float samples)."""
    import av
    import numpy as np

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        frames = list(container.decode(stream))
    first = float(frames[0].pts * frames[0].time_base)
    return first, np.concatenate([frame.to_ndarray()[0] for frame in frames])


def psnr(a, b) -> float:
    """Peak signal-to-noise ratio of two uint8 images, in dB (inf when identical)."""
    import numpy as np

    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255 ** 2 / error)


def detail(image) -> float:
    """High-frequency energy: mean squared difference between neighbouring pixels."""
    import numpy as np

    grey = image.astype(np.float64).mean(axis=2)
    return float(np.mean(np.diff(grey, axis=0) ** 2) + np.mean(np.diff(grey, axis=1) ** 2))


def frame_index(image) -> int:
    """Which input frame an output frame shows, from the grey level of its bottom band."""
    return round((float(image[-BAND + 4:-4, 4:-4].mean()) - INDEX_BASE) / INDEX_STEP)


def dominant_frequency(samples) -> float:
    """The strongest frequency in `samples` (at RATE), in Hz."""
    import numpy as np

    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[spectrum.argmax()])


def rms(samples) -> float:
    import numpy as np

    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def make_ts_with_data(path: Path, seconds: float = 1.0) -> Path:
    """An MPEG-TS file with a video stream and a private data stream (as cameras write GPS or timecode)."""
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        data = container.add_data_stream("bin_data")
        for index in range(round(seconds * FPS)):
            frame = av.VideoFrame.from_ndarray(picture(index), format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            container.mux(video.encode(frame))
            packet = av.Packet(f"position {index}".encode())
            packet.stream, packet.time_base = data, Fraction(1, 90000)
            packet.pts = packet.dts = index * 90000 // FPS
            container.mux(packet)
        container.mux(video.encode(None))
    return path
