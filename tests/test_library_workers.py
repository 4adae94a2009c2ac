"""`analyze VIDEO... --jobs N`: real worker processes, as a user starts them (a child `video-censor`).

Proves: two workers both analyse, their reports equal a one-process run's byte for byte,
a bad video among them fails alone, and Ctrl-C stops every process and leaves only whole
reports, from which the next run resumes.
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
from tests.library_support import clip_bytes, make_library, reports_in
from tests.media import make_not_a_video
from tests.tiny_project import make_project
from video_censor_personal.analysis import threads
from video_censor_personal.library.resume import STATE_NAME

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path, fake_hub, monkeypatch, capsys):
    make_project(tmp_path, fake_hub)
    monkeypatch.chdir(tmp_path)
    assert invoke(capsys, "models", "download").exit_code == 0
    return tmp_path


def test_two_workers_share_the_videos_and_write_what_one_process_writes(project, capsys):
    clips = {f"lib/{index}.mp4": clip_bytes(project, (index * 0.25, 1.5)) for index in range(6)}
    make_library(project, clips)
    make_not_a_video(project / "lib" / "broken.mp4")
    result = invoke(capsys, "analyze", "lib", "-o", "parallel", "--jobs", "2")  # this process, two workers
    assert result.exit_code == 2, result.stderr
    assert "error: cannot read video lib/broken.mp4: not a video file" in result.stderr
    [workers] = [line for line in result.stderr.splitlines() if line.startswith("workers: ")]
    assert len(workers.split(", ")) == 2, workers  # both workers analysed videos

    alone = invoke(capsys, "analyze", "lib", "-o", "serial", "--jobs", "1")
    assert alone.exit_code == 2
    assert reports_in(project / "parallel") == reports_in(project / "serial")
    assert len(reports_in(project / "parallel")) == 6


def test_ctrl_c_stops_the_workers_and_leaves_only_whole_reports(project, capsys):
    child = _start_library_run(project, videos=16, seconds=20, fps=10)
    os.killpg(child.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
    stderr = child.communicate(timeout=30)[1]
    assert child.returncode == 130, stderr
    assert "interrupted: analysed" in stderr and "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    _wait_for(lambda: not _group_alive(child.pid), None)  # no worker outlives the client

    kept = reports_in(project / "out")
    assert 0 < len(kept) < 16
    assert set(os.listdir(project / "out")) <= {*kept, STATE_NAME}  # no temp file
    assert all(json.loads(report)["duration"] == pytest.approx(20.0) for report in kept.values())
    # A report is recorded just after it is written: one Ctrl-C fell between is analysed again.
    state = project / "out" / STATE_NAME
    recorded = set(json.loads(state.read_text())["reports"]) if state.exists() else set()
    assert recorded <= set(kept) and len(recorded) >= len(kept) - 1

    resumed = invoke(capsys, "analyze", "lib", "-o", "out", "--jobs", "1", "--fps", "10")
    assert resumed.exit_code == 0
    assert f"analysed {16 - len(recorded)} of 16 video(s), 0 failed, {len(recorded)} skipped" in resumed.stderr


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the workers in /proc")
def test_a_worker_that_dies_ends_the_run_instead_of_hanging_it(project, capsys):
    child = _start_library_run(project, videos=8, seconds=60, fps=25)
    try:
        os.kill(_workers_of(child.pid)[0], signal.SIGKILL)  # what the kernel's out-of-memory killer does
        stderr = child.communicate(timeout=60)[1]
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert child.returncode == 1, stderr
    assert "stopped: a worker process died (killed, or out of memory)" in stderr
    assert "Traceback" not in stderr
    _wait_for(lambda: not _group_alive(child.pid), None)  # the other worker does not outlive the client
    assert set(os.listdir(project / "out")) <= {*reports_in(project / "out"), STATE_NAME}  # no temp file


def _start_library_run(project, videos: int, seconds: float, fps: float) -> subprocess.Popen:
    """`analyze lib -o out --jobs 2` in its own process group, once its first report is in
    (from then on both workers are busy with the next videos)."""
    long_clip = clip_bytes(project, (1.0, 2.0), seconds=seconds)
    make_library(project, {f"lib/{index:02}.mp4": long_clip for index in range(videos)})
    command = [sys.executable, "-m", "video_censor_personal", "analyze", "lib", "-o", "out", "--jobs", "2",
               "--fps", str(fps)]
    child = subprocess.Popen(command, cwd=project, stderr=subprocess.PIPE, text=True, start_new_session=True)
    _wait_for(lambda: (project / "out").is_dir() and reports_in(project / "out"), child)
    return child


def _workers_of(parent: int) -> list[int]:
    """The pids of the multiprocessing workers (not its resource tracker) that `parent` started."""
    workers = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path("/proc", entry, "stat").read_text()
            command = Path("/proc", entry, "cmdline").read_bytes()
        except OSError:  # it ended meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"spawn_main" in command:
            workers.append(int(entry))
    return sorted(workers)


def test_a_worker_sizes_its_threads_to_its_share_of_the_cores():
    alone = threads.cores()
    try:
        threads.share_cores(2)
        assert threads.cores() == max(1, threads.usable_cores() // 2)
        assert threads.onnxruntime_threads() == threads.cores()
    finally:
        threads.share_cores(1)
    assert threads.cores() == alone == threads.usable_cores() and threads.onnxruntime_threads() == 0


def _wait_for(condition, child, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if child is not None and child.poll() is not None:
            pytest.fail(f"the run ended before the condition held: {child.stderr.read()}")
        if time.monotonic() > deadline:
            pytest.fail("timed out")
        time.sleep(0.02)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("argv", [["analyze", "--help"], ["analyze", "lib/0.mp4", "-o", "one.json"]],
                         ids=["help", "one-video"])
def test_dask_is_imported_only_for_a_cluster(project, argv):
    make_library(project, {"lib/0.mp4": clip_bytes(project)})
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "video_censor_personal", *argv],
                          capture_output=True, text=True, cwd=project)
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert "video_censor_personal" in imported and not imported & {"dask", "distributed", "multiprocessing"}
