"""The download commands end to end, in-process: exit codes, stdout/stderr, bytes on disk."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.clirun import invoke
from tests.download_support import blob_of, flip_byte, payload, publish, view_of, write_lock
from tests.fakehub import Fault

TOKEN = "hf_validtoken"
WEIGHTS = payload(2 << 20, seed=2)


@pytest.fixture
def project(fake_hub, tmp_path, monkeypatch):
    """A directory with models.lock for two models (one LFS file shared by both) and no manifest."""
    monkeypatch.chdir(tmp_path)
    first = publish(fake_hub, "first", {"config.json": b'{"a": 1}', "onnx/model.onnx": WEIGHTS})
    second = publish(fake_hub, "second", {"weights.bin": WEIGHTS, "notes.txt": b"hello"})
    write_lock(tmp_path / "models.lock", first, second)
    return {"first": first, "second": second}


def status_states(capsys) -> dict[str, str]:
    result = invoke(capsys, "models", "status", "--json")
    assert result.exit_code == 0, result.stderr
    return {f"{m['name']}/{f['path']}": f["state"] for m in json.loads(result.stdout)["models"] for f in m["files"]}


def test_download_models_then_path_gives_the_original_layout(capsys, fake_hub, project):
    result = invoke(capsys, "--download-models")
    assert result.exit_code == 0, result.stderr
    assert fake_hub.count(origin="cdn", method="GET") == 1  # one blob for two paths with the same bytes
    path = invoke(capsys, "models", "path", "first")
    assert path.exit_code == 0 and path.stderr == ""
    directory = Path(path.stdout.strip())
    assert (directory / "onnx" / "model.onnx").read_bytes() == WEIGHTS
    assert (directory / "config.json").read_bytes() == b'{"a": 1}'
    assert set(status_states(capsys).values()) == {"present"}


def test_no_op_rerun_sends_no_request(capsys, fake_hub, project):
    assert invoke(capsys, "models", "download").exit_code == 0
    fake_hub.clear_requests()
    result = invoke(capsys, "--download-models")
    assert result.exit_code == 0 and fake_hub.requests == []
    assert "present" in result.stderr


def test_no_op_trusts_the_stat_record_and_verify_does_not(capsys, project):
    """Proof that a no-op hashes nothing: bytes changed behind an unchanged (size, mtime, inode)
    go unnoticed by download, and are caught by the full re-hash of `verify`."""
    assert invoke(capsys, "--download-models").exit_code == 0
    view = view_of(project["first"], "onnx/model.onnx")
    before = view.stat()
    flip_byte(view, 5)
    os.utime(view, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert invoke(capsys, "--download-models").exit_code == 0
    assert status_states(capsys)["first/onnx/model.onnx"] == "present"
    assert invoke(capsys, "models", "verify").exit_code == 1


def test_status_json_and_table(capsys, project, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDEO_CENSOR_CACHE", "relative-cache")
    result = invoke(capsys, "models", "status", "--json")
    document = json.loads(result.stdout)
    assert document["lockfile"] == str(tmp_path / "models.lock")  # absolute, for scripts run anywhere
    assert document["cache"] == str(tmp_path / "relative-cache")
    assert [m["name"] for m in document["models"]] == ["first", "second"]
    assert all(Path(m["path"]).is_absolute() for m in document["models"])
    assert {f["state"] for m in document["models"] for f in m["files"]} == {"missing"}
    table = invoke(capsys, "models", "status").stdout.splitlines()
    assert table[0].split() == ["NAME", "COMMIT", "FILES", "SIZE", "PATH"]
    rows = [line for line in table if not line.startswith(" ")]
    starts = [rows[0].index(title) for title in ("COMMIT", "FILES", "SIZE", "PATH")]
    assert all(row[at - 1] == " " and row[at] != " " for row in rows[1:] for at in starts)  # aligned columns
    assert "  missing    onnx/model.onnx" in table and "2 missing" in table[1]


def test_path_of_an_incomplete_model_exits_1_naming_files(capsys, project):
    result = invoke(capsys, "models", "path", "first")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.error_lines and "first" in result.error_lines[0]
    assert "  first/onnx/model.onnx (missing)" in result.stderr
    assert "hint: run `video-censor models download first`" in result.stderr


def test_unknown_model_is_usage_error(capsys, project):
    result = invoke(capsys, "models", "download", "first", "nope", "nada")
    assert result.exit_code == 2 and result.error_lines == ["error: unknown models: nope, nada"]


def test_missing_lock_is_exit_2(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.toml").write_text('[models.a]\nrepo = "org/a"\n')
    result = invoke(capsys, "--download-models")
    assert result.exit_code == 2 and "hint: run `video-censor models lock` to create it" in result.stderr


def test_flipped_byte_verify_finds_it_download_heals_it(capsys, fake_hub, project):
    first = project["first"]
    assert invoke(capsys, "--download-models").exit_code == 0
    flip_byte(view_of(first, "onnx/model.onnx"), 1000)
    assert status_states(capsys)["first/onnx/model.onnx"] == "unverified"
    result = invoke(capsys, "models", "verify")
    assert result.exit_code == 1 and result.error_lines == ["error: 2 of 4 files failed verification"]
    sha = first.file("onnx/model.onnx").sha256
    assert f"first/onnx/model.onnx: sha256 mismatch: expected {sha}, actual " in result.stderr
    assert "second/weights.bin" in result.stderr  # the same blob, hardlinked
    assert status_states(capsys)["first/onnx/model.onnx"] == "invalid"
    fake_hub.clear_requests()
    assert invoke(capsys, "models", "download").exit_code == 0
    assert fake_hub.count(origin="cdn", method="GET") == 1
    assert view_of(first, "onnx/model.onnx").read_bytes() == WEIGHTS
    assert invoke(capsys, "models", "verify").exit_code == 0


def test_corrupted_unverified_file_is_caught_by_download(capsys, fake_hub, project):
    second = project["second"]
    assert invoke(capsys, "--download-models").exit_code == 0
    flip_byte(view_of(second, "notes.txt"))
    fake_hub.clear_requests()
    assert invoke(capsys, "--download-models").exit_code == 0
    assert view_of(second, "notes.txt").read_bytes() == b"hello"
    assert fake_hub.count(origin="hub", path_contains="notes.txt") == 1


def test_full_disk_exits_4_before_any_byte(capsys, fake_hub, project, mocker):
    import shutil

    mocker.patch.object(shutil, "disk_usage", return_value=shutil._ntuple_diskusage(10 << 30, 10 << 30, 1 << 20))
    result = invoke(capsys, "--download-models")
    assert result.exit_code == 4 and result.error_lines[0].startswith("error: not enough disk space")
    assert fake_hub.requests == []
    assert "hint:" in result.stderr


def test_offline_with_files_missing_exits_3(capsys, fake_hub, project):
    result = invoke(capsys, "--offline", "--download-models")
    assert result.exit_code == 3 and fake_hub.requests == []
    assert result.error_lines == ["error: offline: 4 locked file(s) not in the cache"]
    assert "  first/onnx/model.onnx (missing)" in result.stderr


@pytest.mark.parametrize("host", ["", "localhost"])
def test_export_serves_an_air_gapped_machine(capsys, fake_hub, project, tmp_path, monkeypatch, host):
    assert invoke(capsys, "--download-models").exit_code == 0
    export_dir = tmp_path / "usb stick"
    result = invoke(capsys, "models", "export", str(export_dir))
    assert result.exit_code == 0, result.stderr
    assert (export_dir / "models.lock").read_text() == (tmp_path / "models.lock").read_text()
    assert (export_dir / "blobs" / project["first"].file("onnx/model.onnx").sha256).read_bytes() == WEIGHTS
    monkeypatch.setenv("VIDEO_CENSOR_CACHE", str(tmp_path / "other-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # file://localhost/DIR is the same directory as file:///DIR (RFC 8089)
    monkeypatch.setenv("VIDEO_CENSOR_MIRRORS", f"file://{host}" + str(export_dir).replace(" ", "%20"))
    fake_hub.clear_requests()
    result = invoke(capsys, "--download-models")
    assert result.exit_code == 0, result.stderr
    assert fake_hub.requests == [] and view_of(project["second"], "weights.bin").read_bytes() == WEIGHTS


def test_gated_without_token_exits_2_with_token_succeeds(capsys, fake_hub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gated = publish(fake_hub, "gated", {"w.onnx": WEIGHTS}, gated=True)
    write_lock(tmp_path / "models.lock", gated)
    result = invoke(capsys, "--download-models")
    assert result.exit_code == 2 and "gated" in result.error_lines[0] and "HF_TOKEN" in result.stderr
    fake_hub.tokens = {TOKEN}
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    fake_hub.clear_requests()
    result = invoke(capsys, "--download-models")
    assert result.exit_code == 0 and TOKEN not in result.stderr + result.stdout
    assert {r.origin: r.token for r in fake_hub.requests} == {"hub": TOKEN, "cdn": None}
    assert all(TOKEN not in p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()
               and p.stat().st_size < 1 << 16)


def test_endpoint_at_download_time_replaces_the_lock_origin(capsys, fake_hub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = publish(fake_hub, "moved", {"w.onnx": WEIGHTS}, endpoint="https://huggingface.co")
    write_lock(tmp_path / "models.lock", model)
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.url)
    assert invoke(capsys, "--download-models").exit_code == 0
    assert blob_of(model, "w.onnx").read_bytes() == WEIGHTS


def test_every_failed_file_is_listed_with_the_highest_exit_code(capsys, fake_hub, project, monkeypatch):
    monkeypatch.setenv("VIDEO_CENSOR_MIRRORS", "http://127.0.0.1:1")
    fake_hub.add_fault(Fault("status", origin="hub", path="config.json", times=None, status=404))
    fake_hub.add_fault(Fault("corrupt", origin="any", path="notes.txt", times=None))
    result = invoke(capsys, "--download-models")
    assert result.exit_code == 3, result.stderr
    assert result.error_lines == ["error: 2 of 4 files could not be downloaded"]
    assert "first/config.json" in result.stderr and "second/notes.txt" in result.stderr
    assert not view_of(project["second"], "notes.txt").exists()  # nothing unverified at a final path
    assert view_of(project["second"], "weights.bin").read_bytes() == WEIGHTS  # the others still arrive


def test_progress_bar_forced_or_silenced(capsys, project):
    result = invoke(capsys, "--progress", "--download-models")
    assert result.exit_code == 0 and "100%" in result.stderr and "B/s" in result.stderr
    assert invoke(capsys, "--quiet", "models", "verify").stderr == ""  # quiet: no bar, no summary


def test_export_of_incomplete_cache_exits_1(capsys, project, tmp_path):
    result = invoke(capsys, "models", "export", str(tmp_path / "out"))
    assert result.exit_code == 1 and "not downloaded" in result.error_lines[0]
    assert not (tmp_path / "out" / "models.lock").exists()


def test_a_cache_path_that_is_a_file_is_bad_input(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.lock").write_text(
        '# x\nlock-version = 1\ncreated-by = "t"\nmanifest-hash = "sha256:' + "0" * 64 + '"\n')
    (tmp_path / "occupied").write_text("not a directory")
    result = invoke(capsys, "--cache-dir", str(tmp_path / "occupied" / "cache"), "--download-models")
    assert result.exit_code == 2
    assert result.error_lines == [f"error: the model cache {tmp_path / 'occupied' / 'cache'} is not a directory "
                                  f"({tmp_path / 'occupied'} is a file)"]
    assert "hint: point VIDEO_CENSOR_CACHE or --cache-dir" in result.stderr


def test_a_stale_lock_is_downloaded_as_locked_with_a_warning(fake_hub, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.lock").write_text(
        '# x\nlock-version = 1\ncreated-by = "t"\nmanifest-hash = "sha256:' + "0" * 64 + '"\n')
    (tmp_path / "models.toml").write_text('[models.newer]\nrepo = "org/newer"\n')
    result = invoke(capsys, "--download-models")
    assert result.exit_code == 0
    assert result.warning_lines == ["warning: models.lock is out of date with models.toml (newer added); this run "
                                    "goes by the lock; run `video-censor models lock` to update it"]


def test_a_deleted_view_file_is_missing_fails_verify_and_path_and_comes_back_without_a_request(
        capsys, fake_hub, project):
    """The model directory is what loaders open: a file deleted there is noticed everywhere,
    and the next download links it again from the intact blob, without asking anyone."""
    assert invoke(capsys, "--download-models").exit_code == 0
    view = view_of(project["first"], "onnx/model.onnx")
    view.unlink()
    assert status_states(capsys)["first/onnx/model.onnx"] == "missing"
    verify = invoke(capsys, "models", "verify")
    assert verify.exit_code == 1 and "first/onnx/model.onnx: missing" in verify.stderr
    path = invoke(capsys, "models", "path", "first")
    assert path.exit_code == 1 and path.stdout == "" and "first/onnx/model.onnx (missing)" in path.stderr
    fake_hub.clear_requests()
    assert invoke(capsys, "--download-models").exit_code == 0
    assert fake_hub.requests == [] and view.read_bytes() == WEIGHTS
    assert invoke(capsys, "models", "verify").exit_code == 0


def test_a_replaced_view_file_is_invalid_and_the_blob_puts_it_back_without_a_request(capsys, fake_hub, project):
    assert invoke(capsys, "--download-models").exit_code == 0
    view = view_of(project["second"], "notes.txt")
    view.unlink()
    view.write_bytes(b"something else")  # a new file where the model's was
    assert status_states(capsys)["second/notes.txt"] == "invalid"
    assert invoke(capsys, "models", "verify", "second").exit_code == 1
    assert invoke(capsys, "models", "path", "second").exit_code == 1
    fake_hub.clear_requests()
    assert invoke(capsys, "models", "download").exit_code == 0
    assert fake_hub.requests == [] and view.read_bytes() == b"hello"
