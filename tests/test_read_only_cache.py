"""A read-only cache that holds every model (a restored CI cache, a container layer, an NFS
export) serves every file: status, path, verify, a no-op --download-models and analyze work;
only a download that is really needed fails, exit 2, naming the cache directory.

Each test runs twice: on a real read-only cache (as root a read-only bind mount, EROFS;
otherwise a tree without write permission, EACCES), and on a cache whose every write call
fails (the syscalls monkeypatched), which covers the paths the first one cannot reach.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.clirun import invoke
from tests.download_support import publish, write_lock
from tests.media import make_clip
from tests.tiny_project import make_project


def _bind_read_only(source: Path, target: Path) -> bool:
    target.mkdir()
    if os.geteuid() != 0:
        return False
    if subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True).returncode != 0:
        return False
    if subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], capture_output=True).returncode != 0:
        subprocess.run(["umount", str(target)], capture_output=True)
        return False
    return True


def _chmod_tree(root: Path, writable: bool) -> None:
    for directory, _, files in os.walk(root):
        for path in [Path(directory), *(Path(directory) / name for name in files)]:
            mode = path.stat().st_mode
            path.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _fail_writes_under(root: Path, monkeypatch) -> None:
    """Every call that would write below `root` fails as on a read-only filesystem."""
    def failing(original):
        def call(path, *args, **kwargs):
            if str(path).startswith(str(root)):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
            return original(path, *args, **kwargs)
        return call

    for module, name in ((os, "replace"), (os, "link"), (os, "utime"), (os, "mkdir"), (Path, "write_text"),
                         (Path, "touch"), (Path, "mkdir"), (Path, "write_bytes"), (Path, "unlink")):
        monkeypatch.setattr(module, name, failing(getattr(module, name)))


@pytest.fixture(params=["read-only", "failing-writes"])
def read_only_cache(request, tmp_path, fake_hub, monkeypatch, capsys):
    """The project downloaded into a cache, then that cache restored elsewhere (new inodes, so
    no record matches) and made read-only; VIDEO_CENSOR_CACHE points at the read-only copy."""
    monkeypatch.chdir(tmp_path)
    make_project(tmp_path, fake_hub)
    assert invoke(capsys, "--download-models").exit_code == 0
    restored = tmp_path / "restored"
    shutil.copytree(os.environ["VIDEO_CENSOR_CACHE"], restored)
    if request.param == "failing-writes":
        _fail_writes_under(restored, monkeypatch)
        yield restored
        return
    mounted = tmp_path / "ro-cache"
    if _bind_read_only(restored, mounted):
        yield mounted
        subprocess.run(["umount", str(mounted)], check=True)
        return
    monkeypatch.setenv("VIDEO_CENSOR_CACHE", str(restored))
    _chmod_tree(restored, writable=False)
    yield restored
    _chmod_tree(restored, writable=True)


def _in(cache: Path, monkeypatch) -> None:
    monkeypatch.setenv("VIDEO_CENSOR_CACHE", str(cache))


def test_every_reading_command_works_on_a_read_only_cache(read_only_cache, monkeypatch, capsys, fake_hub):
    _in(read_only_cache, monkeypatch)
    fake_hub.clear_requests()
    status = invoke(capsys, "models", "status", "--json")
    assert status.exit_code == 0, status.stderr
    assert {f["state"] for f in json.loads(status.stdout)["models"][0]["files"]} == {"unverified"}
    verify = invoke(capsys, "models", "verify")
    assert verify.exit_code == 0, verify.stderr
    path = invoke(capsys, "models", "path", "tiny")
    assert path.exit_code == 0, path.stderr
    assert Path(path.stdout.strip()).is_relative_to(read_only_cache)
    no_op = invoke(capsys, "--download-models")
    assert no_op.exit_code == 0, no_op.stderr
    assert fake_hub.requests == []
    assert not list(read_only_cache.rglob("*.tmp"))


def test_analyze_runs_from_a_read_only_cache(read_only_cache, monkeypatch, capsys, tmp_path):
    make_clip(tmp_path / "clip.mp4")
    _in(read_only_cache, monkeypatch)
    result = invoke(capsys, "--download-models", "analyze", "clip.mp4")
    assert result.exit_code == 0, result.stderr
    assert [s["label"] for s in json.loads(result.stdout)["segments"]] == ["nsfw"]


def test_a_download_really_needed_fails_with_exit_2_naming_the_cache(read_only_cache, monkeypatch, capsys,
                                                                      fake_hub, tmp_path):
    _in(read_only_cache, monkeypatch)
    other = publish(fake_hub, "other", {"w.onnx": b"w" * 100})
    write_lock(tmp_path / "models.lock", other)
    result = invoke(capsys, "--download-models")
    assert result.exit_code == 2, result.stderr
    assert result.error_lines[0].startswith(f"error: cannot write to the model cache {read_only_cache}")
    assert "hint: point VIDEO_CENSOR_CACHE or --cache-dir" in result.stderr
