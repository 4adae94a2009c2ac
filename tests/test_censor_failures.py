"""`censor` when something is wrong: bad input, a bad report, an output that cannot be
written, a failure in the middle, Ctrl-C. In every case OUT is left as it was (absent, or
its old content), no hidden temp file stays behind, and the exit code is DESIGN's: 2 for
bad input or an unwritable output, 4 for a full disk, 130 for Ctrl-C.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.censor_clips import make_clip, workdir_with
from tests.clirun import invoke
from tests.media import make_not_a_video
from video_censor_personal.censoring.writer import _write_error
from video_censor_personal.errors import DiskSpaceError

ROOT = Path(__file__).resolve().parents[1]
REPORT = {"video": "clip.mp4", "duration": 4.0, "fps_sampled": 2, "models": {},
          "segments": [{"start": 1.0, "end": 2.0, "label": "nsfw", "score": 0.9, "model": "m"}]}


@pytest.fixture
def workdir(tmp_path, monkeypatch, clip_bytes):
    return workdir_with(tmp_path, monkeypatch, clip_bytes, REPORT)


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("media") / "clip.mp4").read_bytes()


def leftovers(directory: Path) -> list[str]:
    """Temp files of an output that never completed."""
    return sorted(path.name for path in directory.rglob(".*.part.*"))


def test_a_file_that_is_not_a_video_is_exit_2_and_writes_nothing(workdir, capsys):
    make_not_a_video(workdir / "subs.mp4")
    result = invoke(capsys, "censor", "subs.mp4", "-o", "out.mp4", "--report", "report.json")
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: cannot read video subs.mp4: not a video file")
    assert not (workdir / "out.mp4").exists() and leftovers(workdir) == []


def test_a_truncated_video_is_exit_2_and_writes_nothing(workdir, capsys, clip_bytes):
    (workdir / "cut.mp4").write_bytes(clip_bytes[: len(clip_bytes) // 2])  # an interrupted copy
    result = invoke(capsys, "censor", "cut.mp4", "-o", "out.mp4", "--report", "report.json")
    assert result.exit_code == 2 and result.error_lines[0].startswith("error: cannot read video cut.mp4: ")
    assert not (workdir / "out.mp4").exists() and leftovers(workdir) == []


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"segments": [\n  {"start": 1, "end": 2}\n  {"start": 3}]}',
         "error: report.json line 3: not valid JSON (Expecting ',' delimiter)"),
        ('{"video": "clip.mp4"}', 'error: report.json: not an analysis report (no "segments" list)'),
        (json.dumps({"segments": [{"start": 2, "end": 1}]}),
         "error: report.json: segment 1: needs 0 <= start <= end, got start 2.0 and end 1.0"),
        (json.dumps({"segments": [{"start": 1, "end": "2"}]}),
         'error: report.json: segment 1: "end" must be a number, not "2"'),
        (json.dumps({"fps_sampled": 2, "segments": [{"start": 1, "end": 2, "boxes": [
            {"t": 1, "x": 0.5, "y": 0.5, "w": 1.5, "h": 0.1}]}]}),
         "error: report.json: segment 1, box 1: x, y, w, h are fractions of the frame (0-1, w and h above 0), "
         "got 0.5, 0.5, 1.5, 0.1"),
        (json.dumps({"segments": [{"start": 1, "end": 2, "boxes": [
            {"t": 1, "x": 0.5, "y": 0.5, "w": 0.1, "h": 0.1}]}]}),
         'error: report.json: segments have boxes but "fps_sampled" is missing '
         "(boxes are held for one sample interval)"),
        (json.dumps({**REPORT, "duration": 60.0}),
         "error: report.json is the report of another video: it says 60.0 s, clip.mp4 lasts 4.0 s"),
    ],
    ids=["bad-json", "not-a-report", "end-before-start", "string-number", "box-outside-frame",
         "boxes-without-fps", "another-video"],
)
def test_a_bad_report_is_exit_2_naming_file_and_segment(workdir, capsys, content, message):
    (workdir / "report.json").write_text(content, encoding="utf-8")
    result = invoke(capsys, "censor", "clip.mp4", "-o", "out.mp4", "--report", "report.json")
    assert result.exit_code == 2 and result.error_lines == [message]
    assert "hint: " in result.stderr and not (workdir / "out.mp4").exists()


def test_a_missing_report_is_exit_2(workdir, capsys):
    result = invoke(capsys, "censor", "clip.mp4", "-o", "out.mp4", "--report", "nope.json")
    assert result.exit_code == 2 and result.error_lines == ["error: cannot read report nope.json: file not found"]


@pytest.mark.parametrize(
    "output, message",
    [
        ("no/such/dir/out.mp4", "error: cannot write no/such/dir/out.mp4: directory no/such/dir does not exist"),
        (".", "error: cannot write .: it is a directory"),
        ("clip.mp4", "error: cannot write clip.mp4: it is the input video"),
        ("out.xyz", "error: cannot write out.xyz: FFmpeg knows no container format for the extension '.xyz'"),
    ],
    ids=["missing-directory", "a-directory", "the-input", "unknown-extension"],
)
def test_an_output_that_cannot_be_written_is_exit_2(workdir, capsys, clip_bytes, output, message):
    result = invoke(capsys, "censor", "clip.mp4", "-o", output, "--report", "report.json")
    assert result.exit_code == 2 and result.error_lines == [message]
    assert (workdir / "clip.mp4").read_bytes() == clip_bytes and leftovers(workdir) == []
    assert not (workdir / "out.xyz").exists()


def test_a_stream_the_output_cannot_hold_fails_and_keeps_the_old_output(workdir, capsys):
    make_clip(workdir / "clip.mkv", subtitles=True)
    (workdir / "out.mp4").write_bytes(b"an earlier censored copy")
    result = invoke(capsys, "censor", "clip.mkv", "-o", "out.mp4", "--report", "report.json")
    assert result.exit_code == 2
    assert result.error_lines == ["error: cannot write out.mp4: a .mp4 file cannot hold stream #2 (subtitle, srt)"]
    assert "hint: write to a .mkv file" in result.stderr
    assert (workdir / "out.mp4").read_bytes() == b"an earlier censored copy" and leftovers(workdir) == []


def test_an_existing_output_is_replaced_only_when_complete(workdir, capsys):
    (workdir / "out.mp4").write_bytes(b"old")
    os.chmod(workdir / "out.mp4", 0o640)
    assert invoke(capsys, "censor", "clip.mp4", "-o", "out.mp4", "--report", "report.json").exit_code == 0
    assert (workdir / "out.mp4").read_bytes()[4:8] == b"ftyp" and leftovers(workdir) == []
    assert (workdir / "out.mp4").stat().st_mode & 0o777 == 0o640  # the file keeps its permissions


def _limit_file_size() -> None:
    """In the child: files may not grow past 40 kB; a write past it fails (EFBIG) instead of killing."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))


@pytest.mark.slow
def test_a_write_that_fails_midway_leaves_nothing(workdir):
    """A real write failure in a real process: the output outgrows the file size limit."""
    done = subprocess.run([sys.executable, "-m", "video_censor_personal", "censor", "clip.mp4", "-o", "out.mp4",
                           "--report", "report.json"], preexec_fn=_limit_file_size, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert "error: cannot write out.mp4: File too large" in done.stderr and "Traceback" not in done.stderr
    assert not (workdir / "out.mp4").exists() and leftovers(workdir) == []


def test_a_full_disk_is_exit_4():
    """ENOSPC cannot be provoked without a full file system; the mapping is what matters."""
    error = _write_error(Path("out.mp4"), OSError(errno.ENOSPC, "No space left on device"))
    assert isinstance(error, DiskSpaceError) and error.exit_code == 4
    assert error.message == "cannot write out.mp4: the disk is full"


@pytest.mark.slow
@pytest.mark.parametrize(("sent", "code", "said"), [(signal.SIGINT, 130, "error: interrupted"),
                                                   (signal.SIGTERM, 143, "error: terminated")])
def test_ctrl_c_or_sigterm_leaves_nothing_at_out(tmp_path, sent, code, said):
    make_clip(tmp_path / "long.mp4", seconds=30)
    report = {**REPORT, "duration": 30.0, "segments": [{"start": 0.0, "end": 30.0}]}
    (tmp_path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    child = subprocess.Popen([sys.executable, "-m", "video_censor_personal", "censor", "long.mp4", "-o", "out.mp4",
                              "--report", "report.json", "--audio", "bleep"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not leftovers(tmp_path) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert leftovers(tmp_path), "the censored copy was never started"
    time.sleep(0.1)  # well into the writing
    child.send_signal(sent)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == code, stderr
    assert stderr.splitlines()[-1] == said
    assert not (tmp_path / "out.mp4").exists() and leftovers(tmp_path) == []
