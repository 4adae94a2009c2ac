"""A library in one command against a loop of single `analyze` processes: twenty 30 s 480p clips.

    python benchmarks/library_bench.py [--clips 20] [--seconds 30] [--jobs 2] [--runs 3] [--only loop|threads]

Yardstick: `video-censor analyze CLIP -o REPORT` once per clip, one process after the other
(what a shell loop does). Contender: `video-censor analyze LIB -o DIR --jobs 2 --force`.
Both are real child processes, run in pairs (yardstick, contender) `--runs` times; the
medians and ranges are printed with the ratio (goal: >= 1.6x with --jobs 2 on 2 cores).
The reports of both are compared byte for byte.

Also printed: the start-up cost of one process, split into the interpreter, the imports
(the CLI, then av, numpy and onnxruntime) and the model load (onnxruntime session), which
the loop pays per clip and each worker once; and, for --jobs N, workers that size their
decoder and onnxruntime threads to their share of the cores against workers that each
size them for the whole machine (through the library API, in pairs too).

The clip (H.264, 854x480, 30 fps, a panning texture and a moving box, bright in its
middle fifth) is made once and copied `--clips` times into the temp directory; the tiny
test model (tests/tiny_models.py) runs at 224x224 so the RGB conversion costs what a real
model's would. It is served once by the fake Hub into a temporary cache; the runs are
offline. Wall times depend on what else the machine runs: the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

WIDTH, HEIGHT, RATE = 854, 480, 30
STARTUP = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
import video_censor_personal.cli
t1 = time.perf_counter()
import av, numpy, onnxruntime
t2 = time.perf_counter()
from video_censor_personal.analysis_pipeline import AnalysisPipeline
from video_censor_personal.config import load_manifest
from video_censor_personal.environment import build_runtime
from video_censor_personal.lockfile import read_lockfile
from video_censor_personal.model_manager import ModelManager
manifest, lock = load_manifest(Path("models.toml")), read_lockfile(Path("models.lock"))
AnalysisPipeline(manifest, lock, ModelManager(lock, build_runtime(manifest.settings))).prepare()
t3 = time.perf_counter()
print(json.dumps({"cli": t1 - t0, "heavy": t2 - t1, "models": t3 - t2}))
"""


def make_clip(path: Path, seconds: int) -> Path:
    """854x480 H.264: every frame moves (a panning texture, a box), bright from 40 % to 60 %."""
    import av

    from tests.media import _mux

    tmp = path.with_suffix(".part")
    with av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        for frame in _frames(seconds * RATE):
            _mux(container, stream, frame)
        _mux(container, stream, None)
    tmp.replace(path)
    return path


def _frames(count: int):
    import av
    import numpy as np

    texture = np.random.default_rng(7).integers(0, 64, (HEIGHT + 200, WIDTH + 200), dtype=np.uint8)
    chroma = np.full((HEIGHT // 2, WIDTH), 128, np.uint8)
    for index in range(count):
        offset = index % 200
        luma = texture[offset:offset + HEIGHT, offset // 2:offset // 2 + WIDTH].copy()
        x, y = index * 5 % (WIDTH - 120), index * 3 % (HEIGHT - 90)
        luma[y:y + 90, x:x + 120] = 220
        if 0.4 <= index / count < 0.6:
            luma = luma // 2 + 128
        frame = av.VideoFrame.from_ndarray(np.vstack([luma, chroma]), format="yuv420p")
        frame.pts = index
        yield frame


def make_project(work: Path, clips: int, seconds: int) -> dict[str, str]:
    """work/{models.toml, models.lock, lib/clipNN.mp4}, the model in work/cache; the runs' environment."""
    from tests.fakehub import FakeHub
    from tests.tiny_project import make_project as write_project

    clip = Path(tempfile.gettempdir()) / f"video-censor-library-bench-v1-480p-{seconds}s.mp4"
    if not clip.exists():
        print(f"making {clip} ...", flush=True)
        make_clip(clip, seconds)
    (work / "lib").mkdir()
    for index in range(clips):
        shutil.copyfile(clip, work / "lib" / f"clip{index + 1:02}.mp4")
    env = {**os.environ, "VIDEO_CENSOR_CACHE": str(work / "cache"), "PYTHONPATH": str(ROOT / "src")}
    with FakeHub() as hub:
        write_project(work, hub, size=224)
        cli(["--quiet", "--download-models"], work, env)
    return {**env, "HF_HUB_OFFLINE": "1"}


class Timer:
    """Wall seconds, and CPU seconds of the child processes (and theirs) that ended meanwhile.

    CPU time says what wall time cannot on a shared machine: threads that fight over the
    cores cost more CPU for the same work, whatever the neighbours do.
    """

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), _children_cpu()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, _children_cpu() - self.cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    """One `video-censor ARGV` child process; it must succeed."""
    done = subprocess.run([sys.executable, "-m", "video_censor_personal", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"video-censor {' '.join(argv)} failed:\n{done.stderr}")


def loop_of_processes(work: Path, env: dict[str, str]) -> Timer:
    (work / "loop").mkdir(exist_ok=True)
    with Timer() as timer:
        for clip in sorted((work / "lib").iterdir()):
            cli(["--quiet", "analyze", f"lib/{clip.name}", "-o", f"loop/{clip.name}.json"], work, env)
    return timer


def library_run(work: Path, env: dict[str, str], jobs: int) -> Timer:
    with Timer() as timer:
        cli(["--quiet", "analyze", "lib", "-o", "library", "--jobs", str(jobs), "--force"], work, env)
    return timer


def startup(work: Path, env: dict[str, str], runs: int) -> dict[str, float]:
    """Median seconds of each start-up phase of one process, over `runs` fresh processes."""
    phases = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", STARTUP], cwd=work, env=env, capture_output=True, text=True,
                              check=True)
        total = time.perf_counter() - started
        phase = json.loads(done.stdout)
        phase["interpreter"] = total - sum(phase.values())
        phases.append(phase)
    return {name: statistics.median(p[name] for p in phases) for name in phases[0]}


def threads_sized(work: Path, jobs: int, share: bool) -> Timer:
    """One --jobs run through the library API, workers sized to their share of the cores or not."""
    from video_censor_personal.analysis_pipeline import AnalysisRequest
    from video_censor_personal.config import load_manifest
    from video_censor_personal.library.local_runner import LocalRunner
    from video_censor_personal.library.run import plan_library, run_library
    from video_censor_personal.library.summary import Summary
    from video_censor_personal.library.work import Job
    from video_censor_personal.lockfile import read_lockfile

    job = Job(load_manifest(work / "models.toml"), read_lockfile(work / "models.lock"), AnalysisRequest(Path()))
    summary = Summary()
    plan = plan_library(job, [work / "lib"], work / "api", True, summary)
    with Timer() as timer:
        run_library(plan, LocalRunner(jobs, share_cores=share), summary, lambda *outcome: None)
    assert not summary.failures, summary.failures
    return timer


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} (range {min(values):.2f}-{max(values):.2f})"


def timings(timers: list[Timer]) -> str:
    return f"wall {spread([t.wall for t in timers])} s, CPU {spread([t.cpu for t in timers])} s"


def compare_with_loop(work: Path, env: dict[str, str], args) -> None:
    """The headline: a loop of single processes against one library run, in pairs."""
    pairs = [(loop_of_processes(work, env), library_run(work, env, args.jobs)) for _ in range(args.runs)]
    loops, libraries = [p[0] for p in pairs], [p[1] for p in pairs]
    same = all((work / "loop" / n).read_bytes() == (work / "library" / n).read_bytes()
               for n in os.listdir(work / "loop"))
    media = args.clips * args.seconds
    print(f"{args.clips} clips of {args.seconds} s, {WIDTH}x{HEIGHT}; reports identical: {same}")
    print(f"loop of single `analyze` processes: {timings(loops)}")
    print(f"analyze LIB --jobs {args.jobs}:            {timings(libraries)} "
          f"({media / statistics.median(t.wall for t in libraries):.0f}x real time)")
    ratios = [loop.wall / library.wall for loop, library in pairs]
    print(f"  speed-up: {spread(ratios)}x  (goal >= 1.6x on 2 cores)")
    phases = startup(work, env, 5)
    print("start-up of one process (median of 5): " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items())
          + f"; total {sum(phases.values()):.2f} s")


def compare_thread_sizing(work: Path, env: dict[str, str], args) -> None:
    """Workers sized to their share of the cores against workers sized for the whole machine, in pairs."""
    os.environ.update(env)  # the API run's workers read the same cache, offline
    sized = [(threads_sized(work, args.jobs, True), threads_sized(work, args.jobs, False)) for _ in range(args.runs)]
    print(f"--jobs {args.jobs}, workers sized to their share of the cores: {timings([s for s, _ in sized])}")
    print(f"--jobs {args.jobs}, each worker sized for the whole machine:  {timings([u for _, u in sized])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("loop", "threads"), help="run one of the two comparisons")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="video-censor-library-bench-") as directory:
        work = Path(directory)
        env = make_project(work, args.clips, args.seconds)
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()} before")
        if args.only in (None, "loop"):
            compare_with_loop(work, env, args)
        if args.only in (None, "threads"):
            compare_thread_sizing(work, env, args)
        print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
