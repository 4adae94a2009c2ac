"""The fake Hub started by hand (`python -m tests.fakehub`), used as docs/architecture.md says:
the commands of its "Running the fake Hub by hand" section run as written, ending in a report."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.media import make_clip

ROOT = Path(__file__).parents[1]


def documented_commands() -> list[list[str]]:
    section = (ROOT / "docs" / "architecture.md").read_text().split("## Running the fake Hub by hand", 1)[1]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    words = [shlex.split(line, comments=True) for line in blocks[1].splitlines()]
    return [w[1:] for w in words if w and w[0] == "video-censor"]


@pytest.fixture
def hub_by_hand():
    """`python -m tests.fakehub --port 0` as a user starts it; yields the hub URL it prints."""
    process = subprocess.Popen([sys.executable, "-m", "tests.fakehub", "--port", "0"], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        first = process.stdout.readline()
        assert first.startswith("hub "), first
        yield first.split()[1]
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.slow
def test_the_documented_flow_runs_against_the_hand_started_fake_hub(hub_by_hand, tmp_path):
    make_clip(tmp_path / "video.mp4")
    env = {**os.environ, "HF_ENDPOINT": hub_by_hand, "HF_HUB_DISABLE_XET": "1"}
    commands = documented_commands()
    assert [c[:2] for c in commands] == [["models", "search"], ["models", "add"], ["--download-models", "analyze"]]
    for argv in commands:
        argv = [str(tmp_path / "video.mp4") if word == "/path/to/video.mp4" else word for word in argv]
        done = subprocess.run([sys.executable, "-m", "video_censor_personal", *argv], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{argv}\n{done.stderr}"
    report = json.loads(done.stdout)
    assert [(s["label"], s["model"]) for s in report["segments"]] == [("nsfw", "tiny")]
