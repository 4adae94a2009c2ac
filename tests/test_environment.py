"""Which setting wins: command line, then environment, then [settings], then the default."""

from __future__ import annotations

from pathlib import Path

import pytest

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


# ---------------------------------------------------------------- URLs are checked before any work (issue 10.6)


def _project_with_a_missing_file(tmp_path: Path, url: str) -> None:
    """models.lock with one file at `url`, not cached: a download would have to fetch it."""
    from video_censor_personal.lockfile import LockedFile, LockedModel, Lockfile, write_lockfile

    locked = LockedFile("a.json", url, 2, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
    model = LockedModel("a", "org/a", "main", ("*",), (), "0" * 40, (locked,))
    write_lockfile(tmp_path / "models.lock", Lockfile("sha256:" + "0" * 64, (model,)))


@pytest.mark.parametrize(
    ("argv", "env", "words", "hint"),
    [
        (["--mirror", "/tmp/export"], {}, "--mirror '/tmp/export' is not an http(s)://, file:/// or s3:// URL",
         "hint: did you mean file:///tmp/export?"),
        (["--offline", "--mirror", "/tmp/export"], {}, "--mirror '/tmp/export' is not", "file:///tmp/export"),
        ([], {"VIDEO_CENSOR_MIRRORS": "https://ok.example/{sha256} /tmp/export"},
         "VIDEO_CENSOR_MIRRORS '/tmp/export' is not", "hint: did you mean file:///tmp/export?"),
        (["--offline"], {"VIDEO_CENSOR_MIRRORS": "/tmp/export"}, "VIDEO_CENSOR_MIRRORS '/tmp/export'", "file:///"),
        (["--mirror", "file:relative/dir"], {}, "is not an absolute file:/// URL", "/relative/dir?"),
        (["--mirror", "ftp://host/export"], {}, "'ftp://host/export' is not an http(s)://",
         "hint: write a mirror as https://HOST/..., file:///ABS/PATH or s3://BUCKET/PREFIX"),
        ([], {"HF_ENDPOINT": "127.0.0.1:8000"}, "HF_ENDPOINT '127.0.0.1:8000' is not an absolute http(s):// URL",
         "hint: did you mean http://127.0.0.1:8000?"),
    ],
)
def test_a_mirror_or_endpoint_that_is_no_url_exits_2_before_any_request(
        fake_hub, tmp_path, monkeypatch, capsys, argv, env, words, hint):
    monkeypatch.chdir(tmp_path)
    _project_with_a_missing_file(tmp_path, f"{fake_hub.url}/org/a/resolve/{'0' * 40}/a.json")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = invoke(capsys, *argv, "--download-models")
    assert result.exit_code == 2, result.stderr
    assert words in result.error_lines[0]
    assert hint in result.stderr
    assert fake_hub.requests == []  # refused at once: nothing was tried, nothing retried
    assert not (tmp_path / "cache").exists()


def test_an_endpoint_that_is_no_url_stops_lock_before_the_hub(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_ENDPOINT", "localhost:8000")
    (tmp_path / "models.toml").write_text('[models.a]\nrepo = "org/a"\n')
    result = invoke(capsys, "models", "lock")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: HF_ENDPOINT 'localhost:8000' is not an absolute http(s):// URL",
        "hint: did you mean http://localhost:8000?",
    ]


def test_good_mirrors_of_every_scheme_are_kept_in_order(tmp_path):
    env = {"VIDEO_CENSOR_MIRRORS": "s3://bucket/prefix file://localhost/srv/m", "VIDEO_CENSOR_CACHE": str(tmp_path)}
    runtime = build_runtime(Settings(), cli_mirrors=("file:///srv/export",), environ=env)
    assert runtime.mirrors == ("file:///srv/export", "s3://bucket/prefix", "file://localhost/srv/m")


# ---------------------------------------------------------------- paths the system refuses (issue 10.7)


@pytest.mark.parametrize("where", ["env", "option"])
def test_a_cache_directory_name_too_long_is_named(tmp_path, monkeypatch, capsys, where):
    monkeypatch.chdir(tmp_path)
    _project_with_a_missing_file(tmp_path, "https://huggingface.co/org/a/resolve/x/a.json")
    long_dir = str(tmp_path / ("c" * 300))
    if where == "env":
        monkeypatch.setenv("VIDEO_CENSOR_CACHE", long_dir)
        result = invoke(capsys, "models", "status")
    else:
        result = invoke(capsys, "--cache-dir", long_dir, "models", "status")
    assert result.exit_code == 2
    source = "VIDEO_CENSOR_CACHE" if where == "env" else "--cache-dir"
    assert result.error_lines == [
        f"error: {source}: a directory name in the cache path is longer than 255 bytes (300)"]
    assert "unexpected" not in result.stderr


def test_a_path_the_system_refuses_is_bad_input_not_a_bug(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("")
    result = invoke(capsys, "--lockfile", "a-file/models.lock", "models", "status")
    assert result.exit_code == 2
    assert result.error_lines == ["error: a-file/models.lock: Not a directory"]
    assert "unexpected" not in result.stderr


def test_a_nonsense_retry_sleep_scale_is_ignored(tmp_path):
    env = {"VIDEO_CENSOR_RETRY_SLEEP_SCALE": "fast", "VIDEO_CENSOR_CACHE": str(tmp_path)}
    assert build_runtime(Settings(), environ=env).retry_sleep_scale == 1.0


@pytest.mark.parametrize("value", ["big", "-1", "1e99", ""])
def test_a_nonsense_segmented_threshold_is_ignored(tmp_path, value):
    """The tests' knob for small segmented files, like the sleep scale: never a crash."""
    env = {"VIDEO_CENSOR_SEGMENTED_FROM": value, "VIDEO_CENSOR_CACHE": str(tmp_path)}
    assert build_runtime(Settings(), environ=env).segmented_from == 64 << 20


def test_a_mirror_host_that_does_not_resolve_is_named_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _project_with_a_missing_file(tmp_path, f"http://127.0.0.1:9/org/a/resolve/{'0' * 40}/a.json")
    result = invoke(capsys, "--mirror", "http://no-such-mirror.invalid/{sha256}", "--download-models")
    assert result.exit_code == 3
    assert "  http://no-such-mirror.invalid/44136fa3" in result.stderr
    assert "cannot resolve no-such-mirror.invalid" in result.stderr
    assert "cannot connect to http://127.0.0.1:9" in result.stderr  # a refused one is still said so
