"""Bad networks and busy machines: real sockets, real files, real processes.

SIGKILL mid-download then resume, four processes on one lock, and every injected fault
(429 + Retry-After, 5xx, dropped connection, short body, wrong bytes) through the CLI.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.clirun import invoke
from tests.download_support import blob_of, cache_root, payload, publish, view_of, write_lock
from tests.fakehub import Fault
from video_censor_personal.config import Settings
from video_censor_personal.environment import build_runtime
from video_censor_personal.errors import ModelsMissingError
from video_censor_personal.lockfile import read_lockfile
from video_censor_personal.model_manager import ModelManager

BIG = payload(8 << 20, seed=3)
SMALL = payload(1 << 20, seed=4)


@pytest.fixture
def project(fake_hub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = publish(fake_hub, "net", {"big.onnx": BIG, "small.onnx": SMALL, "config.json": b"{}"})
    write_lock(tmp_path / "models.lock", model)
    return model


def start_download(cwd) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "video_censor_personal", "--quiet", "--download-models"],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def start_slow_download(fake_hub, project, cwd, until_bytes: int):
    """A download process, once its partial file of big.onnx holds `until_bytes` (CDN at 4 MiB/s)."""
    fake_hub.add_fault(Fault("slow", origin="cdn", path="big.onnx", rate=4 << 20))
    part = cache_root() / "blobs" / f"{project.file('big.onnx').sha256}.part"
    process = start_download(cwd)
    deadline = time.monotonic() + 20
    while not (part.exists() and part.stat().st_size >= until_bytes) and time.monotonic() < deadline:
        time.sleep(0.02)
    return part, process


def test_sigkill_mid_download_then_rerun_resumes(fake_hub, project, tmp_path):
    part, process = start_slow_download(fake_hub, project, tmp_path, until_bytes=2 << 20)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    kept = part.stat().st_size
    assert 0 < kept < len(BIG) and not blob_of(project, "big.onnx").exists()
    fake_hub.clear_requests()
    result = invoke_in(tmp_path)
    assert result.returncode == 0, result.stderr
    big = [r for r in fake_hub.requests if r.origin == "cdn" and "big.onnx" in r.path]
    assert [r.range for r in big] == [f"bytes={kept}-"] and big[0].bytes_sent == len(BIG) - kept
    assert view_of(project, "big.onnx").read_bytes() == BIG and not part.exists()
    from video_censor_personal.progress import format_size

    assert f"file(s), {format_size(fake_hub.cdn_bytes_sent)} in" in result.stderr  # the prefix is not counted


def test_ctrl_c_stops_quickly_and_keeps_the_partial_file(fake_hub, project, tmp_path):
    part, process = start_slow_download(fake_hub, project, tmp_path, until_bytes=1 << 20)
    interrupted = time.monotonic()
    process.send_signal(signal.SIGINT)
    code = process.wait(10)
    assert code == 130 and time.monotonic() - interrupted < 3
    stderr = process.stderr.read()
    assert "error: interrupted" in stderr and "hint: partial downloads are kept" in stderr
    assert part.stat().st_size >= 1 << 20 and not blob_of(project, "big.onnx").exists()


def invoke_in(cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "video_censor_personal", "--download-models"], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_four_processes_download_each_file_once(fake_hub, project, tmp_path):
    fake_hub.latency = 0.05
    # big.onnx takes about a second: every process starts while the first one holds its lock
    fake_hub.add_fault(Fault("slow", origin="cdn", path="big.onnx", times=None, rate=8 << 20))
    processes = [start_download(tmp_path) for _ in range(4)]
    outcomes = [(p.wait(60), p.stderr.read()) for p in processes]
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes
    for path in ("big.onnx", "small.onnx"):
        assert fake_hub.count(origin="cdn", method="GET", path_contains=path) == 1
    assert fake_hub.count(origin="hub", method="GET", path_contains="config.json") == 1
    assert view_of(project, "big.onnx").read_bytes() == BIG


FAULTS = {
    "429 with Retry-After": Fault("status", origin="cdn", path="big.onnx", status=429, retry_after=1),
    "503": Fault("status", origin="cdn", path="big.onnx", times=2, status=503),
    "connection dropped mid-body": Fault("drop", origin="cdn", path="big.onnx", after=3 << 20),
    "short body": Fault("short", origin="cdn", path="big.onnx", after=3 << 20),
    "wrong bytes once": Fault("corrupt", origin="cdn", path="big.onnx", offset=5 << 20),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_faults_are_survived_and_nothing_unverified_is_ever_final(capsys, fake_hub, project, fault):
    fake_hub.add_fault(fault)
    with watch_final_paths(project) as seen_bad:
        result = invoke(capsys, "--download-models")
    assert result.exit_code == 0, result.stderr
    assert fault.exhausted and seen_bad == []
    assert view_of(project, "big.onnx").read_bytes() == BIG
    requests = [r for r in fake_hub.requests if r.origin == "cdn" and "big.onnx" in r.path]
    assert len(requests) == 1 + fault.times
    if fault.kind in ("drop", "short"):  # resumed, not restarted
        assert requests[-1].range is not None and requests[-1].range.startswith("bytes=")
        assert fake_hub.cdn_bytes_sent - len(SMALL) <= len(BIG) + (1 << 20)


def test_wrong_bytes_everywhere_exits_1_and_leaves_nothing(capsys, fake_hub, project, monkeypatch):
    monkeypatch.setenv("VIDEO_CENSOR_MIRRORS", fake_hub.mirror_url)
    fake_hub.add_fault(Fault("corrupt", origin="any", path="big.onnx", times=None, offset=99))
    result = invoke(capsys, "--download-models")
    sha = project.file("big.onnx").sha256
    assert result.exit_code == 1 and "net/big.onnx: sha256 mismatch" in result.stderr
    assert f"expected {sha}, got " in result.stderr
    assert fake_hub.count(origin="cdn", path_contains="big.onnx") == 2  # once more from scratch...
    assert fake_hub.count(origin="mirror", path_contains="big.onnx") == 2  # ...per source
    assert not blob_of(project, "big.onnx").exists() and not view_of(project, "big.onnx").exists()
    assert view_of(project, "small.onnx").read_bytes() == SMALL


class watch_final_paths:
    """Polls the final paths during a download; lists any moment they held other bytes."""

    def __init__(self, model):
        self.paths = [(blob_of(model, f.path), f.sha256) for f in model.files]
        self.paths += [(view_of(model, f.path), f.sha256) for f in model.files]
        self.bad: list[str] = []
        self.stop = threading.Event()

    def _poll(self):
        while not self.stop.is_set():
            for path, sha in self.paths:
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue
                if hashlib.sha256(data).hexdigest() != sha:
                    self.bad.append(str(path))
            time.sleep(0.001)

    def __enter__(self):
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self.bad

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def test_ensure_ready_for_analyze(fake_hub, project, tmp_path):
    runtime = build_runtime(Settings(), environ={**os.environ})
    manager = ModelManager(read_lockfile(tmp_path / "models.lock"), runtime)
    with pytest.raises(ModelsMissingError) as caught:
        manager.ensure_ready(["net"], download=False, hint="rerun with --download-models")
    assert caught.value.exit_code == 1 and caught.value.hint == "rerun with --download-models"
    assert "net/big.onnx (missing)" in caught.value.details and fake_hub.requests == []
    paths = manager.ensure_ready(["net"], download=True, hint="unused")
    assert (paths["net"] / "big.onnx").read_bytes() == BIG
    assert manager.ensure_ready(["net"], download=False, hint="unused") == paths


def test_no_op_run_imports_nothing_heavy(fake_hub, project, tmp_path):
    assert invoke_in(tmp_path).returncode == 0
    fake_hub.clear_requests()
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "video_censor_personal", "--download-models"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and fake_hub.requests == []
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    heavy = {"onnxruntime", "av", "huggingface_hub", "requests", "urllib3", "tqdm", "filelock", "pooch"}
    assert imported & heavy == set()


# ---------------------------------------------------------------- segmented transfers


@pytest.fixture
def segmented(monkeypatch, fake_hub):
    """big.onnx (8 MiB) goes over 4 connections of 1 MiB/s each; the threshold is the test knob."""
    monkeypatch.setenv("VIDEO_CENSOR_SEGMENTED_FROM", str(4 << 20))
    monkeypatch.setenv("VIDEO_CENSOR_CONNECTIONS", "4")
    fake_hub.cdn_rate = 1 << 20


def big_part(project):
    return cache_root() / "blobs" / f"{project.file('big.onnx').sha256}.part"


def start_segmented(project, cwd, until_fraction: float, *args: str):
    """A download process, once the ranges record of big.onnx says `until_fraction` is on disk."""
    from video_censor_personal.transfer.ranges import bytes_on_disk, ranges_path

    part = big_part(project)
    process = subprocess.Popen([sys.executable, "-m", "video_censor_personal", *args, "--download-models"],
                               cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ranges_path(part).exists() and bytes_on_disk(part, len(BIG)) >= until_fraction * len(BIG):
            break
        time.sleep(0.02)
    return part, process


def big_requests(fake_hub):
    return [r for r in fake_hub.requests if r.origin == "cdn" and "big.onnx" in r.path and r.method == "GET"]


@pytest.mark.slow
def test_sigkill_at_40_percent_of_a_segmented_download_then_rerun(fake_hub, project, tmp_path, segmented):
    from video_censor_personal.progress import format_size
    from video_censor_personal.transfer.ranges import bytes_on_disk, ranges_path

    part, process = start_segmented(project, tmp_path, 0.4, "--quiet")
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    done = bytes_on_disk(part, len(BIG))
    assert 0.4 * len(BIG) <= done < len(BIG) and not blob_of(project, "big.onnx").exists()
    fake_hub.clear_requests()
    fake_hub.cdn_rate = None
    result = invoke_in(tmp_path)
    assert result.returncode == 0, result.stderr
    sent = sum(r.bytes_sent for r in big_requests(fake_hub))
    assert sent == len(BIG) - done  # only the unfinished tail of each segment
    assert all(r.range for r in big_requests(fake_hub))
    assert view_of(project, "big.onnx").read_bytes() == BIG
    assert not part.exists() and not ranges_path(part).exists()
    # the summary counts the bytes really fetched (small.onnx too if the kill came first), not the prefix
    assert f"file(s), {format_size(fake_hub.cdn_bytes_sent)} in" in result.stderr


@pytest.mark.slow
def test_ctrl_c_during_a_segmented_download_keeps_the_ranges_and_says_so(fake_hub, project, tmp_path, segmented):
    from video_censor_personal.transfer.ranges import bytes_on_disk, ranges_path

    part, process = start_segmented(project, tmp_path, 0.2)
    process.send_signal(signal.SIGINT)
    code, stderr = process.wait(10), process.stderr.read()
    assert code == 130 and "error: interrupted" in stderr
    assert "hint: partial downloads are kept: run the same command again and it resumes" in stderr
    assert ranges_path(part).exists()
    done = bytes_on_disk(part, len(BIG))
    fake_hub.clear_requests()
    fake_hub.cdn_rate = None
    assert invoke_in(tmp_path).returncode == 0
    assert sum(r.bytes_sent for r in big_requests(fake_hub)) == len(BIG) - done


@pytest.mark.slow
def test_four_processes_with_a_segmented_file_fetch_each_byte_once(fake_hub, project, tmp_path, segmented):
    processes = [subprocess.Popen([sys.executable, "-m", "video_censor_personal", "--download-models"],
                                  cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
    outcomes = [(p.wait(60), p.stderr.read()) for p in processes]
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes
    assert sum(r.bytes_sent for r in big_requests(fake_hub)) == len(BIG)
    assert view_of(project, "big.onnx").read_bytes() == BIG
    waited = [stderr for _, stderr in outcomes if "note: net/big.onnx: another process is downloading it" in stderr]
    assert waited  # a waiting process says so, and its summary does not claim the bytes
    assert all("downloaded by another process meanwhile" in stderr for stderr in waited)
    assert all("Downloaded" not in stderr or ", 0 B in" not in stderr for _, stderr in outcomes)
