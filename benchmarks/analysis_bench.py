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

    python benchmarks/analysis_bench.py --real [--seconds 60] [--fps 2] [--runs 3]

`--real` times the whole `video-censor analyze` command, as a user runs it, with NudeNet's real
320n detector (the `nudenet` package ships it; the test extra installs it) configured as
docs/analysis.md shows. The model is published on the test suite's fake Hub and goes through
`models lock` and `models download` first (not timed). Then, `--runs` times, paired: a plain
decode of every frame (the yardstick, its own process) and `analyze` (its own process). Prints
for each the median and range of "x real time" (the clip's duration over one run's wall
time), analyze's peak RSS and CPU time (goal: >= 20x real time, < 500 MB) and analyze / decode.
The CPU time gives the bound an idle machine would reach (duration x cores / CPU seconds):
on a machine shared with other work the wall times are slower than that.

    python benchmarks/analysis_bench.py --real --baseline DIR [--runs 5]

adds a third member to every pair: `analyze` run from the source tree DIR (another checkout,
e.g. `git archive main src | tar -x -C DIR`), so a change is measured before and after on the
same load, run by run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.tiny_models import tiny_classifier  # noqa: E402
from video_censor_personal import analysis_pipeline  # noqa: E402
from video_censor_personal.analysis import frames  # noqa: E402
from video_censor_personal.analysis.classifier import load_image_classifier  # noqa: E402
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


NUDENET_MANIFEST = """\
[models.nudenet]
repo = "notai-tech/nudenet"

[models.nudenet.analysis]
kind = "object-detector"
file = "320n.onnx"
flag = ["FEMALE_BREAST_EXPOSED", "FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED"]
threshold = 0.25
pad = 0
align = "top-left"
interpolation = "opencv-bilinear"
"""
DECODE = "import av, sys\nwith av.open(sys.argv[1]) as c:\n s = c.streams.video[0]\n s.thread_type = 'AUTO'\n" \
         " for _ in c.decode(s): pass\n"


# Runs the command from a small process: a child forked from this benchmark (numpy, av, the fake
# Hub, the model's bytes) would inherit its peak RSS, and so would the figure. This wrapper is a
# bare interpreter (about 10 MB, counted in the figure): it spawns the command and reports its
# rusage.
WRAPPER = "import os, sys\npid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)\n" \
          "_, status, usage = os.wait4(pid, 0)\n" \
          "print(usage.ru_maxrss, usage.ru_utime + usage.ru_stime, file=sys.stderr)\n" \
          "sys.exit(os.waitstatus_to_exitcode(status))\n"


def timed(argv: list[str], cwd: Path, env: dict) -> tuple[float, float, float]:
    """(wall seconds, peak RSS in MB, CPU seconds of all its threads) of one process."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-S", "-c", WRAPPER, *argv], cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stderr}")
    rss_kb, cpu = done.stderr.split()[-2:]
    return wall, int(rss_kb) / 1024, float(cpu)


def real_project(workdir: Path, hub_url: str) -> dict:
    """models.toml using NudeNet's 320n, locked and downloaded from the fake Hub; the env to run in."""
    env = {**os.environ, "HF_ENDPOINT": hub_url, "VIDEO_CENSOR_CACHE": str(workdir / "cache"),
           "HF_HOME": str(workdir / "hf-home"), "HF_HUB_DISABLE_TELEMETRY": "1"}
    env.pop("HF_TOKEN", None)
    (workdir / "models.toml").write_text(NUDENET_MANIFEST, encoding="utf-8")
    for args in (["models", "lock"], ["models", "download"]):
        subprocess.run([sys.executable, "-m", "video_censor_personal", *args], cwd=workdir, env=env, check=True,
                       capture_output=True)
    return env


def real(clip: Path, fps: float, runs: int, baseline: Path | None = None) -> None:
    """`video-censor analyze` with NudeNet's 320n, paired with a plain decode (module docstring)."""
    import importlib.resources

    from tests.fakehub import LFS, FakeHub

    duration = frames.probe(clip).duration
    model = Path(str(importlib.resources.files("nudenet") / "320n.onnx")).read_bytes()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as directory, FakeHub() as hub:
        hub.create_repo("notai-tech/nudenet").commit({"320n.onnx": LFS(model)})
        workdir = Path(directory)
        env = real_project(workdir, hub.url)
        analyze = [sys.executable, "-m", "video_censor_personal", "analyze", str(clip), "--fps", str(fps),
                   "-o", str(workdir / "report.json")]
        before = {**env, "PYTHONPATH": str(baseline / "src")} if baseline else None
        measured = [_real_run(clip, workdir, analyze, env, before, first=run % 2 == 0) for run in range(runs)]
    pairs = [(decode, after) for decode, after, _ in measured]
    print(f"clip: {clip} ({duration:.1f} s, {WIDTH}x{HEIGHT} {RATE} fps); {runs} paired runs")
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    _report_real(duration, fps, pairs)
    if baseline:
        _report_baseline(duration, baseline, [(after, earlier) for _, after, earlier in measured])


def _real_run(clip: Path, workdir: Path, analyze: list[str], env: dict, before: dict | None, first: bool):
    """One pair: a plain decode and `analyze`, and `analyze` from the baseline tree (alternately first)."""
    decode = timed([sys.executable, "-c", DECODE, str(clip)], workdir, env)
    if before and first:
        earlier = timed(analyze, workdir, before)
        return decode, timed(analyze, workdir, env), earlier
    after = timed(analyze, workdir, env)
    return decode, after, timed(analyze, workdir, before) if before else None


def _report_real(duration: float, fps: float, pairs: list) -> None:
    speed = [duration / wall for _, (wall, _, _) in pairs]
    cpu = [seconds for _, (_, _, seconds) in pairs]
    print(f"video-censor analyze --fps {fps:g}, NudeNet 320n: {_spread(speed)} x real time, "
          f"peak RSS {max(rss for _, (_, rss, _) in pairs):.0f} MB")
    print(f"  CPU time {_spread(cpu)} s: on {os.cpu_count()} idle cores at best "
          f"{duration * os.cpu_count() / statistics.median(cpu):.0f}x real time (the load-free bound)")
    print(f"yardstick, decode every frame: {_spread([duration / wall for (wall, _, _), _ in pairs])} x real time")
    print(f"analyze / decode wall time: {_spread([(a[0] / d[0]) for d, a in pairs])}")


def _report_baseline(duration: float, baseline: Path, pairs: list) -> None:
    """`analyze` from the baseline tree, and this tree's wall time over its, pair by pair."""
    print(f"baseline {baseline}: {_spread([duration / b[0] for _, b in pairs])} x real time, "
          f"CPU time {_spread([b[2] for _, b in pairs])} s, peak RSS {max(b[1] for _, b in pairs):.0f} MB")
    print(f"analyze / baseline wall time: {_spread([a[0] / b[0] for a, b in pairs], 2)}")


def _spread(values: list[float], digits: int = 1) -> str:
    return f"{statistics.median(values):.{digits}f} (range {min(values):.{digits}f}-{max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clip", type=Path, help="analyse this video instead of the generated one")
    parser.add_argument("--real", action="store_true", help="time `video-censor analyze` with NudeNet's 320n")
    parser.add_argument("--baseline", type=Path, help="with --real: also time analyze from this source tree")
    args = parser.parse_args()
    clip = args.clip or Path(tempfile.gettempdir()) / f"video-censor-bench-v2-720p-{args.seconds}s.mp4"
    if not clip.exists():
        print(f"making {clip} ...", flush=True)
        make_clip(clip, args.seconds)
    if args.real:
        real(clip, args.fps, args.runs, args.baseline)
    else:
        tiny(clip, args.fps, args.runs)


def tiny(clip: Path, fps: float, runs: int) -> None:
    """The in-process benchmark with the tiny classifier (module docstring)."""
    duration = frames.probe(clip).duration
    with tempfile.TemporaryDirectory() as directory:
        detector = tiny_detector(Path(directory))
        total, cpu, flagged = min(analyse(clip, fps, detector) for _ in range(runs))
    decoding = min(sample_only(clip, fps) for _ in range(runs))
    everything = decode_everything(clip)
    rate = clip.stat().st_size * 8 / duration / 1e6
    print(f"clip: {clip} ({duration:.1f} s, {WIDTH}x{HEIGHT} {RATE} fps, {rate:.1f} Mbit/s)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (other work slows this down)")
    print(f"analysis at {fps:g} fps: {total:.2f} s (best of {runs}, {cpu:.2f} s of CPU), {flagged} samples flagged")
    print(f"  {duration / total:.1f}x faster than real time")
    print(f"  decoding (the same sampling with no model: {decoding:.2f} s of CPU) is "
          f"{min(decoding / cpu, 1):.0%} of the CPU time")
    print(f"  for comparison, decoding every frame: {everything:.2f} s ({duration / everything:.1f}x real time)")


if __name__ == "__main__":
    main()
