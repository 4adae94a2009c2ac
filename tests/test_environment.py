"""Which setting wins: command line, then environment, then [settings], then the default."""

from __future__ import annotations

from pathlib import Path

from tests.clirun import invoke
from video_censor_personal.config import Settings
from video_censor_personal.environment import build_runtime, read_token

SETTINGS = Settings(endpoint="https://settings.example", mirrors=("https://m3.example/{sha256}",),
                    timeout=12.0, retries=5, jobs=2)


def test_defaults_without_settings_or_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("VIDEO_CENSOR_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    runtime = build_runtime(Settings())
    assert runtime.endpoint == "https://huggingface.co" and runtime.endpoint_override is None
    assert (runtime.timeout, runtime.retries, runtime.jobs, runtime.offline) == (300.0, 3, 4, False)
    assert runtime.cache_dir == tmp_path / "xdg" / "video-censor"  # platformdirs honours XDG_CACHE_HOME


def test_settings_apply_and_environment_wins_over_them(tmp_path):
    runtime = build_runtime(SETTINGS, environ={"VIDEO_CENSOR_CACHE": str(tmp_path)})
    assert (runtime.endpoint, runtime.timeout, runtime.retries, runtime.jobs) == (
        "https://settings.example", 12.0, 5, 2)
    env = {"HF_ENDPOINT": "http://proxy.local:8080/", "VIDEO_CENSOR_MIRRORS": "file:///srv/a%20b https://m2/{path}",
           "HF_HUB_OFFLINE": "1", "VIDEO_CENSOR_CACHE": str(tmp_path)}
    runtime = build_runtime(SETTINGS, cli_mirrors=("https://m1/{sha256}",), environ=env)
    assert runtime.endpoint == runtime.endpoint_override == "http://proxy.local:8080"
    assert runtime.mirrors == ("https://m1/{sha256}", "file:///srv/a%20b", "https://m2/{path}",
                               "https://m3.example/{sha256}")
    assert runtime.offline is True and runtime.cache_dir == tmp_path


def test_cache_dir_option_wins_over_environment(tmp_path):
    runtime = build_runtime(Settings(), cli_cache_dir=tmp_path / "cli",
                            environ={"VIDEO_CENSOR_CACHE": str(tmp_path / "env")})
    assert runtime.cache_dir == tmp_path / "cli"


def test_token_from_environment_then_token_file(tmp_path):
    (tmp_path / "token").write_text("hf_from_file\n")
    assert read_token({"HF_TOKEN": "hf_env", "HF_HOME": str(tmp_path)}) == "hf_env"
    assert read_token({"HF_HOME": str(tmp_path)}) == "hf_from_file"
    assert read_token({"HF_HOME": str(tmp_path / "none")}) is None
    assert "hf_env" not in repr(build_runtime(Settings(), environ={"HF_TOKEN": "hf_env", "VIDEO_CENSOR_CACHE": "/x"}))


def test_models_group_paths_win_over_root_paths(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("root.toml").write_text('[models.a]\nrepo = "org/a"\n')
    Path("group.toml").write_text("")
    result = invoke(capsys, "--manifest", "root.toml", "models", "--manifest", "group.toml", "--lockfile",
                    "x.lock", "lock", "--check")
    assert result.exit_code == 1 and result.error_lines == ["error: x.lock is missing"]
    assert invoke(capsys, "--manifest", "group.toml", "models", "lock").exit_code == 0
    assert Path("models.lock").exists()


def test_usage_errors_use_the_error_format_and_exit_2(capsys):
    result = invoke(capsys, "models", "lock", "--bogus")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: No such option '--bogus'.",
                                          "hint: run `video-censor models lock --help` for usage"]


def test_debug_adds_a_traceback_but_keeps_the_error_line_and_exit_code(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.toml").write_text("[models.a]\nrepo = 3\n")
    plain = invoke(capsys, "models", "lock", "--check")
    debug = invoke(capsys, "--debug", "models", "lock", "--check")
    assert plain.exit_code == debug.exit_code == 2
    assert "Traceback" not in plain.stderr and "Traceback (most recent call last)" in debug.stderr
    assert debug.error_lines == plain.error_lines
