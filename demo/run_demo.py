"""The whole flow on a machine without internet: lock, auto-download, analyse, censor.

    python demo/run_demo.py [--keep]

Starts the fake Hugging Face Hub of the test suite on 127.0.0.1 with one repo holding a
tiny real ONNX classifier (its "nsfw" score follows brightness), writes a models.toml and
a 10 s clip (dark, bright from 4.2 s to 6.7 s: between two samples at either end, dark)
into a temporary directory, then runs
the real `video-censor` commands there, as separate processes, with HF_ENDPOINT pointing
at the fake Hub:

    video-censor models lock                        # models.toml -> models.lock
    video-censor analyze clip.mp4                   # stops: the model is not downloaded
    video-censor --progress --download-models analyze clip.mp4 -o report.json --edl clip.edl
    video-censor analyze clip.mp4 --fps 4           # cached and verified: no network
    video-censor censor clip.mp4 -o clip.censored.mp4 --report report.json --video black

and shows what each prints, then where the censored copy is (4.1 s - 7.0 s blacked out).
`--keep` leaves the directory for a closer look.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.fakehub import LFS, FakeHub  # noqa: E402
from tests.media import make_clip  # noqa: E402
from tests.tiny_models import config_json, tiny_classifier  # noqa: E402

REPO = "demo-org/tiny-nsfw-classifier"
MANIFEST = f"""\
# The models this project uses. `video-censor models lock` pins them in models.lock.
[models.tiny-nsfw]
repo = "{REPO}"
include = ["onnx/model.onnx", "config.json"]
description = "Tiny demo classifier: its nsfw score follows brightness"

[models.tiny-nsfw.analysis]
kind = "image-classifier"
file = "onnx/model.onnx"
flag = ["nsfw"]          # labels come from the locked config.json
threshold = 0.8
input-size = 32
"""


def publish(hub: FakeHub) -> str:
    """The demo model, committed to the fake Hub like a real ONNX export."""
    repo = hub.create_repo(REPO)
    return repo.commit({
        "onnx/model.onnx": LFS(tiny_classifier()),
        "config.json": config_json(),
        "README.md": b"# tiny-nsfw-classifier\nA demo model for video-censor.\n",
    })


def run(workdir: Path, env: dict, *args: str) -> int:
    """One `video-censor` command as its own process; echo the command and what it prints."""
    print(f"\n$ video-censor {' '.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "video_censor_personal", *args], cwd=workdir, env=env,
                          capture_output=True, text=True)
    for stream in (done.stderr, done.stdout):
        for line in stream.splitlines():  # a progress bar redraws with \r: show its last state
            if line.split("\r")[-1].strip():
                print("  " + line.split("\r")[-1])
    print(f"  (exit code {done.returncode})")
    return done.returncode


def demo(workdir: Path, hub: FakeHub) -> None:
    commit = publish(hub)
    print(f"fake Hub at {hub.url}: {REPO} @ {commit[:12]}")
    (workdir / "models.toml").write_text(MANIFEST, encoding="utf-8")
    make_clip(workdir / "clip.mp4", seconds=10, gray=lambda t: 230 if 4.2 <= t < 6.7 else 20)
    print(f"work directory {workdir}: models.toml, clip.mp4 (10 s at 10 fps, bright from 4.2 s to 6.7 s)")
    env = {**os.environ, "HF_ENDPOINT": hub.url, "VIDEO_CENSOR_CACHE": str(workdir / "cache"),
           "HF_HOME": str(workdir / "hf-home"), "HF_HUB_DISABLE_TELEMETRY": "1", "NO_COLOR": "1"}
    env.pop("HF_TOKEN", None)
    steps = [
        (0, ("models", "lock")),
        (1, ("analyze", "clip.mp4")),
        (0, ("--progress", "--download-models", "analyze", "clip.mp4", "-o", "report.json", "--edl", "clip.edl")),
        (0, ("analyze", "clip.mp4", "--fps", "4")),
        (0, ("censor", "clip.mp4", "-o", "clip.censored.mp4", "--report", "report.json", "--video", "black")),
    ]
    for expected, args in steps:
        if run(workdir, env, *args) != expected:
            sys.exit(f"demo: `video-censor {' '.join(args)}` did not exit {expected}")
    print("\nreport.json:\n  " + (workdir / "report.json").read_text().rstrip().replace("\n", "\n  "))
    print("clip.edl (MPlayer -edl, Kodi):\n  " + (workdir / "clip.edl").read_text().rstrip())


def show_censored(workdir: Path, keep: bool) -> None:
    """Where to look: the censored copy, and what to see in it."""
    censored = workdir / "clip.censored.mp4"
    print(f"\nthe censored copy: {censored}")
    print("  play it (e.g. `ffplay`, `mpv`, VLC): from 4.1 s to 7.0 s (the segment in report.json), "
          "where the clip was bright, it is black")
    if not keep:
        print("  (this directory is removed at the end: run `python demo/run_demo.py --keep` to keep it)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    keep = parser.parse_args().keep
    workdir = Path(tempfile.mkdtemp(prefix="video-censor-demo-"))
    try:
        with FakeHub() as hub:
            demo(workdir, hub)
        show_censored(workdir, keep)
    finally:
        if keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
