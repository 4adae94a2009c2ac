"""One VIDEO_CENSOR_CACHE shared by several machines, as on a network filesystem.

Each "machine" is a real process that reaches the shared directory by its own path (a symlinked
mount point, as two NFS clients see one export under different paths). What docs/fleets.md
promises is checked here: the per-blob file locks hold across those paths, a lock of a process
that died is no lock, and where locks cannot be trusted, a shared export read by every machine
into its own cache needs no lock at all. huggingface_hub's cache, shared the same way, is
written under its own per-blob locks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.clirun import invoke
from tests.download_support import payload, publish, write_lock
from tests.fakehub import Fault

BIG = payload(4 << 20, seed=31)
SMALL = payload(200_000, seed=32)
HOLD_LOCK = """
import sys, time
from pathlib import Path
from video_censor_personal.cache import Cache
cache = Cache(Path(sys.argv[1]))
cache.make_layout()
with cache.locked(sys.argv[2]):
    print("held", flush=True)
    time.sleep(120)
"""

pytestmark = pytest.mark.slow


@pytest.fixture
def fleet(fake_hub, tmp_path, monkeypatch):
    """A lock, a shared directory, and two machines that mount it under different paths."""
    monkeypatch.chdir(tmp_path)
    model = publish(fake_hub, "net", {"big.onnx": BIG, "small.onnx": SMALL, "config.json": b"{}"})
    write_lock(tmp_path / "models.lock", model)
    share = tmp_path / "nfs-server" / "export"
    share.mkdir(parents=True)
    mounts = []
    for machine in ("a", "b"):
        mount = tmp_path / f"machine-{machine}" / "mnt" / "models"
        mount.parent.mkdir(parents=True)
        mount.symlink_to(share, target_is_directory=True)
        mounts.append(mount)
    return {"model": model, "share": share, "mounts": mounts, "project": tmp_path}


def start(project: Path, cache: Path, *argv: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "video_censor_personal", *argv], cwd=project,
                            env={**os.environ, "VIDEO_CENSOR_CACHE": str(cache), **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def test_two_machines_download_into_one_cache_each_file_once(fake_hub, fleet):
    fake_hub.add_fault(Fault("slow", origin="cdn", path="big.onnx", times=None, rate=4 << 20))  # about 1 s
    caches = [mount / "cache" for mount in fleet["mounts"]]
    processes = [start(fleet["project"], cache, "--quiet", "--download-models") for cache in caches]
    outcomes = [finish(p) for p in processes]
    assert [code for code, _, _ in outcomes] == [0, 0], outcomes
    for path in ("big.onnx", "small.onnx"):
        assert fake_hub.count(origin="cdn", method="GET", path_contains=path) == 1
    paths = [finish(start(fleet["project"], cache, "models", "path", "net")) for cache in caches]
    assert [Path(out.strip()) for _, out, _ in paths] == [c / "models-v1" / "snapshots" / "net" /
                                                           fleet["model"].commit for c in caches]
    assert all((Path(out.strip()) / "big.onnx").read_bytes() == BIG for _, out, _ in paths)


def test_a_live_holder_blocks_the_blob_and_a_dead_one_does_not(fake_hub, fleet):
    """The lock is flock(2) on a file: the kernel drops it when its process dies, however it dies."""
    sha256 = fleet["model"].file("big.onnx").sha256
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(fleet["mounts"][0] / "cache"), sha256],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    waiter = start(fleet["project"], fleet["mounts"][1] / "cache", "--quiet", "--download-models")
    deadline = time.monotonic() + 20
    while fake_hub.count(origin="cdn", method="GET", path_contains="small.onnx") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the other files are done by now; big.onnx waits for the lock
    assert waiter.poll() is None
    assert fake_hub.count(origin="cdn", path_contains="big.onnx") == 0
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    lock_file = fleet["share"] / "cache" / "models-v1" / "locks" / f"{sha256}.lock"
    assert lock_file.exists()  # left behind by the dead process, and no lock for all that
    code, _, err = finish(waiter, timeout=30)
    assert code == 0, err
    assert fake_hub.count(origin="cdn", method="GET", path_contains="big.onnx") == 1


def test_without_trusted_locks_one_writer_exports_and_each_machine_copies(capsys, fake_hub, fleet):
    """The recipe for filesystems whose locks cannot be trusted: nothing shared is written twice."""
    assert invoke(capsys, "--download-models").exit_code == 0
    assert invoke(capsys, "models", "export", str(fleet["share"] / "mirror")).exit_code == 0
    fake_hub.clear_requests()
    processes = [start(fleet["project"], fleet["project"] / f"local-cache-{i}", "--quiet", "--download-models",
                       HF_HUB_OFFLINE="1", VIDEO_CENSOR_MIRRORS=(mount / "mirror").as_uri())
                 for i, mount in enumerate(fleet["mounts"])]
    outcomes = [finish(p) for p in processes]
    assert [code for code, _, _ in outcomes] == [0, 0], outcomes
    assert fake_hub.requests == []
    for i in range(2):
        view = fleet["project"] / f"local-cache-{i}" / "models-v1" / "snapshots" / "net" / fleet["model"].commit
        assert (view / "big.onnx").read_bytes() == BIG


def test_two_machines_export_into_one_hf_cache_at_once(capsys, fake_hub, fleet):
    assert invoke(capsys, "--download-models").exit_code == 0
    cache = os.environ["VIDEO_CENSOR_CACHE"]
    processes = [start(fleet["project"], Path(cache), "models", "export", "--hf-cache", str(mount / "hf"),
                       HF_HUB_OFFLINE="1") for mount in fleet["mounts"]]
    outcomes = [finish(p) for p in processes]
    assert [code for code, _, _ in outcomes] == [0, 0], outcomes
    locks = fleet["share"] / "hf" / ".locks" / "models--org--net"
    assert len(list(locks.glob("*.lock"))) == 3  # huggingface_hub's own per-blob locks were taken
    loader = ("import json, sys; from huggingface_hub import snapshot_download as s; "
              "print(json.dumps(s('org/net', revision='main', local_files_only=True)))")
    done = subprocess.run([sys.executable, "-c", loader], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(fleet["share"] / "hf")})
    assert done.returncode == 0, done.stderr
    assert (Path(json.loads(done.stdout)) / "big.onnx").read_bytes() == BIG
