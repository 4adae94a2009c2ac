"""Several edits of one project at once (`models add`, `models remove`, `models lock`) in real
processes: they run one after the other, all succeed, and nothing is lost from models.toml or
models.lock."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.fakehub import LFS
from video_censor_personal.config import load_manifest
from video_censor_personal.lockfile import read_lockfile

NAMES = ("alpha", "beta", "gamma")


def _start(args: tuple[str, ...], cwd) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "video_censor_personal", *args], cwd=cwd, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr


@pytest.mark.slow
def test_concurrent_adds_and_a_remove_lose_nothing(fake_hub, tmp_path):
    fake_hub.latency = 0.05  # every Hub answer takes a while: the edits overlap for sure
    for name in (*NAMES, "old"):
        fake_hub.create_repo(f"org/{name}").commit({"model.onnx": LFS(name.encode() * 16)})
    (tmp_path / "models.toml").write_text('# our models\n\n[models.old]\nrepo = "org/old"\n')
    _finish([_start(("models", "lock"), tmp_path)])
    edits = [_start(("models", "add", name, f"org/{name}"), tmp_path) for name in NAMES]
    edits.append(_start(("models", "remove", "old"), tmp_path))
    edits.append(_start(("models", "lock"), tmp_path))
    _finish(edits)
    manifest = load_manifest(tmp_path / "models.toml")
    assert sorted(model.name for model in manifest.models) == sorted(NAMES)
    assert (tmp_path / "models.toml").read_text().startswith("# our models\n")
    assert sorted(read_lockfile(tmp_path / "models.lock").names) == sorted(NAMES)
