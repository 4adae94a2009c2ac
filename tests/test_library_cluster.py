"""`analyze VIDEO... --scheduler tcp://HOST:PORT` on a real Dask cluster on 127.0.0.1.

A `dask scheduler` and two `dask worker` processes, each worker with its own model cache
(VIDEO_CENSOR_CACHE in its environment) and the fake Hub as the source. Proves: a worker
whose cache lacks the models refuses, naming the command that fixes it; with
--download-models each worker downloads each file once into its own cache; both workers
analyse; the reports equal a local run's byte for byte; a bad video fails alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.clirun import invoke
from tests.fakehub import FakeHub
from tests.library_support import clip_bytes, make_library, reports_in
from tests.media import make_not_a_video
from tests.tiny_project import MODEL_FILES, make_project

pytestmark = pytest.mark.slow
distributed = pytest.importorskip("distributed")
DASK = [sys.executable, "-m", "dask"]  # the `dask scheduler` / `dask worker` commands of this interpreter


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(scheduler address, [worker cache dirs], hub): started once for this module, stopped after."""
    root = tmp_path_factory.mktemp("cluster")
    hub = FakeHub()
    scheduler_file = root / "scheduler.json"
    processes = [_start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
                         str(scheduler_file)], root / "scheduler.log", {})]
    caches = [root / f"cache-{name}" for name in ("w1", "w2")]
    try:
        _wait_for(scheduler_file.exists)
        for name, cache in zip(("w1", "w2"), caches, strict=True):
            env = {"VIDEO_CENSOR_CACHE": str(cache), "HF_HOME": str(root / f"hf-{name}")}
            processes.append(_start(["worker", "--scheduler-file", str(scheduler_file), "--name", name,
                                     "--nthreads", "1", "--no-nanny", "--no-dashboard", "--local-directory",
                                     str(root / f"dask-{name}")], root / f"{name}.log", env))
        with distributed.Client(scheduler_file=str(scheduler_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            address = client.scheduler.address
        yield address, caches, hub
    finally:
        _stop(processes)
        hub.stop()


def test_each_worker_makes_its_own_models_ready_and_the_reports_equal_a_local_runs(cluster, tmp_path, monkeypatch,
                                                                                   capsys):
    address, caches, hub = cluster
    make_project(tmp_path, hub)
    monkeypatch.chdir(tmp_path)
    make_library(tmp_path, {f"lib/{index}.mp4": clip_bytes(tmp_path, (index * 0.25, 1.5)) for index in range(6)})
    make_not_a_video(tmp_path / "lib" / "broken.mp4")

    refused = invoke(capsys, "analyze", "lib", "-o", "cluster", "--scheduler", address)
    assert refused.exit_code == 1 and refused.error_lines == ["error: models not downloaded: tiny"]
    assert f"hint: run `video-censor --download-models analyze lib -o cluster --scheduler {address}`" \
        in refused.stderr

    result = invoke(capsys, "analyze", "--download-models", "lib", "-o", "cluster", "--scheduler", address)
    assert result.exit_code == 2, result.stderr  # the broken video, and only it
    assert "error: cannot read video lib/broken.mp4: not a video file" in result.stderr
    [workers] = [line for line in result.stderr.splitlines() if line.startswith("workers: ")]
    assert len(workers.split(", ")) == 2 and address.rsplit(":", 1)[0] in workers  # both analysed videos
    for path in MODEL_FILES:  # downloaded once per worker cache, and not by the client
        assert _fetches(hub, path) == len(caches)
        assert all(list(cache.rglob(Path(path).name)) for cache in caches)
    assert not Path(os.environ["VIDEO_CENSOR_CACHE"]).exists()

    local = invoke(capsys, "analyze", "--download-models", "lib", "-o", "local", "--jobs", "1")
    assert local.exit_code == 2
    assert reports_in(tmp_path / "cluster") == reports_in(tmp_path / "local")
    assert len(reports_in(tmp_path / "cluster")) == 6


def _fetches(hub, path: str) -> int:
    """Successful downloads of one locked file (hub redirect to the CDN counted once)."""
    return sum(1 for r in hub.requests if r.method == "GET" and r.path.endswith("/" + path)
               and r.status in (200, 206) and r.origin == ("cdn" if len(MODEL_FILES[path]) >= 64 else "hub"))


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM (a graceful close), then SIGKILL for one that takes more than 10 s."""
    for process in reversed(processes):
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _start(arguments: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    full_env = {**os.environ, **env}
    full_env.pop("HF_TOKEN", None)
    with open(log, "wb") as output:
        return subprocess.Popen(DASK + arguments, stdout=output, stderr=subprocess.STDOUT, env=full_env)


def _wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the Dask scheduler did not start"
        time.sleep(0.05)
