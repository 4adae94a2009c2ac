"""Locked models in the cache: plan as a value, then apply it (download, verify, export).

    plan(names)        -> Plan: each locked file present / missing / invalid / unverified,
                          judged on its view (what loaders open), from stat calls and
                          records only (no hashing, no network)
    download(names)    hash what is unverified, then fetch what is missing or invalid:
                          disk check first, `jobs` files in parallel, one blob per sha256;
                          a view whose blob is intact is linked again, without a request
    verify(names)      full re-hash; failures lose their record, so download re-fetches
    ensure_ready(...)  what `analyze` calls before any work
    export(dir)        DIR/models.lock + DIR/blobs/<sha256>: a file:// mirror

Several processes may run this at once: each blob is fetched under its cache lock, and
whoever gets the lock second finds the blob present and only links its view.
"""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from video_censor_personal.cache import (
    INVALID,
    MISSING,
    PRESENT,
    UNVERIFIED,
    Cache,
    copy_verified,
    free_bytes,
    sha256_file,
    temp_beside,
)
from video_censor_personal.environment import Runtime
from video_censor_personal.errors import (
    DiskSpaceError,
    DownloadInterrupted,
    ModelsMissingError,
    NetworkError,
    UsageError,
    VideoCensorError,
)
from video_censor_personal.lockfile import LockedFile, LockedModel, Lockfile, atomic_write_text, render_lockfile
from video_censor_personal.plan import (
    DOWNLOAD_HINT,
    DownloadSummary,
    ExportReport,
    FilePlan,
    ModelPlan,
    Plan,
    VerifyReport,
)
from video_censor_personal.progress import NullReporter, Reporter, format_size

DISK_MARGIN = 64 << 20  # room for records, views and whatever else writes meanwhile


class ModelManager:
    """The locked models of one lock file, in the cache of one runtime."""

    def __init__(self, lock: Lockfile, runtime: Runtime, reporter: Reporter | None = None, *, sleep=None):
        self.lock, self.runtime = lock, runtime
        self.reporter = reporter or NullReporter()
        self.cache = Cache(runtime.cache_dir)
        self._sleep = sleep or time.sleep

    # ------------------------------------------------------------ planning

    def plan(self, names: Iterable[str] | None = None) -> Plan:
        """States from stat calls and records only: cheap enough for every command."""
        return Plan(tuple(self._plan_model(model) for model in self._models(names)))

    def _plan_model(self, model: LockedModel) -> ModelPlan:
        path = self.model_path(model.name)
        files = []
        for locked in model.files:
            view = path / locked.path
            files.append(FilePlan(model.name, locked, view, self.cache.inspect(locked.sha256, locked.size, view)))
        return ModelPlan(model.name, model.repo, model.commit, path, tuple(files))

    def _models(self, names: Iterable[str] | None) -> list[LockedModel]:
        if names is None:
            return list(self.lock.models)
        wanted = list(dict.fromkeys(names))
        unknown = [name for name in wanted if self.lock.model(name) is None]
        if unknown:
            raise UsageError(
                f"unknown model{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
                hint="models in the lock: " + (", ".join(self.lock.names) or "none"),
            )
        return [self.lock.model(name) for name in wanted]

    def model_path(self, name: str) -> Path:
        """The directory of NAME's files (original relative paths), stable per commit."""
        model = self._models([name])[0]
        return self.cache.view_dir(model.name, model.commit)

    # ------------------------------------------------------------ settling

    def _settle(self, plan: Plan) -> Plan:
        """Hash what is unverified; returns the plan with their verdicts."""
        unverified = plan.files(UNVERIFIED)
        judged = dict(zip(unverified, self._map(self._hash_and_record, unverified), strict=True))
        return Plan(tuple(
            replace(model, files=tuple(replace(f, state=judged.get(f, f.state)) for f in model.files))
            for model in plan.models
        ))

    def _record_uses(self, plan: Plan) -> None:
        """Every complete model of `plan` was just made ready: `models gc` keeps it."""
        for model in plan.models:
            if model.complete:
                self.cache.record_use(model.name, model.commit)

    def _map(self, function, items: list, cancel: threading.Event | None = None) -> list:
        """`function` over `items` on `jobs` threads (hashing and I/O release the GIL).

        On Ctrl-C, `cancel` tells the running calls to stop and queued ones are dropped.
        """
        if len(items) <= 1 and cancel is None:
            return [function(item) for item in items]
        from concurrent.futures import ThreadPoolExecutor  # not needed by a no-op run

        with ThreadPoolExecutor(max_workers=min(self.runtime.jobs, len(items))) as pool:
            try:
                return list(pool.map(function, items))
            except KeyboardInterrupt:
                if cancel is not None:
                    cancel.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    def _hash_and_record(self, plan: FilePlan, path: Path | None = None) -> str:
        """Hash the file a loader would open (or `path`); remember the verdict for its stat."""
        path = path or plan.view
        good = sha256_file(path) == plan.locked.sha256
        self.cache.record(plan.locked.sha256, path, good)
        return PRESENT if good else INVALID

    # ------------------------------------------------------------ download

    def download(self, names: Iterable[str] | None = None) -> DownloadSummary:
        """Fetch every missing or invalid file of `names` (all models by default), verified."""
        started = time.monotonic()
        return self._apply(self._settle(self.plan(names)), started)

    def _apply(self, plan: Plan, started: float) -> DownloadSummary:
        """Fetch what a settled plan lacks (`ensure_ready` comes here with the plan it settled)."""
        groups = _by_blob(plan.to_fetch)
        present = len(plan.files(PRESENT))
        if not groups:
            self._record_uses(plan)
            return DownloadSummary(present=present, seconds=time.monotonic() - started)
        self._check_offline(plan.to_fetch)
        self._check_disk(groups)
        self.cache.make_layout()
        self.cache.clean_orphans()
        outcomes = self._fetch_all(groups)
        self._record_uses(self.plan(m.name for m in plan.models))
        fetched = tuple(f for files, n in zip(groups, outcomes, strict=True) if n is not None for f in files)
        by_others = sum(len(files) for files, n in zip(groups, outcomes, strict=True) if n is None)
        return DownloadSummary(fetched, sum(n or 0 for n in outcomes), present, time.monotonic() - started,
                               by_others)

    def _check_offline(self, files: list[FilePlan]) -> None:
        """Offline with no file:// mirror: nothing can come, so say it once, for every file
        whose blob is not in the cache (a view whose blob is intact is linked again offline)."""
        if self.runtime.offline and not any(m.startswith("file://") for m in self.runtime.mirrors):
            files = [f for f in files if not self._blob_is_good(f)]
            if not files:
                return
            raise NetworkError(
                f"offline: {len(files)} locked file(s) not in the cache",
                details=[f"{f.label} ({f.state})" for f in files],
                hint="run `video-censor --download-models` with network access, "
                "or pass --mirror file:///DIR (a `models export` directory)",
            )

    def _check_disk(self, groups: list[list[FilePlan]]) -> None:
        """DESIGN: free space is checked before any byte is fetched (exit 4)."""
        need = sum(self._remaining(files[0].locked) for files in groups)
        free = free_bytes(self.cache.root)
        if need + DISK_MARGIN > free:
            raise DiskSpaceError(
                f"not enough disk space in {self.cache.root}: {format_size(need)} to download "
                f"(+{format_size(DISK_MARGIN)} margin), {format_size(free)} free",
                details=[f.label for files in groups for f in files],
                hint="free some space, or point VIDEO_CENSOR_CACHE (or --cache-dir) at a larger disk",
            )

    def _remaining(self, locked: LockedFile) -> int:
        from video_censor_personal.transfer.ranges import bytes_on_disk  # a segmented part has a record

        return locked.size - bytes_on_disk(self.cache.part_path(locked.sha256), locked.size)

    def _fetch_all(self, groups: list[list[FilePlan]]) -> list[int | None]:
        """Per group, the bytes fetched, or None where another process had fetched it meanwhile."""
        from video_censor_personal.transfer.fetch import FetchRun  # only when there is something to fetch

        run = FetchRun(self.runtime, self.reporter, self._sleep)
        self.reporter.start(sum(files[0].locked.size for files in groups), len(groups))
        try:
            outcomes = self._map(lambda files: self._obtain_safely(files, run), groups, run.cancel)
        except KeyboardInterrupt:
            raise DownloadInterrupted from None
        finally:
            self.reporter.finish()
            run.close()
        failed = [(files[0].label, outcome) for files, outcome in zip(groups, outcomes, strict=True)
                  if isinstance(outcome, Exception)]
        if failed:
            raise _combined(failed, sum(len(files) for files in groups))
        return outcomes

    def _obtain_safely(self, files: list[FilePlan], run):
        """The bytes fetched, or the error: one failed file must not stop the others."""
        try:
            return self._obtain(files, run)
        except VideoCensorError as error:
            return error
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            return DiskSpaceError(f"{files[0].label}: disk full while downloading", details=[str(error)],
                                  hint="free some space and run the same command again: it resumes")

    def _obtain(self, files: list[FilePlan], run) -> int | None:
        """Under the blob's lock: reuse what another process finished, else fetch it.

        Returns the bytes that really came over the network (not a resumed prefix), or
        None when another process had fetched the file meanwhile.
        """
        locked, fetched = files[0].locked, None
        with self.cache.locked(locked.sha256, run.cancel, lambda: self.reporter.waiting(files[0].label)):
            if not self._blob_is_good(files[0]):
                self.cache.discard_blob(locked.sha256)
                fetched = self._fetch_blob(files[0], run)
            else:
                self.reporter.resumed(locked.size)
            for f in files:
                self.cache.link(locked.sha256, f.view)
        self.reporter.file_done(files[0].label)
        return fetched

    def _blob_is_good(self, plan: FilePlan) -> bool:
        blob = self.cache.blob_path(plan.locked.sha256)
        state = self.cache.blob_state(plan.locked.sha256, plan.locked.size)
        if state == UNVERIFIED:
            state = self._hash_and_record(plan, blob)
        return state == PRESENT

    def _fetch_blob(self, plan: FilePlan, run) -> int:
        part = self.cache.part_path(plan.locked.sha256)
        fetched = run.fetch(self.lock.model(plan.model), plan.locked, part)
        self.cache.install(plan.locked.sha256, part)
        return fetched

    # ------------------------------------------------------------ verify, ensure, export

    def verify(self, names: Iterable[str] | None = None) -> VerifyReport:
        """Re-hash every file (no shortcuts); a failure forgets the file's good record."""
        files = self.plan(names).files()
        self.reporter.start(sum(f.locked.size for f in files if f.state != MISSING), len(files))
        try:
            reasons = self._map(self._verify_one, files)
        finally:
            self.reporter.finish()
        failures = tuple((f, reason) for f, reason in zip(files, reasons, strict=True) if reason)
        return VerifyReport(len(files), failures)

    def _verify_one(self, plan: FilePlan) -> str | None:
        if plan.state == MISSING:
            return "missing"
        actual = sha256_file(plan.view, progress=self.reporter.advance)
        good = actual == plan.locked.sha256
        self.cache.record(plan.locked.sha256, plan.view, good)
        self.reporter.file_done(plan.label)
        if good:
            return None
        return f"sha256 mismatch: expected {plan.locked.sha256}, actual {actual}"

    def ensure_ready(self, names: Iterable[str], download: bool, hint: str) -> dict[str, Path]:
        """For `analyze`: every file of `names` verified, or fetched (download=True), or an error.

        Unverified files are hashed first, so a corrupted file is caught before it is used.
        """
        names = list(dict.fromkeys(names))
        plan = self._settle(self.plan(names))
        if plan.to_fetch and download:
            self._apply(plan, time.monotonic())
        elif plan.to_fetch:
            incomplete = [m for m in plan.models if not m.complete]
            raise ModelsMissingError(
                "models not downloaded: " + ", ".join(m.name for m in incomplete),
                details=[f"{f.label} ({f.state})" for f in plan.to_fetch],
                hint=hint,
            )
        else:
            self._record_uses(plan)
        return {name: self.model_path(name) for name in names}

    def export(self, directory: Path | str) -> ExportReport:
        """DIR/models.lock and DIR/blobs/<sha256>, each copy hashed as it is written.

        DIR may be `s3://BUCKET/PREFIX` (interop/s3.py): the same layout in a bucket.
        """
        self.ensure_ready(self.lock.names, download=False, hint=DOWNLOAD_HINT + ", then export again")
        copied = 0
        blobs = {f.locked.sha256: f for f in self.plan().files()}
        if str(directory).startswith("s3://"):
            return self._export_to_bucket(str(directory), blobs)
        for sha256, plan in sorted(blobs.items()):
            copied += self._export_blob(plan, Path(directory) / "blobs" / sha256)
        atomic_write_text(Path(directory) / "models.lock", render_lockfile(self.lock))
        return ExportReport(Path(directory), len(blobs), copied)

    def _export_to_bucket(self, url: str, blobs: dict[str, FilePlan]) -> ExportReport:
        from video_censor_personal.interop.s3 import export_to_bucket  # the optional `s3` extra

        files = [(sha256, plan.locked.size, plan.view) for sha256, plan in sorted(blobs.items())]
        copied = export_to_bucket(url, files, render_lockfile(self.lock), self.runtime.timeout)
        return ExportReport(url, len(blobs), copied)

    def _export_blob(self, plan: FilePlan, target: Path) -> int:
        size_ok = target.exists() and target.stat().st_size == plan.locked.size
        if size_ok and sha256_file(target) == plan.locked.sha256:
            return 0
        tmp = temp_beside(target)  # per process and thread: two exports into one directory do not collide
        copy_verified(plan.view, tmp, plan.locked.sha256)
        tmp.replace(target)
        return plan.locked.size


def _by_blob(files: list[FilePlan]) -> list[list[FilePlan]]:
    """Files grouped by content: two models sharing a file fetch it once."""
    groups: dict[str, list[FilePlan]] = {}
    for f in files:
        groups.setdefault(f.locked.sha256, []).append(f)
    return list(groups.values())


def _combined(failed: list[tuple[str, VideoCensorError]], total: int) -> VideoCensorError:
    """One error for several failed files: the class with the highest exit code, each
    distinct message once. A cause that names no file (the `s3` extra not installed) is
    shared by every file it stopped: it is said once, with those files listed under it."""
    if len(failed) == 1:
        return failed[0][1]
    worst = max((error for _, error in failed), key=lambda error: error.exit_code)
    by_message: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for label, error in failed:
        by_message.setdefault((error.message, tuple(error.details)), []).append(label)
    details = []
    for (message, error_details), labels in by_message.items():
        details += [message] + [f"  {label}" for label in labels if label not in message]
        details += [f"  {detail}" for detail in error_details]
    return type(worst)(f"{len(failed)} of {total} files could not be downloaded", details=details,
                       hint=worst.hint)
