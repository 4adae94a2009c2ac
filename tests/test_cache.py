"""cache.py on real files: states from stat + records, views, orphan cleaning."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from tests.download_support import flip_byte
from video_censor_personal.cache import (
    INVALID,
    MISSING,
    PRESENT,
    UNVERIFIED,
    Cache,
    copy_verified,
    sha256_file,
)
from video_censor_personal.errors import IntegrityError

DATA = os.urandom(3 << 20)
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def cache(tmp_path):
    return Cache(tmp_path / "cache")


def installed(cache: Cache):
    """DATA in the blob store and a view of it, as a download leaves them."""
    tmp = cache.root / "blobs" / "x.part"
    tmp.parent.mkdir(parents=True)
    tmp.write_bytes(DATA)
    cache.install(SHA, tmp)
    view = cache.view_dir("m", "c" * 40) / "onnx" / "model.onnx"
    cache.link(SHA, view)
    return view


def test_sha256_file_streams_the_same_digest_as_hashlib(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(DATA)
    assert sha256_file(path) == SHA


def test_states_follow_stat_and_records(cache):
    view = cache.view_dir("m", "c" * 40) / "onnx" / "model.onnx"
    assert cache.inspect(SHA, len(DATA), view) == MISSING
    view = installed(cache)
    assert cache.inspect(SHA, len(DATA), view) == PRESENT
    assert view.stat().st_ino == cache.blob_path(SHA).stat().st_ino  # a hardlink, not a copy
    flip_byte(view, 10)  # same size, new mtime: must be hashed before it is trusted again
    assert cache.inspect(SHA, len(DATA), view) == UNVERIFIED
    cache.record(SHA, view, good=False)
    assert cache.inspect(SHA, len(DATA), view) == INVALID
    with open(view, "ab") as handle:
        handle.write(b"x")
    assert cache.inspect(SHA, len(DATA), view) == INVALID  # wrong size needs no hashing


def test_a_deleted_view_is_missing_even_with_its_blob_intact(cache):
    """Loaders open the view, so its state is the view's, not the blob's."""
    view = installed(cache)
    view.unlink()
    assert cache.inspect(SHA, len(DATA), view) == MISSING
    assert cache.blob_state(SHA, len(DATA)) == PRESENT


def test_link_falls_back_to_a_recorded_copy(cache, monkeypatch):
    view = installed(cache)
    view.unlink()

    def no_hardlinks(*args):  # a filesystem without hardlinks (FAT, some network mounts)
        raise OSError("hardlinks not supported")

    monkeypatch.setattr(os, "link", no_hardlinks)
    cache.link(SHA, view)
    assert view.read_bytes() == DATA and view.stat().st_ino != cache.blob_path(SHA).stat().st_ino
    assert cache.inspect(SHA, len(DATA), view) == PRESENT


def test_copy_verified_leaves_nothing_when_the_bytes_differ(tmp_path):
    source, target = tmp_path / "s", tmp_path / "t"
    source.write_bytes(b"other bytes")
    with pytest.raises(IntegrityError) as caught:
        copy_verified(source, target, SHA)
    assert SHA in caught.value.details[0] and not target.exists()


def test_clean_orphans_keeps_fresh_and_locked_files(cache):
    installed(cache)
    blobs = cache.root / "blobs"
    old = time.time() - 30 * 24 * 3600
    files = {name: blobs / name for name in ("a.tmp", "b.tmp", f"{'1' * 64}.part", f"{'2' * 64}.part",
                                               f"{'3' * 64}.part")}
    for path in files.values():
        path.write_bytes(b"x")
    for name in ("a.tmp", f"{'1' * 64}.part", f"{'3' * 64}.part"):
        os.utime(files[name], (old, old))
    holding, release = threading.Event(), threading.Event()

    def hold_lock():  # another process still downloading blob 3...
        with cache.locked("3" * 64):
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=hold_lock)
    thread.start()
    holding.wait(5)
    try:
        removed = {path.name for path in cache.clean_orphans()}
    finally:
        release.set()
        thread.join()
    assert removed == {"a.tmp", f"{'1' * 64}.part"}
    assert cache.blob_path(SHA).exists() and files[f"{'3' * 64}.part"].exists()
