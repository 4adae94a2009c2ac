"""How many threads one analysis may start: the whole machine, or its share of it.

One `analyze` process has the cores to itself, and the decoder and onnxruntime size their
thread pools for all of them. A library run starts several worker processes
(library/local_runner.py): each sizing itself for the whole machine would put N times too
many busy threads on the cores, and they would spend the difference switching. A worker
therefore calls `share_cores(n)` first, and the decoder and onnxruntime ask this module.

Within one analysis (analysis_pipeline.detect) the calling thread decodes, detect_workers()
threads make the models' inputs and run them, each run on inference_threads() onnxruntime
threads, and FFmpeg gets decoder_threads(). The sizes were measured on 2 cores (the
development machine, benchmarks/analysis_bench.py --real); larger machines get the same rules.
"""

from __future__ import annotations

import os

_sharers = 1  # processes analysing at once on this machine


def share_cores(processes: int) -> None:
    """This process is one of `processes` that analyse at the same time."""
    global _sharers
    _sharers = max(1, processes)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container or taskset sets it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def cores() -> int:
    """This process's share of the cores, at least one."""
    return max(1, usable_cores() // _sharers)


def onnxruntime_threads() -> int:
    """intra_op_num_threads: 0 (onnxruntime's own choice) when alone, else the share."""
    return 0 if _sharers == 1 else cores()


def inference_threads() -> int:
    """The detectors' intra_op_num_threads: a worker's share, else every core but the decoder's.

    Alone, onnxruntime's own choice is one thread per core, but the decoder keeps about one
    core busy beside the detectors (analysis_pipeline.detect): NudeNet's 320n on 2 cores took
    2.28 CPU-s for 120 frames on 2 threads and 2.04 on 1, and the whole analysis 0.5 CPU-s
    less (benchmarks/analysis_bench.py --real).
    """
    return onnxruntime_threads() or max(1, cores() - 1)


def detect_workers() -> int:
    """Threads that run detectors at once, on different batches: two when there are two cores.

    With one onnxruntime thread per run (inference_threads), a second run in flight uses the
    core the decoder leaves idle while it waits, and both cores for the last batches once
    decoding has ended. Parallel frames cost less CPU than one frame split over threads.
    """
    return min(2, cores())


def decoder_threads() -> int:
    """FFmpeg's thread_count: three per core the detector threads leave, else 1 (no threading).

    Three frame threads per core kept every core busy when decoding ran alone (frames wait on
    their references: FFmpeg's one per core left cores idle). When the detector threads take
    every core, frame threading only costs: on 2 cores, 60 s of 720p H.264 took 2.1 CPU-s
    with six threads and 1.7 with one, and the whole analysis 2.5 s -> 2.3 s of wall time.
    """
    return max(1, 3 * (cores() - detect_workers()))
