"""Test videos made with PyAV: small, fast to write, with content a test can predict.

`make_clip` draws uniform grey frames, so the tiny brightness classifier's verdict for any
frame is known (tests/tiny_models.py). Frame i is shown at i / fps seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

DARK, BRIGHT = 20, 230


def dark_bright_dark(bright: tuple[float, float] = (2.0, 4.0)) -> Callable[[float], int]:
    """Grey level at time t: bright inside [start, end), dark elsewhere."""
    return lambda t: BRIGHT if bright[0] <= t < bright[1] else DARK


def make_clip(path: Path, seconds: float = 6, fps: int = 10, size: int = 64,
              gray: Callable[[float], int] | None = None, codec: str = "libx264") -> Path:
    """An H.264 (B-frames and all) clip of uniform frames whose grey level is gray(t)."""
    import av
    import numpy as np

    gray = gray or dark_bright_dark()
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "10"} if codec == "libx264" else {}
        for index in range(round(seconds * fps)):
            image = np.full((size, size, 3), gray(index / fps), np.uint8)
            _mux(container, stream, av.VideoFrame.from_ndarray(image, format="rgb24"))
        _mux(container, stream, None)
    return path


def make_audio_only(path: Path, seconds: float = 1.0) -> Path:
    """An AAC file: a real media file, but nothing to look at."""
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        for index in range(int(seconds * 44100 / 1024)):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, index * 1024
            _mux(container, stream, frame)
        _mux(container, stream, None)
    return path


def make_zero_length(path: Path) -> Path:
    """An MP4 whose video track was opened and closed without a single frame."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        container.start_encoding()
    return path


def make_not_a_video(path: Path) -> Path:
    path.write_text("these are subtitles, not a video\n", encoding="utf-8")
    return path


def _mux(container, stream, frame) -> None:
    for packet in stream.encode(frame):
        container.mux(packet)


def make_picture_clip(path: Path, image_at: Callable[[float], object], seconds: float, fps: int = 10,
                      crf: int = 10) -> Path:
    """An H.264 clip whose frame at time t is image_at(t), an (H, W, 3) uint8 RGB array."""
    import av

    first = image_at(0.0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf)}
        for index in range(round(seconds * fps)):
            _mux(container, stream, av.VideoFrame.from_ndarray(image_at(index / fps), format="rgb24"))
        _mux(container, stream, None)
    return path
