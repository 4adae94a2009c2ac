"""`models list` (models.toml and models.lock side by side) and `models gc` (cleaning the cache
without touching the current lock, recent uses, or what another process holds)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.clirun import invoke
from tests.download_support import blob_of, cache_root, payload, publish, view_of, write_lock

OLD, CURRENT, SHARED = payload(3000, seed=1), payload(5000, seed=2), payload(700, seed=3)
DAY = 24 * 3600


def test_list_shows_manifest_and_lock_side_by_side(capsys, fake_hub, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("first", "second", "third"):
        fake_hub.create_repo(f"org/{name}").commit({"model.onnx": payload(400, seed=len(name))})
    (tmp_path / "models.toml").write_text(
        '[models.first]\nrepo = "org/first"\n\n[models.first.analysis]\nkind = "image-classifier"\n'
        'file = "model.onnx"\nflag = ["nsfw"]\n\n[models.second]\nrepo = "org/second"\n')
    assert invoke(capsys, "models", "lock").exit_code == 0
    assert invoke(capsys, "models", "download", "first").exit_code == 0
    with open(tmp_path / "models.toml", "a") as manifest:
        manifest.write('\n[models.third]\nrepo = "org/third"\n')
    rows = {row["name"]: row for row in json.loads(invoke(capsys, "models", "list", "--json").stdout)}
    assert rows["first"]["kind"] == "image-classifier" and rows["first"]["cached"] == "yes"
    assert rows["first"]["commit"] == fake_hub.repo("org/first").head() and rows["first"]["size"] == 400
    assert (rows["second"]["cached"], rows["second"]["state"], rows["second"]["kind"]) == ("no", "locked", None)
    assert (rows["third"]["commit"], rows["third"]["state"]) == (None, "not locked")
    table = invoke(capsys, "models", "list").stdout.splitlines()
    assert table[0].split() == ["NAME", "REPO", "REVISION", "COMMIT", "FILES", "SIZE", "KIND", "CACHED", "STATE"]
    assert table[3].split() == ["third", "org/third", "main", "-", "-", "-", "-", "-", "not", "locked"]


@pytest.fixture
def two_generations(fake_hub, tmp_path, monkeypatch, capsys):
    """`old` downloaded and last used 40 days ago; then the lock moved on to `current`."""
    monkeypatch.chdir(tmp_path)
    old = publish(fake_hub, "old", {"model.onnx": OLD, "shared.json": SHARED})
    current = publish(fake_hub, "current", {"model.onnx": CURRENT, "shared.json": SHARED})
    write_lock(tmp_path / "old.lock", old)
    assert invoke(capsys, "--lockfile", "old.lock", "--download-models").exit_code == 0
    write_lock(tmp_path / "models.lock", current)
    assert invoke(capsys, "--download-models").exit_code == 0
    age(old, 40)
    return old, current


def age(model, days: float) -> None:
    """Make NAME@COMMIT (its use mark, view and blobs) look `days` old."""
    then = time.time() - days * DAY
    for path in [cache_root() / "uses" / model.name / model.commit, view_of(model, "model.onnx").parent,
                 blob_of(model, "model.onnx")]:
        os.utime(path, (then, then))


def test_gc_dry_run_lists_and_gc_removes_what_is_unused(capsys, two_generations):
    old, current = two_generations
    dry = invoke(capsys, "models", "gc", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert f"would remove snapshots/old/{old.commit} (3.6 KiB, not used for 40 days)" in dry.stdout
    assert f"would remove blobs/{old.file('model.onnx').sha256} (2.9 KiB" in dry.stdout
    assert "would remove 2 item(s), freeing 2.9 KiB" in dry.stdout  # the shared file stays: current has it
    assert view_of(old, "model.onnx").exists()
    done = invoke(capsys, "models", "gc")
    assert done.exit_code == 0 and "freed 2.9 KiB" in done.stdout
    assert not view_of(old, "model.onnx").parent.exists() and not blob_of(old, "model.onnx").exists()
    assert not (cache_root() / "uses" / "old").exists()
    assert view_of(current, "shared.json").read_bytes() == SHARED
    assert invoke(capsys, "models", "verify").exit_code == 0


def test_making_a_model_ready_records_its_use_and_gc_keeps_it(capsys, two_generations):
    old, _ = two_generations
    assert invoke(capsys, "--lockfile", "old.lock", "models", "path", "old").exit_code == 0  # used today
    result = invoke(capsys, "models", "gc")
    assert result.exit_code == 0 and "removed 0 item(s)" in result.stdout
    assert view_of(old, "model.onnx").read_bytes() == OLD
    assert "old" in invoke(capsys, "models", "gc", "--older-than", "0").stdout


def test_gc_never_removes_a_blob_another_process_holds(capsys, two_generations):
    old, _ = two_generations
    lock_path = cache_root() / "locks" / f"{old.file('model.onnx').sha256}.lock"
    script = (f"import time\nfrom filelock import FileLock\nheld = FileLock({str(lock_path)!r})\n"
              "held.acquire()\nprint('held', flush=True)\ntime.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = invoke(capsys, "models", "gc")
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 0
    assert f"kept snapshots/old/{old.commit}: another process is using it" in result.stdout
    assert blob_of(old, "model.onnx").read_bytes() == OLD and view_of(old, "model.onnx").exists()


def test_gc_removes_stale_partial_and_temp_files(capsys, two_generations):
    blobs = cache_root() / "blobs"
    stale, fresh, orphan = blobs / f"{'a' * 64}.part", blobs / f"{'b' * 64}.part", blobs / ".x.123.tmp"
    for path, days in ((stale, 8), (fresh, 1), (orphan, 1)):
        path.write_bytes(b"x" * 100)
        os.utime(path, (time.time() - days * DAY,) * 2)
    result = invoke(capsys, "models", "gc")
    assert f"removed blobs/{stale.name} (100 B, stale partial download)" in result.stdout
    assert "removed blobs/.x.123.tmp (100 B, orphaned temp file)" in result.stdout
    assert not stale.exists() and not orphan.exists() and fresh.exists()


def test_gc_removes_a_stale_segmented_partial_with_its_ranges_record(capsys, two_generations):
    blobs = cache_root() / "blobs"
    stale = blobs / f"{'c' * 64}.part"
    ranges = blobs / f"{stale.name}.ranges"
    stale.write_bytes(b"x" * 100)
    ranges.write_text('{"size": 1000, "done": [[0, 100]]}')
    os.utime(stale, (time.time() - 8 * DAY,) * 2)
    result = invoke(capsys, "models", "gc")
    assert f"removed blobs/{stale.name} (100 B, stale partial download)" in result.stdout
    assert not stale.exists() and not ranges.exists()


def test_gc_of_a_read_only_cache_names_it(capsys, two_generations, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("pathlib.Path.touch", refuse)
    result = invoke(capsys, "models", "gc")
    assert result.exit_code == 2
    assert result.error_lines == [f"error: cannot write to the model cache {os.environ['VIDEO_CENSOR_CACHE']}: "
                                  "Permission denied"]
