"""`models gc`: remove from the cache what no command has used for a while.

    keep    every view and blob of the current lock; views used (made ready) within DAYS
            days, and every blob one of them links; any blob whose lock another process holds
    remove  other views (snapshots/<name>/<commit>), their use marks, the blobs only they
            linked, orphan blobs older than DAYS days with their records, and stale `.part` /
            `.tmp` files (the rules of Cache.stale_temp_files)

A view's last use is the mtime of its mark in `uses/` (Cache.record_use, touched each time
a command makes the model ready); a view made before marks existed falls back to its
directory's mtime. Space freed is counted per inode: a view hardlinked to a blob frees
nothing until the blob goes too.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from video_censor_personal.cache import Cache, discard_partial
from video_censor_personal.lockfile import Lockfile

DAY = 24 * 3600.0


@dataclass(frozen=True)
class Removal:
    path: Path  # relative to the cache's layout directory
    size: int
    reason: str


@dataclass
class GcReport:
    """What gc removed (or, with dry_run, would remove), and the space that frees."""

    dry_run: bool
    removals: list[Removal] = field(default_factory=list)
    held: list[Path] = field(default_factory=list)  # kept: another process holds them
    freed: int = 0


@dataclass(frozen=True)
class _Entry:
    path: Path
    stat: os.stat_result


class _Collector:
    """One pass over the cache: decide, then (unless dry_run) remove, counting freed inodes."""

    def __init__(self, cache: Cache, lock: Lockfile | None, older_than_days: float, dry_run: bool, now: float):
        self.cache, self.dry_run, self.now = cache, dry_run, now
        self.cutoff = now - older_than_days * DAY
        models = lock.models if lock is not None else ()
        self.keep_views = {(m.name, m.commit) for m in models}
        self.keep_blobs = {f.sha256 for m in models for f in m.files}
        self.report = GcReport(dry_run)
        self._links_removed: dict[int, int] = {}
        self._inode_size: dict[int, tuple[int, int]] = {}

    def run(self) -> GcReport:
        root = self.cache.root
        blobs = {entry.stat.st_ino: entry for entry in _blobs(root / "blobs")}
        kept_inodes, dropped_inodes = set(), set()
        for name, commit, directory in _views(root / "snapshots"):
            files = list(_files(directory))
            inodes = {entry.stat.st_ino for entry in files}
            if (name, commit) in self.keep_views or self._used_recently(name, commit, directory):
                kept_inodes |= inodes
            elif self._remove_view(name, commit, directory, files, [blobs[i] for i in inodes if i in blobs]):
                dropped_inodes |= inodes
            else:
                kept_inodes |= inodes
        for inode, entry in blobs.items():
            unused = inode in dropped_inodes or entry.stat.st_mtime < self.cutoff
            if entry.path.name not in self.keep_blobs and inode not in kept_inodes and unused:
                self._remove_blob(entry)
        for path in self.cache.stale_temp_files(self.now):
            reason = "stale partial download" if path.suffix == ".part" else "orphaned temp file"
            self._remove(path, [_Entry(path, path.stat())], reason)
        self.report.freed = sum(size for inode, (size, links) in self._inode_size.items()
                                if self._links_removed.get(inode, 0) >= links)
        return self.report

    def _used_recently(self, name: str, commit: str, directory: Path) -> bool:
        last = self.cache.last_use(name, commit)
        return (last if last is not None else directory.stat().st_mtime) >= self.cutoff

    def _remove_view(self, name: str, commit: str, directory: Path, files: list[_Entry], linked: list[_Entry]) -> bool:
        """Remove a view unless a download of one of its blobs is under way in another process."""
        with _BlobLocks(self.cache, [entry.path.name for entry in linked]) as free:
            if not free:
                self.report.held.append(directory.relative_to(self.cache.root))
                return False
            days = (self.now - (self.cache.last_use(name, commit) or directory.stat().st_mtime)) / DAY
            self._remove(directory, files, f"not used for {days:.0f} days")
            self._remove(self.cache.root / "uses" / name / commit, [], "")
            return True

    def _remove_blob(self, entry: _Entry) -> None:
        sha256 = entry.path.name
        with _BlobLocks(self.cache, [sha256]) as free:
            if not free:
                self.report.held.append(entry.path.relative_to(self.cache.root))
                return
            self._remove(entry.path, [entry], "no view uses it, not in the lock")
            self._remove(self.cache.root / "records" / f"{sha256}.json", [], "")

    def _remove(self, path: Path, entries: list[_Entry], reason: str) -> None:
        """Count `entries` as unlinked; remove `path`; report it when it has a reason."""
        for entry in entries:
            inode = entry.stat.st_ino
            self._links_removed[inode] = self._links_removed.get(inode, 0) + 1
            self._inode_size[inode] = (entry.stat.st_size, entry.stat.st_nlink)
        if reason:
            size = sum(entry.stat.st_size for entry in entries)
            self.report.removals.append(Removal(path.relative_to(self.cache.root), size, reason))
        if self.dry_run:
            return
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.suffix == ".part":
            discard_partial(path)  # with its ranges record, if a segmented download left one
        else:
            path.unlink(missing_ok=True)
        _prune_empty(path.parent, self.cache.root)


def collect_garbage(cache: Cache, lock: Lockfile | None, older_than_days: float = 30, dry_run: bool = False,
                    now: float | None = None) -> GcReport:
    """Remove (or list, with dry_run) what no command used for `older_than_days` days."""
    if not cache.root.is_dir():
        return GcReport(dry_run)
    if not dry_run:
        cache.make_layout()  # a read-only cache is said here, naming its directory
    return _Collector(cache, lock, older_than_days, dry_run, time.time() if now is None else now).run()


class _BlobLocks:
    """Hold the blob locks of `shas` (no waiting): `free` is False when another process holds one.

    Written by hand rather than with contextlib.ExitStack so that a lock that could not be
    taken releases the ones already taken before the body runs.
    """

    def __init__(self, cache: Cache, shas: list[str]):
        self.cache, self.shas, self.locks = cache, shas, []

    def __enter__(self) -> bool:
        from filelock import FileLock, Timeout

        for sha256 in self.shas:
            lock = FileLock(str(self.cache.root / "locks" / f"{sha256}.lock"))
            try:
                lock.acquire(timeout=0)
            except Timeout:
                self.__exit__()
                return False
            except OSError:  # no locks directory (dry run of a read-only cache): nobody holds it
                continue
            self.locks.append(lock)
        return True

    def __exit__(self, *exc) -> None:
        for lock in self.locks:
            lock.release()
        self.locks = []


def _views(snapshots: Path) -> Iterator[tuple[str, str, Path]]:
    for model in sorted(_subdirs(snapshots)):
        for commit in sorted(_subdirs(model)):
            yield model.name, commit.name, commit


def _subdirs(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.is_dir()] if directory.is_dir() else []


def _files(directory: Path) -> Iterator[_Entry]:
    for parent, _, names in os.walk(directory):
        for name in names:
            path = Path(parent) / name
            yield _Entry(path, path.lstat())


def _blobs(directory: Path) -> Iterator[_Entry]:
    """Finished blobs only: `<sha256>`, not `.part` files (the temp-file rules cover those)."""
    for entry in _files(directory) if directory.is_dir() else ():
        if len(entry.path.name) == 64 and entry.path.parent == directory:
            yield entry


def _prune_empty(directory: Path, root: Path) -> None:
    """Remove directories left empty, up to (not including) the layout's own directories."""
    while directory.parent != root and directory != root:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent
