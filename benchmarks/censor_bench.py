"""How much faster than real time `censor` runs, and its peak memory: 60 s of 720p30 with audio.

    python benchmarks/censor_bench.py [--seconds 60] [--runs 3] [--video blur] [--audio bleep]

The clip is analysis_bench.py's 720p H.264 clip (panning texture, moving box, about
2 Mbit/s) with a stereo AAC track added, made once and kept in the temp directory. The
report flags 40 % - 60 % of the clip whole-frame (a classifier's range) and 10 % - 30 % with
a detector's moving box sampled at 2 fps, so both kinds of censoring are paid for.

Each run is the real command in a child process (`python -m video_censor_personal censor
... --report`), so the peak RSS is the whole program's. The yardstick, run alternately with
it in the same way, is a plain PyAV transcode of the same clip with the same encoder
settings and no censoring: the ratio says what censoring itself costs. Prints medians and
ranges of `--runs` pairs and the load average beside them (other work on the machine slows
both down). Goals: at least 2x real time on 2 cores, peak RSS under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src"), str(ROOT / "benchmarks")]

from analysis_bench import make_clip  # noqa: E402

from video_censor_personal.censoring.tracks import VIDEO_OPTIONS  # noqa: E402

AUDIO_RATE = 48_000

TRANSCODE = """
import sys, av
with av.open(sys.argv[1]) as source, av.open(sys.argv[2], "w") as output:
    video = source.streams.video[0]
    video.thread_type = "AUTO"
    stream = output.add_stream("libx264", rate=video.average_rate)
    stream.width, stream.height, stream.pix_fmt = video.width, video.height, "yuv420p"
    stream.time_base = stream.codec_context.time_base = video.time_base
    stream.options = dict(OPTIONS)
    audio = output.add_stream_from_template(source.streams.audio[0])
    for packet in source.demux():
        if packet.stream.type == "audio":
            if packet.dts is not None:
                packet.stream = audio
                output.mux(packet)
            continue
        for frame in packet.decode():
            frame.pict_type = 0
            output.mux(stream.encode(frame))
    output.mux(stream.encode(None))
"""


def clip_with_audio(seconds: int) -> Path:
    """analysis_bench's clip plus a stereo AAC tone, made once."""
    import av
    import numpy as np

    clip = Path(tempfile.gettempdir()) / f"video-censor-bench-v1-720p-audio-{seconds}s.mp4"
    if clip.exists():
        return clip
    video = Path(tempfile.gettempdir()) / f"video-censor-bench-v2-720p-{seconds}s.mp4"  # analysis_bench's
    if not video.exists():
        make_clip(video, seconds)
    partial = clip.with_suffix(".part.mp4")
    with av.open(str(video)) as source, av.open(str(partial), "w") as output:
        copied = output.add_stream_from_template(source.streams.video[0])
        audio = output.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = copied
                output.mux(packet)
        for start in range(0, seconds * AUDIO_RATE, 1024):
            tone = 0.3 * np.sin(2 * np.pi * 440 * (start + np.arange(1024)) / AUDIO_RATE)
            frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]).astype(np.float32), format="fltp",
                                               layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, start, Fraction(1, AUDIO_RATE)
            output.mux(audio.encode(frame))
        output.mux(audio.encode(None))
    partial.replace(clip)
    return clip


def report(seconds: int) -> dict:
    """A classifier's range over 40-60 % of the clip, a detector's moving box over 10-30 %."""
    fps = 2
    boxes = [{"t": t / fps, "x": 0.1 + 0.02 * (t % 20), "y": 0.2, "w": 0.2, "h": 0.25, "label": "X", "score": 0.9}
             for t in range(int(0.1 * seconds * fps), int(0.3 * seconds * fps))]
    return {"video": "clip", "duration": seconds, "fps_sampled": fps, "models": {}, "segments": [
        {"start": 0.1 * seconds, "end": 0.3 * seconds, "label": "X", "score": 0.9, "model": "d", "boxes": boxes},
        {"start": 0.4 * seconds, "end": 0.6 * seconds, "label": "nsfw", "score": 0.9, "model": "c"},
    ]}


def timed(command: list[str], env: dict) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MB) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        sys.exit(f"failed ({child.returncode}): {' '.join(command)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--video", default="blur", choices=("blur", "black", "pixelate", "cut"))
    parser.add_argument("--audio", default="bleep", choices=("keep", "mute", "bleep"))
    args = parser.parse_args()
    clip = clip_with_audio(args.seconds)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with tempfile.TemporaryDirectory() as directory:
        report_path = Path(directory) / "report.json"
        report_path.write_text(json.dumps(report(args.seconds)), encoding="utf-8")
        censor = [sys.executable, "-m", "video_censor_personal", "--quiet", "censor", str(clip), "-o",
                  str(Path(directory) / "censored.mp4"), "--report", str(report_path), "--video", args.video,
                  "--audio", args.audio]
        transcode = [sys.executable, "-c", TRANSCODE.replace("OPTIONS", repr(VIDEO_OPTIONS)), str(clip),
                     str(Path(directory) / "plain.mp4")]
        runs: dict[str, list[tuple[float, float, float]]] = {"censor": [], "plain": []}
        loads = []
        for run in range(args.runs):  # paired, alternating which goes first
            loads.append(os.getloadavg()[0])
            for name in (("plain", "censor") if run % 2 == 0 else ("censor", "plain")):
                runs[name].append(timed(transcode if name == "plain" else censor, env))
    print(f"clip: {clip} ({args.seconds} s, 1280x720 30 fps, stereo AAC)")
    print(f"machine: {os.cpu_count()} cores, load average {min(loads):.1f}-{max(loads):.1f} during the runs")
    censor_wall, censor_cpu = _median(runs["censor"], 0), _median(runs["censor"], 1)
    plain_wall, plain_cpu = _median(runs["plain"], 0), _median(runs["plain"], 1)
    print(f"censor --video {args.video} --audio {args.audio}: {_describe(runs['censor'], args.seconds)}; "
          f"peak RSS {max(peak for _, _, peak in runs['censor']):.0f} MB")
    print(f"plain transcode (same encoder settings): {_describe(runs['plain'], args.seconds)}")
    print(f"censoring costs {censor_wall / plain_wall:.2f}x the plain transcode's wall time, "
          f"{censor_cpu / plain_cpu:.2f}x its CPU time")


def _median(results, field: int) -> float:
    return statistics.median(result[field] for result in results)


def _describe(results, seconds: int) -> str:
    walls = [wall for wall, _, _ in results]
    wall, cpu = _median(results, 0), _median(results, 1)
    return (f"median {wall:.2f} s wall (range {min(walls):.2f}-{max(walls):.2f}), {seconds / wall:.1f}x real time; "
            f"{cpu:.2f} s CPU ({seconds / cpu * os.cpu_count():.1f}x real time if it had {os.cpu_count()} "
            f"idle cores)")

if __name__ == "__main__":
    main()
