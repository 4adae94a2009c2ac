"""The model cache: content-addressed, versioned, safe for several processes at once.

    {cache}/models-v1/                       the version moves when the layout changes
    ├── blobs/
    │   ├── <sha256>                         verified content, one copy per distinct file
    │   ├── <sha256>.part                    an interrupted download, resumed by the next run
    │   └── <sha256>.part.ranges             which byte ranges of a segmented .part are on disk
    ├── records/
    │   └── <sha256>.json                    (size, mtime_ns, inode) of files hashed good / bad
    ├── locks/
    │   └── <sha256>.lock                    one cross-process lock per blob (filelock)
    ├── uses/
    │   └── <name>/<commit>                  empty; its mtime is when the model was last made
    │                                        ready (what `models gc --older-than` goes by)
    └── snapshots/
        └── <name>/<commit>/<path>           a model's view: original relative paths,
                                             hardlinks to blobs (copies where links fail);
                                             this directory is what `models path NAME` prints

A file reaches `blobs/<sha256>` only by a rename after its size and sha256 matched the
lock, so a final path never holds unverified bytes. The records are what make a no-op run
hash nothing: a file whose (size, mtime_ns, inode) is recorded good was hashed since it last
changed. A view hardlinked to its blob shares the blob's inode, so one record covers both,
and a byte changed through the view changes the mtime that the record holds.

The view is what loaders open, so a file's state is the state of its view: a view file
deleted is missing (even with its blob intact; the next download links it again without a
request), a view file replaced is judged on its own stat.

A cache may be read-only (a restored CI cache, a container layer, an NFS export): records
and use marks are then skipped, not failed, so every command that only reads still works;
`make_layout` is where a command that must write finds out, naming the directory.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from video_censor_personal.errors import IntegrityError, UsageError

LAYOUT = "models-v1"
CHUNK = 1 << 20
PRESENT, MISSING, INVALID, UNVERIFIED = "present", "missing", "invalid", "unverified"
PART_MAX_AGE = 7 * 24 * 3600.0  # a partial download older than a week is not worth resuming
TMP_MAX_AGE = 3600.0  # temp files live for one link or copy; an hour old means orphaned
_RECORD_KEEP = 4  # a blob and a few copies of it; older entries are dropped
_READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def sha256_file(path: Path, hasher=None, progress: Callable[[int], None] | None = None) -> str:
    """Stream `path` through sha256 in 1 MiB chunks (memory stays flat for any size)."""
    hasher = hasher or hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while n := handle.readinto(buffer):
            hasher.update(view[:n])
            if progress:
                progress(n)
    return hasher.hexdigest()


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino]


class Cache:
    """Paths, records, locks and views of one cache directory."""

    def __init__(self, cache_dir: Path):
        self.root = Path(cache_dir) / LAYOUT
        _refuse_a_file_in_the_way(Path(cache_dir))

    # ------------------------------------------------------------ paths

    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256

    def part_path(self, sha256: str) -> Path:
        return self.root / "blobs" / f"{sha256}.part"

    def view_dir(self, name: str, commit: str) -> Path:
        """Stable per model and commit, so a loader may keep the path between runs."""
        return self.root / "snapshots" / name / commit

    def _record_path(self, sha256: str) -> Path:
        return self.root / "records" / f"{sha256}.json"

    # ------------------------------------------------------------ state

    def inspect(self, sha256: str, size: int, view: Path) -> str:
        """present / missing / invalid / unverified of the file a loader opens: the view."""
        st = _stat(view)
        return MISSING if st is None else self._judge(sha256, size, st)

    def _judge(self, sha256: str, size: int, st: os.stat_result) -> str:
        if st.st_size != size:
            return INVALID
        record = self._read_record(sha256)
        if _key(st) in record["good"]:
            return PRESENT
        return INVALID if _key(st) in record["bad"] else UNVERIFIED

    def blob_state(self, sha256: str, size: int) -> str:
        st = _stat(self.blob_path(sha256))
        return MISSING if st is None else self._judge(sha256, size, st)

    def _read_record(self, sha256: str) -> dict:
        try:
            record = json.loads(self._record_path(sha256).read_text(encoding="utf-8"))
            return {"good": list(record.get("good", [])), "bad": list(record.get("bad", []))}
        except (OSError, ValueError, AttributeError):
            return {"good": [], "bad": []}

    def record(self, sha256: str, path: Path, good: bool, fresh: bool = False) -> None:
        """Remember that `path`, as it is now, hashed good (or bad) for `sha256`.

        A failed hash also forgets any good entry for the same stat: `verify` promises
        that the next download re-fetches the file. `fresh` starts a new record (a new
        blob makes the old entries meaningless).
        """
        st = _stat(path)
        if st is None:
            return
        record = {"good": [], "bad": []} if fresh else self._read_record(sha256)
        key = _key(st)
        record["good"] = [k for k in record["good"] if k != key]
        record["bad"] = [k for k in record["bad"] if k != key]
        record["good" if good else "bad"].append(key)
        record = {name: entries[-_RECORD_KEEP:] for name, entries in record.items()}
        with _unless_read_only():  # the verdict stands for this run; the next one hashes again
            write_replacing(self._record_path(sha256), json.dumps(record))

    def record_use(self, name: str, commit: str) -> None:
        """Mark NAME@COMMIT as used now: `models gc` keeps what was used recently."""
        mark = self.root / "uses" / name / commit
        with _unless_read_only():
            try:
                os.utime(mark)
            except FileNotFoundError:
                mark.parent.mkdir(parents=True, exist_ok=True)
                mark.touch()

    def last_use(self, name: str, commit: str) -> float | None:
        st = _stat(self.root / "uses" / name / commit)
        return st.st_mtime if st else None

    def make_layout(self) -> None:
        """The fixed directories, made once per run rather than once per file, and proof that
        the cache takes writes (a read-only cache passes mkdir of what exists)."""
        try:
            for name in ("blobs", "records", "locks", "snapshots"):
                (self.root / name).mkdir(parents=True, exist_ok=True)
            probe = temp_beside(self.root / "locks" / "probe")
            probe.touch()
            probe.unlink()
        except OSError as exc:
            raise UsageError(f"cannot write to the model cache {self.root.parent}: {exc.strerror}",
                             hint=_CACHE_HINT) from None

    # ------------------------------------------------------------ locks

    @contextlib.contextmanager
    def locked(self, sha256: str, cancel: threading.Event | None = None,
               on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold the blob's cross-process lock: one process downloads it, the rest wait.

        The wait polls `cancel`, so Ctrl-C is not stuck behind another process's download;
        `on_wait` is called once when the lock is not free at once (the user is told why).
        """
        from filelock import FileLock, Timeout  # only when something is written

        lock = FileLock(str(self.root / "locks" / f"{sha256}.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if on_wait is not None:
                on_wait()
            self._wait_for(lock, cancel)
        try:
            yield
        finally:
            lock.release()

    @staticmethod
    def _wait_for(lock, cancel: threading.Event | None) -> None:
        from filelock import Timeout

        while True:
            try:
                lock.acquire(timeout=0.2)
                return
            except Timeout:
                if cancel is not None and cancel.is_set():
                    raise KeyboardInterrupt from None

    # ------------------------------------------------------------ writing

    def install(self, sha256: str, verified: Path) -> Path:
        """Rename a verified temp file into the blob store and record it good."""
        blob = self.blob_path(sha256)
        os.replace(verified, blob)
        self.record(sha256, blob, good=True, fresh=True)
        return blob

    def discard_blob(self, sha256: str) -> None:
        self.blob_path(sha256).unlink(missing_ok=True)

    def link(self, sha256: str, view: Path) -> None:
        """Point `view` at the blob: a hardlink, or a verified copy where links fail.

        A link appears whole at once, so where no view exists yet it is made in place;
        a replacement is built beside the view and renamed over it, so a reader sees
        the old file or the new one, never a half-made one.
        """
        blob = self.blob_path(sha256)
        view_stat = _stat(view)
        if view_stat is not None and view_stat.st_ino == blob.stat().st_ino:
            return
        view.parent.mkdir(parents=True, exist_ok=True)
        if view_stat is None and _try_link(blob, view):
            return
        tmp = temp_beside(view)
        copied = not _try_link(blob, tmp)
        if copied:
            copy_verified(blob, tmp, sha256)
        os.replace(tmp, view)
        if copied:
            self.record(sha256, view, good=True)

    def clean_orphans(self, now: float | None = None) -> list[Path]:
        """Remove temp files nobody will finish; returns what was removed.

        A `.part` file is kept for resuming unless it is a week old and no process
        holds its lock; `.tmp` files are one link or copy long, so an hour is orphaned.
        """
        removed = self.stale_temp_files(now)
        for path in removed:
            discard_partial(path)
        return removed

    def stale_temp_files(self, now: float | None = None) -> list[Path]:
        """The `.tmp` and `.part` files that `clean_orphans` (and `models gc`) remove."""
        now = time.time() if now is None else now
        stale = []
        for path in self._temp_files():
            st = _stat(path)
            age = now - st.st_mtime if st else 0.0
            if st and (path.suffix == ".tmp" and age > TMP_MAX_AGE or self._stale_part(path, age)):
                stale.append(path)
        return stale

    def _temp_files(self) -> Iterator[Path]:
        for directory, _, files in os.walk(self.root):
            for name in files:
                if name.endswith((".tmp", ".part")):
                    yield Path(directory) / name

    def _stale_part(self, path: Path, age: float) -> bool:
        if path.suffix != ".part" or age <= PART_MAX_AGE:
            return False
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.root / "locks" / f"{path.stem}.lock"))
        try:
            with lock.acquire(timeout=0):
                return True
        except Timeout:
            return False


@contextlib.contextmanager
def _unless_read_only() -> Iterator[None]:
    """Skip a write that only saves work later (a record, a use mark) on a read-only cache."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _READ_ONLY:
            raise


def ranges_path(part: Path) -> Path:
    """`<sha256>.part.ranges`: which byte ranges of a segmented partial file are on disk
    (its format is transfer/ranges.py's; its name is part of this layout)."""
    return part.with_name(part.name + ".ranges")


def discard_partial(part: Path) -> None:
    """Forget a partial file and its ranges record: the one way a `.part` leaves the cache."""
    part.unlink(missing_ok=True)
    ranges_path(part).unlink(missing_ok=True)


def _try_link(source: Path, target: Path) -> bool:
    """A hardlink, or False where the filesystem refuses (or another process won the race)."""
    try:
        os.link(source, target)
        return True
    except OSError:
        return False


def copy_verified(source: Path, target: Path, sha256: str) -> None:
    """Copy while hashing; the target is removed unless its bytes match `sha256`."""
    hasher = hashlib.sha256()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(source, "rb") as src, open(target, "wb") as dst:
            while chunk := src.read(CHUNK):
                hasher.update(chunk)
                dst.write(chunk)
        if hasher.hexdigest() != sha256:
            raise IntegrityError(
                f"{source}: sha256 mismatch while copying",
                details=[f"expected sha256 {sha256}", f"actual sha256   {hasher.hexdigest()}"],
                hint="run `video-censor models verify` and then `video-censor models download`",
            )
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def temp_beside(path: Path) -> Path:
    """A temp name in `path`'s directory, unique per process and thread. It ends in `.tmp`,
    so what a killed process leaves in the cache is found by `stale_temp_files`."""
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def write_replacing(path: Path, text: str) -> None:
    """Replace `path` whole (temp file, rename) without fsync: for the cache's own notes
    (records, ranges records), which a lost write only makes the next run redo. The
    user's files go through atomic.py, which fsyncs."""
    tmp = temp_beside(path)
    try:
        tmp.write_text(text, encoding="utf-8")
    except FileNotFoundError:  # the directory went away (or never was): make it, once
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def free_bytes(directory: Path) -> int:
    """Free space where the cache lives (its nearest existing ancestor before it exists)."""
    return shutil.disk_usage(_nearest_existing(Path(directory))).free


def _nearest_existing(path: Path) -> Path:
    """`path` itself, or its closest ancestor that exists (the cache is made lazily)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


_CACHE_HINT = "point VIDEO_CENSOR_CACHE or --cache-dir at a directory you can write to"


def _refuse_a_file_in_the_way(cache_dir: Path) -> None:
    """A cache path that is a file (or lies under one) is bad input, found before any work."""
    existing = _nearest_existing(cache_dir)
    if not existing.is_dir():
        raise UsageError(f"the model cache {cache_dir} is not a directory ({existing} is a file)",
                         hint=_CACHE_HINT)
