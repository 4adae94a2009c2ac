"""A no-op run reads no model file: `--download-models` and `models status` over a full cache.

Issue 11 item 5. Each command runs in a child process under an audit hook (PEP 578) that
records every file opened; no file of the cache's blobs or model views may be among them,
and tomlkit (which made a no-op take 1.5 s at scale) is not even imported.
The (size, mtime, inode) records are what a no-op reads instead. Its speed at scale
(100 models, 2,000 files) is measured by benchmarks/noop_bench.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.noop_bench import build_project

RUN_AUDITED = """
import json, sys
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)):
        opened.append(args[0] if isinstance(args[0], str) else args[0].decode())
sys.addaudithook(hook)
from video_censor_personal.cli import main
try:
    main(sys.argv[2:])
finally:
    with open(sys.argv[1], "w") as out:
        json.dump({"opened": opened, "modules": sorted(sys.modules)}, out)
"""


def run_audited(root: Path, env: dict, *argv: str) -> tuple[subprocess.CompletedProcess, list[str], list[str]]:
    """(the finished process, the files it opened, the modules it imported)."""
    log = root / "opened.json"
    done = subprocess.run([sys.executable, "-c", RUN_AUDITED, str(log), *argv], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)
    seen = json.loads(log.read_text())
    return done, [str(Path(root, p).resolve()) for p in seen["opened"]], seen["modules"]


@pytest.fixture
def cached_project(tmp_path):
    """5 models of 4 files, locked and downloaded (from a file:// export, offline)."""
    build_project(tmp_path, models=5, files=4)
    env = {**os.environ, "VIDEO_CENSOR_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    done, _, _ = run_audited(tmp_path, env, "--quiet", "--mirror", (tmp_path / "export").as_uri(), "--download-models")
    assert done.returncode == 0, done.stderr
    return tmp_path, env


def model_files(opened: list[str], cache: Path) -> list[str]:
    roots = [str((cache / "models-v1" / part).resolve()) for part in ("blobs", "snapshots")]
    return [path for path in opened if path.startswith(tuple(roots))]


@pytest.mark.slow
@pytest.mark.parametrize("argv", [("--download-models",), ("models", "status")])
def test_a_no_op_opens_no_cached_model_file(cached_project, argv):
    root, env = cached_project
    done, opened, modules = run_audited(root, env, *argv)
    assert done.returncode == 0, done.stderr
    said = done.stderr + done.stdout
    assert "present" in said and "missing" not in said and "unverified" not in said
    assert model_files(opened, root / "cache") == []
    assert any(path.endswith("models.lock") for path in opened)  # the audit sees what is opened
    # tomlkit (1.3 s over a 2,000-file lock) is for edits; reading is tomli's
    assert "tomlkit" not in modules


@pytest.mark.slow
def test_the_audit_would_see_a_model_file_being_read(cached_project):
    """The same hook catches a command that does read the files: `models verify` hashes all 20."""
    root, env = cached_project
    done, opened, _ = run_audited(root, env, "models", "verify")
    assert done.returncode == 0, done.stderr
    assert len(set(model_files(opened, root / "cache"))) >= 20
