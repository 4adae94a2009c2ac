"""`censor` without --report: the analysis runs in the same process, as `analyze` runs it.

The tiny brightness classifier (tests/tiny_models.py) on the fake Hub flags the bright part
(2-4 s) of a dark-bright-dark clip; blacked out, that part must come out black and the
rest as it was. The tiny object detector finds a bright square; only the square goes black.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.censor_clips import video_frames
from tests.clirun import invoke
from tests.media import DARK, make_clip, make_picture_clip
from tests.tiny_models import tiny_detector
from tests.tiny_project import make_project, write_project

DETECTOR_MANIFEST = """\
[models.det]
repo = "org/det"

[models.det.analysis]
kind = "object-detector"
file = "det.onnx"
labels = ["bright", "dark"]  # tests/tiny_models.py DETECTOR_LABELS
flag = ["bright"]
threshold = 0.5
input-size = 32
"""


def square_at(t: float):
    """A dark 128 x 64 frame with a bright 32 x 32 square at x 64-96, y 32-64 from 2 s to 4 s."""
    image = np.full((64, 128, 3), DARK, np.uint8)
    if 2.0 <= t < 4.0:
        image[32:64, 64:96] = 230
    return image


@pytest.fixture
def project(tmp_path, fake_hub, monkeypatch):
    """models.toml, its models.lock (the tiny model on the fake Hub) and clip.mp4 (bright 2-4 s)."""
    make_project(tmp_path, fake_hub)
    make_clip(tmp_path / "clip.mp4")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_download_models_analyse_and_censor_in_one_run(project, capsys):
    result = invoke(capsys, "--progress", "--download-models", "censor", "clip.mp4", "-o", "out.mp4",
                    "--video", "black")
    assert result.exit_code == 0, result.stderr
    assert "analysing: 100%" in result.stderr and "censoring: 100%" in result.stderr
    # sampled at 2 fps, the segment runs from the frame after the last dark sample (1.5 s) to
    # the first dark sample after the bright part (4.0 s): all that could be bright
    assert "censored 2.4 s of 6.0 s (video black, audio keep)" in result.stderr
    frames = video_frames(project / "out.mp4")
    assert len(frames) == 60
    for t, image in frames:
        expected = 0 if 1.6 <= t < 4.0 else DARK
        assert abs(float(image.mean()) - expected) < 4, (t, image.mean())


def test_the_root_flag_works_too_and_the_models_stay_cached(project, capsys, monkeypatch):
    assert invoke(capsys, "censor", "--download-models", "clip.mp4", "-o", "first.mp4").exit_code == 0
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = invoke(capsys, "censor", "clip.mp4", "-o", "out.mp4", "--video", "cut", "--fps", "5")
    assert result.exit_code == 0, result.stderr
    assert "cut 2.1 s of 6.0 s" in result.stderr  # 1.9 s (after the dark sample at 1.8 s) to 4.0 s
    assert [round(t, 1) for t, _ in video_frames(project / "out.mp4")] == [i / 10 for i in range(39)]
    assert all(abs(float(image.mean()) - DARK) < 4 for _, image in video_frames(project / "out.mp4"))


def test_pad_widens_what_is_censored_as_for_analyze(project, capsys):
    result = invoke(capsys, "--download-models", "censor", "clip.mp4", "-o", "out.mp4", "--video", "black",
                    "--pad", "0.5")
    assert result.exit_code == 0 and "censored 3.4 s of 6.0 s" in result.stderr
    black = [round(t, 1) for t, image in video_frames(project / "out.mp4") if image.mean() < 4]
    assert black == [round(1.1 + i / 10, 1) for i in range(34)]  # 1.1 s to 4.5 s


def test_an_object_detector_censors_only_its_boxes(tmp_path, fake_hub, monkeypatch, capsys):
    write_project(tmp_path, fake_hub, DETECTOR_MANIFEST, "det", {"det.onnx": tiny_detector()}, "org/det")
    make_picture_clip(tmp_path / "square.mp4", square_at, seconds=6)
    monkeypatch.chdir(tmp_path)
    result = invoke(capsys, "--download-models", "censor", "square.mp4", "-o", "out.mp4", "--video", "black")
    assert result.exit_code == 0, result.stderr
    for t, image in video_frames(tmp_path / "out.mp4"):
        far_from_the_square = image[:, :56]
        assert abs(float(far_from_the_square.mean()) - DARK) < 4, t
        if 2.0 <= t < 4.0:
            assert image[32:64, 64:96].max() < 12, t  # the square (and its margin) is black
        elif not 1.5 < t < 4.0:
            assert abs(float(image.mean()) - DARK) < 4, t  # outside the segment: as it was


def test_missing_models_stop_it_before_anything_is_written(project, capsys, fake_hub):
    result = invoke(capsys, "censor", "clip.mp4", "-o", "out.mp4")
    assert result.exit_code == 1
    assert result.error_lines == ["error: models not downloaded: tiny"]
    assert "hint: run `video-censor --download-models censor clip.mp4 -o out.mp4`" in result.stderr
    assert fake_hub.count() == 0 and not (project / "out.mp4").exists()


def test_the_hint_repeats_the_root_options(project, capsys):
    (project / "models.toml").rename(project / "other.toml")
    result = invoke(capsys, "--manifest", "other.toml", "--mirror", "file:///srv/m", "censor", "clip.mp4", "-o",
                    "o u t.mp4")
    assert result.exit_code == 1
    assert ("hint: run `video-censor --manifest other.toml --mirror file:///srv/m --download-models censor clip.mp4 "
            "-o 'o u t.mp4'`") in result.stderr


def test_a_bad_output_is_caught_before_the_analysis(project, capsys, fake_hub):
    result = invoke(capsys, "--progress", "--download-models", "censor", "clip.mp4", "-o", "no/dir/out.mp4")
    assert result.exit_code == 2 and "analysing" not in result.stderr and fake_hub.count() == 0


def test_help_loads_no_media_library():
    code = "import sys; from video_censor_personal.cli import main\ntry: main(['censor', '--help'])\n" \
           "except SystemExit: pass\nprint(sorted({'av', 'numpy', 'onnxruntime'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().endswith("[]")
    for option in ("--report", "--video [blur|black|pixelate|cut]", "--audio [keep|mute|bleep]", "--download-models"):
        assert option in done.stdout
