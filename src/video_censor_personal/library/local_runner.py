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
they are started with SIGINT ignored, which exec keeps), the client stops them (SIGTERM,
Pool.terminate) and exits, so a report on disk is always a whole one. With one job, or
one video, the analysis runs in this process: no worker start-up to pay.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from video_censor_personal.analysis import threads
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

        context = multiprocessing.get_context("spawn")
        sharers = processes if self.share_cores else 1
        with _ctrl_c_ignored():  # inherited through exec: a Ctrl-C while a worker imports stays the client's
            pool = context.Pool(processes, initializer=_start_worker, initargs=(job, sharers))
        # Pool.__exit__ terminates the workers: on Ctrl-C, an error, or once every outcome is in.
        with pool:
            yield from pool.imap_unordered(_analyse, tasks, chunksize=1)


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
