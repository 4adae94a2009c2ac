"""`--scheduler tcp://HOST:PORT`: the same tasks on a Dask distributed cluster.

    client (this process)                       each Dask worker
    manifest + lock + request --- Job -------->  its own cache, mirrors, HF_ENDPOINT, token,
    one Task per video (absolute path) ------->  [settings]: models made ready before its first
    writes DIR/<name>.json  <---- Outcome -----  video, as one `analyze` would (verified, or
                                                 downloaded with --download-models, or an error)

The client sends no cache path and no token: a worker's cache and credentials are its
own. Videos are read by the absolute path the client found them at, as Dask users expect
of a shared filesystem; a worker that cannot see one says so (work.cannot_see).

`distributed` (the `cluster` extra) is imported here only, and this module only when
--scheduler is given: `analyze` of one video and `--help` never pay for it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from video_censor_personal.errors import NetworkError, UsageError, VideoCensorError
from video_censor_personal.library.work import Job, Outcome, Task, analyse

CONNECT_TIMEOUT = 10.0  # seconds to reach the scheduler, and to wait for a first worker
SHARED_FS_HINT = ("workers read videos by the path the client found them at: mount the library at the "
                  "same path on every worker")
_SCHEMES = ("tcp", "tls")


def check_address(address: str) -> tuple[str, int]:
    """(host, port) of a tcp://HOST:PORT address; exit 2 before any work when it is not one."""
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in _SCHEMES or not parts.hostname or port is None:
        raise UsageError(f"--scheduler {address}: not a Dask scheduler address",
                         hint="write tcp://HOST:PORT, as `dask scheduler` prints it (e.g. tcp://10.0.0.5:8786)")
    return parts.hostname, port


class DaskRunner:
    """Runs tasks on the workers of the scheduler at `address`."""

    def __init__(self, address: str):
        self.address = address
        self.host, self.port = check_address(address)

    def prepare(self, job: Job, names: list[str]) -> None:
        """Nothing is downloaded here: each worker makes its own models ready. Fail fast instead."""
        import_distributed()
        self._reach()

    def _reach(self) -> None:
        """A refused or unresolvable scheduler is said at once, not after Dask's own long retries."""
        try:
            socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT).close()
        except OSError as exc:
            raise NetworkError(f"cannot reach the Dask scheduler at {self.address}: {exc.strerror or exc}",
                               hint="start it (`dask scheduler`) and its workers, or check --scheduler") from None

    def run(self, job: Job, tasks: list[Task]) -> Iterator[Outcome]:
        """Outcomes in the order the videos finish; Ctrl-C or an error cancels what is left."""
        distributed = import_distributed()
        with distributed.Client(self.address, timeout=CONNECT_TIMEOUT) as client:
            self._wait_for_workers(client)
            futures = {client.submit(analyse_on_worker, job, task, pure=False): task for task in tasks}
            try:
                for future in distributed.as_completed(futures):
                    yield _outcome(future, futures[future])
            finally:
                client.cancel(list(futures))

    def _wait_for_workers(self, client) -> None:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except TimeoutError:
            raise NetworkError(f"the Dask scheduler at {self.address} has no workers",
                               hint=f"start some: `dask worker {self.address}`") from None


def import_distributed():
    try:
        import distributed
    except ImportError:
        raise UsageError("--scheduler needs dask distributed (the `cluster` extra), which is not installed",
                         hint="pip install 'video-censor-personal[cluster]'") from None
    return distributed


def analyse_on_worker(job: Job, task: Task) -> Outcome:
    """Runs on a Dask worker: its share of the cores, then the same analysis as a local worker."""
    from distributed import get_worker

    from video_censor_personal.analysis import threads

    worker = get_worker()
    threads.share_cores(worker.state.nthreads)  # tasks it runs at once, one per thread
    return analyse(job, task, worker=worker.address, cannot_see_hint=SHARED_FS_HINT)


def _outcome(future, task: Task) -> Outcome:
    """The worker's outcome, or what the cluster did with the task (a worker died, it was cancelled)."""
    try:
        return future.result()
    except VideoCensorError as error:
        return Outcome(task.index, error=error)
    except Exception as exc:
        return Outcome(task.index, error=NetworkError(
            f"the Dask cluster lost video {task.shown}: {type(exc).__name__}: {exc}",
            hint="see the workers' logs; run the same command again to resume"))
