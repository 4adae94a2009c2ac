"""The `connections` setting (CLI > VIDEO_CENSOR_CONNECTIONS > [settings] > 8) and what the
user sees around a transfer: the progress bar's speed, the notes, the summary."""

from __future__ import annotations

import re
import time

import pytest

from tests.clirun import invoke
from tests.download_support import payload, publish, view_of, write_lock
from video_censor_personal.config import Settings
from video_censor_personal.environment import build_runtime
from video_censor_personal.errors import UsageError

BIG = payload(8 << 20, seed=21)


def test_connections_precedence_cli_then_environment_then_settings_then_8(tmp_path):
    settings = Settings(connections=3)
    env = {"VIDEO_CENSOR_CACHE": str(tmp_path), "VIDEO_CENSOR_CONNECTIONS": "5"}
    assert build_runtime(settings, cli_connections=2, environ=env).connections == 2
    assert build_runtime(settings, environ=env).connections == 5
    assert build_runtime(settings, environ={"VIDEO_CENSOR_CACHE": str(tmp_path)}).connections == 3
    assert build_runtime(Settings(), environ={"VIDEO_CENSOR_CACHE": str(tmp_path)}).connections == 8


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_connections_variable_is_bad_input(tmp_path, value):
    with pytest.raises(UsageError) as caught:
        build_runtime(Settings(), environ={"VIDEO_CENSOR_CACHE": str(tmp_path), "VIDEO_CENSOR_CONNECTIONS": value})
    assert caught.value.exit_code == 2 and "VIDEO_CENSOR_CONNECTIONS must be an integer >= 1" in caught.value.message


@pytest.mark.parametrize("value", ["0", "2.5", '"8"', "true"])
def test_a_bad_connections_setting_names_file_and_line(capsys, tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.toml").write_text(f"[settings]\njobs = 2\nconnections = {value}\n")
    write_lock(tmp_path / "models.lock")
    result = invoke(capsys, "--download-models")
    assert result.exit_code == 2
    assert result.error_lines[0].startswith("error: models.toml:3: connections must be an integer >= 1")


def test_connections_option_must_be_a_positive_integer(capsys):
    result = invoke(capsys, "--connections", "0", "--download-models")
    assert result.exit_code == 2 and result.error_lines


@pytest.fixture
def big_project(fake_hub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIDEO_CENSOR_SEGMENTED_FROM", str(4 << 20))
    model = publish(fake_hub, "big", {"w.onnx": BIG})
    write_lock(tmp_path / "models.lock", model)
    (tmp_path / "models.toml").write_text("[settings]\nconnections = 3\n")
    return model


def cdn_gets(fake_hub):
    return [r for r in fake_hub.requests if r.origin == "cdn" and r.method == "GET"]


def test_connections_option_wins_and_1_means_one_stream(capsys, fake_hub, big_project, monkeypatch):
    monkeypatch.setenv("VIDEO_CENSOR_CONNECTIONS", "4")
    result = invoke(capsys, "--connections", "1", "--download-models")
    assert result.exit_code == 0, result.stderr
    assert [r.range for r in cdn_gets(fake_hub)] == [None]
    assert view_of(big_project, "w.onnx").read_bytes() == BIG


def test_settings_connections_segment_a_large_file(capsys, fake_hub, big_project):
    result = invoke(capsys, "--download-models")
    assert result.exit_code == 0, result.stderr
    assert len(cdn_gets(fake_hub)) == 8 and all(r.status == 206 for r in cdn_gets(fake_hub))
    assert view_of(big_project, "w.onnx").read_bytes() == BIG


def test_resumed_bytes_move_the_bar_but_not_its_speed(capsys):
    from video_censor_personal.cli.download_cmds import TqdmReporter

    reporter = TqdmReporter()
    reporter.start(100 << 20, 1)
    reporter.resumed(90 << 20)  # a resumed prefix: counted at once, in no time
    for _ in range(2):
        time.sleep(0.25)
        reporter.advance(1 << 20)  # then 1 MiB every 0.25 s: about 4 MiB/s
    bar = reporter._bar
    assert bar.n == 92 << 20
    assert bar.format_dict["rate"] < 10 << 20  # not 90 MiB in half a second
    reporter.finish()
    final = capsys.readouterr().err.split("\r")[-1]  # the bar as it is left on screen
    value, unit = re.search(r"([\d.]+)([kMGT]?)B/s", final).groups()
    scale = {"": 1, "k": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[unit]
    assert "92.0M/100M" in final and float(value) * scale < 10 << 20


def test_wrong_bytes_in_a_segment_twice_exit_1_and_nothing_at_the_final_path(capsys, fake_hub, big_project):
    from tests.download_support import blob_of
    from tests.fakehub import Fault

    fake_hub.add_fault(Fault("corrupt", origin="cdn", times=None, offset=4321))
    result = invoke(capsys, "--download-models")
    sha = big_project.file("w.onnx").sha256
    assert result.exit_code == 1 and f"big/w.onnx: sha256 mismatch from every source: expected {sha}, got " in (
        result.stderr)
    assert len(cdn_gets(fake_hub)) == 16  # the whole file once more from scratch, then no more
    assert not blob_of(big_project, "w.onnx").exists() and not view_of(big_project, "w.onnx").exists()
