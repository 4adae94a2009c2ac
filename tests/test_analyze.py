"""`video-censor analyze` end to end: a tiny real model served by the fake Hub, a real clip.

The clip is 6 s, dark, then bright from 2 s to 4 s, then dark; the tiny model's "nsfw"
score follows brightness, so the one right answer is a single segment over 2 s - 4 s.
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clirun import invoke
from tests.download_support import flip_byte, view_of
from tests.media import dark_bright_dark, make_audio_only, make_clip, make_not_a_video, make_zero_length
from tests.tiny_project import MANIFEST, make_project

FIX = "video-censor --download-models analyze clip.mp4"


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("media") / "clip.mp4").read_bytes()


@pytest.fixture
def project(tmp_path, fake_hub, monkeypatch, clip_bytes):
    """A directory with models.toml, its models.lock (tiny model on the fake Hub) and clip.mp4."""
    locked = make_project(tmp_path, fake_hub)
    (tmp_path / "clip.mp4").write_bytes(clip_bytes)
    monkeypatch.chdir(tmp_path)
    return locked


def assert_bright_part_found(report: dict, commit: str) -> None:
    assert report["video"] == "clip.mp4" and report["fps_sampled"] == 2
    assert report["duration"] == pytest.approx(6.0) and report["models"] == {"tiny": commit}
    [segment] = report["segments"]
    assert segment["model"] == "tiny" and segment["label"] == "nsfw" and segment["score"] > 0.99
    assert segment["start"] == pytest.approx(2.0, abs=0.5) and segment["end"] == pytest.approx(4.0, abs=0.5)


def test_download_models_then_analyse_in_one_run(project, capsys):
    result = invoke(capsys, "--download-models", "analyze", "clip.mp4")
    assert result.exit_code == 0, result.stderr
    assert_bright_part_found(json.loads(result.stdout), project.commit)


def test_analyze_accepts_the_flag_too_and_writes_report_and_edl(project, capsys, tmp_path):
    result = invoke(capsys, "analyze", "--download-models", "clip.mp4", "-o", "report.json", "--edl", "skip.edl")
    assert result.exit_code == 0 and result.stdout == ""
    assert_bright_part_found(json.loads((tmp_path / "report.json").read_text()), project.commit)
    # the last dark sample is the frame at 1.5 s: the bright part may begin on the next frame (1.6 s)
    assert (tmp_path / "skip.edl").read_text() == "1.600 4.000 0\n"


@pytest.fixture(scope="module")
def between_samples_bytes(tmp_path_factory):
    """10 fps, 6 s, bright from 2.2 s to 3.7 s: both ends fall between samples at most --fps values."""
    path = tmp_path_factory.mktemp("media") / "between.mp4"
    return make_clip(path, gray=dark_bright_dark((2.2, 3.7))).read_bytes()


@pytest.mark.parametrize(
    "fps, start, end",
    [
        (2, 2.1, 4.0),  # clean samples at 2.0 s and 4.0 s: it may begin on the frame after 2.0 s
        (3, 2.1, 3.7),  # sample times 2.33 s and 3.67 s take the frames at 2.4 s and 3.7 s
        (7, 2.1, 3.8),  # 3.71 s takes the frame at 3.8 s, the first clean one after
        (10, 2.2, 3.7),  # every frame: exactly the bright frames
        (25, 2.2, 3.7),  # above the frame rate: frames' own times, not 2.12 s and 3.64 s
        (60, 2.2, 3.7),
    ],
)
def test_a_segment_covers_content_that_starts_and_ends_between_samples(project, capsys, tmp_path,
                                                                        between_samples_bytes, fps, start, end):
    (tmp_path / "clip.mp4").write_bytes(between_samples_bytes)
    result = invoke(capsys, "--download-models", "analyze", "clip.mp4", "--fps", str(fps))
    assert result.exit_code == 0, result.stderr
    [segment] = json.loads(result.stdout)["segments"]
    assert (segment["start"], segment["end"]) == (start, end)
    assert segment["start"] <= 2.2 and segment["end"] >= 3.7  # nothing bright plays


@pytest.mark.parametrize("pad, start, end", [(0.3, 1.8, 4.3), (2.5, 0.0, 6.0)])
def test_pad_widens_segments_within_the_video(project, capsys, tmp_path, between_samples_bytes, pad, start, end):
    (tmp_path / "clip.mp4").write_bytes(between_samples_bytes)
    result = invoke(capsys, "--download-models", "analyze", "clip.mp4", "--pad", str(pad), "--edl", "skip.edl")
    assert result.exit_code == 0, result.stderr
    [segment] = json.loads(result.stdout)["segments"]
    assert (segment["start"], segment["end"]) == (start, end)
    assert (tmp_path / "skip.edl").read_text() == f"{start:.3f} {end:.3f} 0\n"


def test_a_negative_pad_is_a_usage_error(project, capsys):
    result = invoke(capsys, "analyze", "clip.mp4", "--pad", "-1")
    assert result.exit_code == 2 and "--pad" in result.stderr


def test_missing_models_stop_it_before_any_decoding(project, capsys, fake_hub):
    result = invoke(capsys, "--progress", "analyze", "clip.mp4")
    assert result.exit_code == 1 and result.stdout == ""
    assert len(result.error_lines) == 1 and "tiny" in result.error_lines[0]
    assert f"hint: run `{FIX}`" in result.stderr
    assert "analysing" not in result.stderr  # the progress bar over the video never started
    assert fake_hub.count() == 0  # and nothing was downloaded


def test_once_downloaded_it_runs_offline(project, capsys, monkeypatch):
    assert invoke(capsys, "models", "download").exit_code == 0
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = invoke(capsys, "analyze", "clip.mp4")
    assert result.exit_code == 0, result.stderr
    assert_bright_part_found(json.loads(result.stdout), project.commit)


def test_a_corrupted_model_file_is_caught_before_onnxruntime_opens_it(project, capsys):
    assert invoke(capsys, "models", "download").exit_code == 0
    flip_byte(view_of(project, "onnx/model.onnx"), offset=10)
    result = invoke(capsys, "analyze", "clip.mp4")
    assert result.exit_code == 1 and result.stdout == ""
    assert "tiny" in result.error_lines[0] and "onnx/model.onnx (invalid)" in result.stderr
    assert "onnxruntime" not in result.stderr
    repaired = invoke(capsys, "--download-models", "analyze", "clip.mp4")
    assert repaired.exit_code == 0, repaired.stderr
    assert_bright_part_found(json.loads(repaired.stdout), project.commit)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: p, "file not found"),
        (make_not_a_video, "not a video file"),
        (make_audio_only, "no video stream"),
        (make_zero_length, "no video stream"),
    ],
    ids=["missing", "not-a-video", "audio-only", "zero-length"],
)
def test_bad_input_exits_2_with_one_clear_line(project, capsys, tmp_path, make, words):
    make(tmp_path / "input.mp4")
    result = invoke(capsys, "--download-models", "analyze", "input.mp4")
    assert result.exit_code == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()  # one line, no traceback
    assert line.startswith("error: cannot read video input.mp4: ") and words in line


def test_a_model_missing_from_the_lock_is_exit_2_naming_the_fix(project, capsys, tmp_path):
    (tmp_path / "models.toml").write_text(MANIFEST.replace("tiny", "other"), encoding="utf-8")
    result = invoke(capsys, "analyze", "clip.mp4")
    assert result.exit_code == 2
    assert result.error_lines == ["error: model 'other' is not in models.lock (the lock is out of date)"]
    assert "hint: run `video-censor models lock`" in result.stderr


@pytest.mark.parametrize(
    "manifest, words",
    [
        (MANIFEST.split("[models.tiny.analysis]")[0], "no model has an analysis table"),
        (MANIFEST.replace('repo = "org/tiny-nsfw"', 'repo = "org/tiny-nsfw"\ninclude = ["onnx/*"]'),
         "models.lock is out of date with models.toml"),
        (MANIFEST.replace('file = "onnx/model.onnx"', 'file = "onnx/model_fp16.onnx"'),
         "'onnx/model_fp16.onnx' is not among its locked files"),
    ],
    ids=["no-analysis-table", "stale-lock", "file-not-locked"],
)
def test_manifest_and_lock_disagreements_are_exit_2_before_any_work(project, capsys, tmp_path, manifest, words):
    (tmp_path / "models.toml").write_text(manifest, encoding="utf-8")
    result = invoke(capsys, "--download-models", "analyze", "clip.mp4")
    assert result.exit_code == 2 and len(result.error_lines) == 1 and words in result.error_lines[0]
    assert "hint:" in result.stderr


def test_a_full_disk_keeps_the_previous_report_whole(project, capsys, tmp_path, mocker):
    """ENOSPC cannot be provoked without a full file system: the flush to disk fails, as it would."""
    previous = '{"video": "clip.mp4", "segments": []}'
    (tmp_path / "report.json").write_text(previous, encoding="utf-8")
    mocker.patch("video_censor_personal.atomic.os.fsync", side_effect=OSError(errno.ENOSPC, "No space left"))
    result = invoke(capsys, "--download-models", "analyze", "clip.mp4", "-o", "report.json")
    assert result.exit_code == 4
    assert result.error_lines == ["error: cannot write report.json: the disk is full"]
    assert (tmp_path / "report.json").read_text() == previous
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".report.json")) == []


def test_an_output_with_nowhere_to_go_fails_before_the_analysis(project, capsys):
    result = invoke(capsys, "--progress", "--download-models", "analyze", "clip.mp4", "-o", "no/such/dir/r.json")
    assert result.exit_code == 2
    assert result.error_lines == ["error: cannot write no/such/dir/r.json: directory no/such/dir does not exist"]
    assert "analysing" not in result.stderr


def test_progress_bar_over_the_video_when_forced(project, capsys):
    result = invoke(capsys, "--progress", "--download-models", "analyze", "clip.mp4")
    assert result.exit_code == 0
    assert "analysing: 100%" in result.stderr and "6.0/6.0 s" in result.stderr


def test_help_loads_no_analysis_library():
    code = "import sys; from video_censor_personal.cli import main\ntry: main(['analyze', '--help'])\n" \
           "except SystemExit: pass\nprint(sorted({'av', 'numpy', 'onnxruntime'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().endswith("[]") and "--download-models" in done.stdout


@pytest.mark.slow
def test_the_offline_demo_runs_the_whole_flow():
    """demo/run_demo.py is what the README shows newcomers: it must keep working, to the censored copy."""
    done = subprocess.run([sys.executable, "demo/run_demo.py"], capture_output=True, text=True, timeout=180,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hint: run `video-censor --download-models analyze clip.mp4`" in done.stdout
    assert '"start": 4.1' in done.stdout and "4.100 7.000 0" in done.stdout  # bright from 4.2 s, sampled at 4.5 s
    assert "$ video-censor censor clip.mp4 -o clip.censored.mp4 --report report.json --video black" in done.stdout
    assert "censored 2.9 s of 10.0 s (video black, audio keep)" in done.stdout
    assert "the censored copy: " in done.stdout and "from 4.1 s to 7.0 s" in done.stdout
