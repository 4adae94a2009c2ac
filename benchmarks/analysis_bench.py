"""How much faster than real time `analyze` runs: 60 s of 720p at 2 fps with the tiny model.

    python benchmarks/analysis_bench.py [--seconds 60] [--fps 2] [--runs 3] [--clip PATH]

The clip is made once with PyAV (H.264, 1280x720, 30 fps, panning texture and a moving box at
about 2 Mbit/s with B-frames, like ordinary 720p web video; bright from 40 % to 60 % of its length so the
model has something to flag) and kept in the temp directory. The run goes through the
product's own pieces (FrameSampler, load_image_classifier, analysis_pipeline.detect), with
the tiny classifier at 224x224 so the RGB conversion costs what a real model's would.

Prints the best of `--runs`: analysis time and "x faster than real time" (goal: >= 20x on
a 2-core machine), then the share of the CPU time that decoding takes (the same sampling
with no model; CPU time, because wall time on a shared machine is too noisy to split).
For comparison it also times a plain decode of every frame. Wall times depend on what else
the machine runs: the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.tiny_models import tiny_classifier  # noqa: E402
from video_censor_personal import analysis_pipeline  # noqa: E402
from video_censor_personal.analysis import frames  # noqa: E402
from video_censor_personal.analysis.detectors import load_image_classifier  # noqa: E402
from video_censor_personal.config import AnalysisSpec, ModelSpec  # noqa: E402

WIDTH, HEIGHT, RATE = 1280, 720, 30


def make_clip(path: Path, seconds: int) -> Path:
    """A 720p H.264 clip: a textured background panning every frame and a moving box.

    About 2 Mbit/s with B-frames, like ordinary 720p web video; every frame moves, so every
    frame costs real decoding. Bright from 40 % to 60 % of its length.
    """
    import av
    import numpy as np

    texture = np.random.default_rng(7).integers(0, 64, (HEIGHT + 200, WIDTH + 200), dtype=np.uint8)
    ramp = (np.add.outer(np.arange(HEIGHT) // 8, np.arange(WIDTH) // 16) % 128).astype(np.uint8)
    chroma = np.full((HEIGHT // 2, WIDTH), 128, np.uint8)
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "22"}
        for index in range(seconds * RATE):
            frame = av.VideoFrame.from_ndarray(np.vstack([_luma(index, seconds, ramp, texture), chroma]),
                                               format="yuv420p")
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    tmp.replace(path)
    return path


def _luma(index: int, seconds: int, ramp, texture):
    offset = index % 200
    luma = ramp + texture[offset:offset + HEIGHT, offset // 2:offset // 2 + WIDTH]
    x, y = index * 7 % (WIDTH - 200), index * 3 % (HEIGHT - 150)
    luma[y:y + 150, x:x + 200] = 220
    if 0.4 <= index / (seconds * RATE) < 0.6:
        luma = luma // 2 + 128
    return luma


def analyse(clip: Path, fps: float, detector) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of all threads, flags) for one analysis of `clip`."""
    cpu, started = _cpu(), time.perf_counter()
    flags = analysis_pipeline.detect(frames.FrameSampler(clip, fps), [detector])
    return time.perf_counter() - started, _cpu() - cpu, len(flags)


def sample_only(clip: Path, fps: float) -> float:
    """CPU seconds to decode and pick the samples, with no model: the decoding part of the work."""
    cpu = _cpu()
    for _ in frames.FrameSampler(clip, fps):
        pass
    return _cpu() - cpu


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def decode_everything(clip: Path) -> float:
    import av

    started = time.perf_counter()
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass
    return time.perf_counter() - started


def tiny_detector(directory: Path):
    (directory / "model.onnx").write_bytes(tiny_classifier(size=224))
    spec = AnalysisSpec("image-classifier", "model.onnx", ("nsfw",), 0.8, ("normal", "nsfw"), 224)
    return load_image_classifier(ModelSpec("tiny", "org/tiny", analysis=spec), directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clip", type=Path, help="analyse this video instead of the generated one")
    args = parser.parse_args()
    clip = args.clip or Path(tempfile.gettempdir()) / f"video-censor-bench-v2-720p-{args.seconds}s.mp4"
    if not clip.exists():
        print(f"making {clip} ...", flush=True)
        make_clip(clip, args.seconds)
    duration = frames.probe(clip).duration
    with tempfile.TemporaryDirectory() as directory:
        detector = tiny_detector(Path(directory))
        total, cpu, flagged = min(analyse(clip, args.fps, detector) for _ in range(args.runs))
    decoding = min(sample_only(clip, args.fps) for _ in range(args.runs))
    everything = decode_everything(clip)
    rate = clip.stat().st_size * 8 / duration / 1e6
    print(f"clip: {clip} ({duration:.1f} s, {WIDTH}x{HEIGHT} {RATE} fps, {rate:.1f} Mbit/s)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (other work slows this down)")
    print(f"analysis at {args.fps:g} fps: {total:.2f} s (best of {args.runs}, {cpu:.2f} s of CPU), "
          f"{flagged} samples flagged")
    print(f"  {duration / total:.1f}x faster than real time")
    print(f"  decoding (the same sampling with no model: {decoding:.2f} s of CPU) is "
          f"{min(decoding / cpu, 1):.0%} of the CPU time")
    print(f"  for comparison, decoding every frame: {everything:.2f} s ({duration / everything:.1f}x real time)")


if __name__ == "__main__":
    main()
