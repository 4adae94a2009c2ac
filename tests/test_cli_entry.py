"""How the program is started and how it answers a misplaced option: `python -m video_censor`,
`-V`, shell completion, a root option after the command, `--debug`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.clirun import invoke
from tests.download_support import payload, publish, view_of, write_lock


@pytest.mark.parametrize(("argv", "fixed"), [
    (("models", "lock", "--offline"), "video-censor --offline models lock"),
    (("analyze", "clip.mp4", "--offline"), "video-censor --offline analyze clip.mp4"),
    (("models", "status", "--cache-dir", "/tmp/c", "--json"), "video-censor --cache-dir /tmp/c models status --json"),
    (("models", "download", "--mirror=file:///srv/m"), "video-censor --mirror=file:///srv/m models download"),
])
def test_a_root_option_after_the_command_says_where_it_goes(capsys, argv, fixed):
    result = invoke(capsys, *argv)
    assert result.exit_code == 2
    option = next(word for word in argv if word.startswith("--")).split("=")[0]
    assert result.error_lines == [f"error: No such option '{option}'."]
    assert f"hint: {option} is a root option and goes before the command: `{fixed}`" in result.stderr


def test_an_unknown_option_still_points_at_help(capsys):
    result = invoke(capsys, "models", "lock", "--dryrun")
    assert result.exit_code == 2 and "hint: run `video-censor models lock --help` for usage" in result.stderr


def test_dash_capital_v_prints_the_version(capsys):
    result = invoke(capsys, "-V")
    assert result.exit_code == 0 and result.stdout == "video-censor, version 0.1.0\n"


def _completion(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "video_censor_personal"], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_shell_completion_works_as_the_help_says(capsys):
    help_text = invoke(capsys, "--help").stdout
    assert 'eval "$(_VIDEO_CENSOR_COMPLETE=bash_source video-censor)"' in help_text
    script = _completion({"_VIDEO_CENSOR_COMPLETE": "bash_source"})
    assert "complete " in script and "_VIDEO_CENSOR_COMPLETE=bash_complete" in script
    words = _completion({"_VIDEO_CENSOR_COMPLETE": "bash_complete", "COMP_WORDS": "video-censor models lo",
                         "COMP_CWORD": "2"})
    assert words.split() == ["plain,lock"]


@pytest.mark.slow
def test_python_m_video_censor_downloads_models(fake_hub, tmp_path):
    """The command of the original brief: `python -m video_censor --download-models`."""
    model = publish(fake_hub, "tiny", {"model.onnx": payload(1000), "config.json": b"{}"})
    write_lock(tmp_path / "models.lock", model)
    done = subprocess.run([sys.executable, "-m", "video_censor", "--download-models"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    assert view_of(model, "model.onnx").read_bytes() == payload(1000)
    assert "Downloaded 2 file(s)" in done.stderr


def test_debug_prints_the_traceback_then_the_same_error_hint_and_exit_code(capsys, tmp_path, monkeypatch):
    """What docs/troubleshooting.md says of --debug."""
    monkeypatch.chdir(tmp_path)
    write_lock(tmp_path / "models.lock")
    plain = invoke(capsys, "models", "path", "nfsw")
    debug = invoke(capsys, "--debug", "models", "path", "nfsw")
    assert plain.exit_code == debug.exit_code == 2
    assert debug.stderr.startswith("Traceback (most recent call last):")
    assert debug.stderr.endswith(plain.stderr)
    assert "UsageError: unknown model: nfsw" in debug.stderr
