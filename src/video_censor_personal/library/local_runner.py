"""`--jobs N`: N worker processes on this machine, each loading the models once for many videos.

Processes, not threads: decoding and onnxruntime release the GIL, but everything between
them (the sampler's bookkeeping per packet, preprocessing, merging) holds it, so threads
of one process would queue on it; a process per worker shares nothing.

Each worker takes its share of the cores for its decoder and onnxruntime threads
(analysis/threads.py) rather than each sizing them for the whole machine: measured with
benchmarks/library_bench.py --only threads (2 cores, --jobs 2, 20 x 30 s 480p, a busy
machine), 3 to 5 % less CPU time for the same work and a wall time as good or better
(docs/library.md has the figures). Workers start with `spawn`: the same on every platform, and a fresh
interpreter owes nothing to the threads of the process that started it.

Workers only read; the client process writes every report (library/run.py). Ctrl-C
reaches the whole process group: the workers ignore it (from their first instruction on:
they are started with SIGINT ignored, which exec keeps), the client stops them (SIGTERM)
and exits, so a report on disk is always a whole one. A worker that dies (killed, out of
memory) ends the run too, its videos and those not yet done reported as failed. With one job, or
one video, the analysis runs in this process: no worker start-up to pay.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from video_censor_personal.analysis import threads
from video_censor_personal.errors import VideoCensorError
from video_censor_personal.library.work import Job, Outcome, Task, analyse

_job: Job | None = None  # the run a worker process serves, set once by _start_worker


def default_jobs() -> int:
    """What the cores allow: one worker per usable core."""
    return threads.usable_cores()


class LocalRunner:
    """Runs tasks on `jobs` processes of this machine, after the models are ready here."""

    def __init__(self, jobs: int, manager=None, share_cores: bool = True):
        self.jobs, self.manager = jobs, manager
        self.share_cores = share_cores  # False: each worker sized for the whole machine (the benchmark's yardstick)

    def prepare(self, job: Job, names: list[str]) -> None:
        """Check, or download with this process's progress bar, once for all workers."""
        if self.manager is not None:
            self.manager.ensure_ready(names, job.request.download, job.request.hint)

    def run(self, job: Job, tasks: list[Task]) -> Iterator[Outcome]:
        """Outcomes in the order the videos finish."""
        processes = min(self.jobs, len(tasks))
        if processes <= 1:
            yield from (analyse(job, task) for task in tasks)
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        sharers = processes if self.share_cores else 1
        pool = ProcessPoolExecutor(processes, multiprocessing.get_context("spawn"), _start_worker, (job, sharers))
        try:
            with _ctrl_c_ignored():  # workers start on submit; inherited through exec, so a Ctrl-C
                futures = {pool.submit(_analyse, task): task for task in tasks}  # while one imports is ours
            yield from (_outcome(future, futures[future]) for future in as_completed(futures))
        finally:
            _stop(pool)


def _outcome(future, task: Task) -> Outcome:
    """The worker's outcome; a worker that died (killed, out of memory) fails its video and the rest.

    Why an executor and not multiprocessing.Pool: a Pool replaces a dead worker and waits
    forever for the task it took; the executor says so (BrokenProcessPool) to every task
    not yet done, so the run ends, and the next run resumes with those videos.
    """
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        return Outcome(task.index, error=VideoCensorError(
            f"analysing {task.shown} stopped: a worker process died (killed, or out of memory)",
            hint="run the same command again to resume; fewer --jobs need less memory"))


def _stop(pool) -> None:
    """Every worker ended now, busy or not: on Ctrl-C or an error, waiting for a video's
    analysis could take minutes (at the end of a run they are idle anyway). The executor
    has no public way to stop a busy worker before Python 3.14 (terminate_workers), hence
    its process table."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _ctrl_c_ignored():
    """SIGINT ignored while the workers are started (only the main thread may change it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start_worker(job: Job, sharers: int) -> None:
    """In each worker: leave Ctrl-C to the client, take a share of the cores, remember the job."""
    global _job
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threads.share_cores(sharers)
    _job = job


def _analyse(task: Task) -> Outcome:
    return analyse(_job, task)
