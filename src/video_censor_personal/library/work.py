"""One video's analysis inside a worker: the same code in this process, a local worker or a Dask worker.

A worker receives a Job (the manifest and the lock as the client read them, the request,
and the command-line options that describe the run) and then one Task per video. The first
task builds the worker's pipeline and makes its models ready, from the worker's own
environment: its cache (VIDEO_CENSOR_CACHE, or the client's --cache-dir for local
workers), its mirrors, its HF_ENDPOINT and token, and the manifest's [settings]. The
checks are those of a single `analyze`: nothing unverified is used. Later tasks reuse the
pipeline, so a worker pays the model load once.

Whatever goes wrong comes back as an Outcome carrying the error (a VideoCensorError, so
the client prints it as `analyze` would); nothing a user can cause escapes as a traceback.
A failure to get the models ready is marked `setup`: it would fail every video, so the
client stops the run instead of repeating it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from video_censor_personal.analysis.report import render_json
from video_censor_personal.analysis_pipeline import AnalysisPipeline, AnalysisRequest
from video_censor_personal.config import Manifest
from video_censor_personal.errors import MediaError, VideoCensorError
from video_censor_personal.lockfile import Lockfile


@dataclass(frozen=True)
class Job:
    """Everything a worker needs besides the videos; the same for every video of a run."""

    manifest: Manifest
    lock: Lockfile
    request: AnalysisRequest  # its `video` is replaced per task
    mirrors: tuple[str, ...] = ()
    offline: bool = False
    cache_dir: Path | None = None  # None on a cluster: each worker has its own
    debug: bool = False  # --debug: an unexpected error brings its traceback back


@dataclass(frozen=True)
class Task:
    """One video: the path a worker opens, and the path its report names."""

    index: int
    path: str  # absolute: a worker has another working directory
    shown: str  # as the user wrote it: the report's "video" and every message


@dataclass(frozen=True)
class Outcome:
    """What became of one task: the report's JSON text, or the error."""

    index: int
    report: str | None = None
    duration: float = 0.0  # seconds of video analysed
    segments: int = 0
    error: VideoCensorError | None = None
    setup: bool = False  # the models could not be made ready: every video would fail
    worker: str = ""  # which worker did it (a pid, or a Dask worker's address)


_pipelines: dict[tuple, AnalysisPipeline] = {}
_lock = threading.Lock()  # a Dask worker may run several tasks at once, on threads


def analyse(job: Job, task: Task, worker: str = "", cannot_see_hint: str | None = None) -> Outcome:
    """The task's report, or its error; never raises for anything a user can cause."""
    worker = worker or f"pid {os.getpid()}"
    try:
        pipeline = _pipeline(job)
    except VideoCensorError as error:
        return Outcome(task.index, error=error, setup=True, worker=worker)
    if cannot_see_hint is not None and not os.path.exists(task.path):
        return Outcome(task.index, error=cannot_see(task, worker, cannot_see_hint), worker=worker)
    try:
        report = pipeline.run(replace(job.request, video=Path(task.path)))
    except VideoCensorError as error:
        return Outcome(task.index, error=_shown(error, task), worker=worker)
    except Exception as error:  # a bug: one video fails, its message says what to report
        return Outcome(task.index, error=unexpected(task, error, job.debug), worker=worker)
    report = replace(report, video=task.shown)
    return Outcome(task.index, render_json(report), report.duration, len(report.segments), worker=worker)


def _pipeline(job: Job) -> AnalysisPipeline:
    """This process's pipeline for the job: built and loaded by the first task, reused after."""
    key = (job.manifest, job.lock, job.mirrors, job.offline, job.cache_dir)
    with _lock:
        if key not in _pipelines:
            _pipelines.clear()  # one run at a time per worker: forget the previous run's models
            _pipelines[key] = _build(job)
        return _pipelines[key]


def _build(job: Job) -> AnalysisPipeline:
    from video_censor_personal.environment import build_runtime
    from video_censor_personal.model_manager import ModelManager

    runtime = build_runtime(job.manifest.settings, cli_mirrors=job.mirrors, cli_offline=job.offline,
                            cli_cache_dir=job.cache_dir)
    pipeline = AnalysisPipeline(job.manifest, job.lock, ModelManager(job.lock, runtime))
    pipeline.prepare(job.request.download, job.request.hint)
    return pipeline


def cannot_see(task: Task, worker: str, hint: str) -> MediaError:
    """On a cluster, a path the client sees but the worker does not is a shared-filesystem problem."""
    return MediaError(f"cannot read video {task.shown}: worker {worker} cannot see {task.path}", hint=hint)


def _shown(error: VideoCensorError, task: Task) -> VideoCensorError:
    """Messages name the video as the user wrote it, not the absolute path the worker opened."""
    if task.path != task.shown and task.path in error.message:
        error.message = error.message.replace(task.path, task.shown)
        error.args = (error.message,)
    return error


def unexpected(task: Task, error: Exception, debug: bool) -> VideoCensorError:
    """A bug met on one video, as an error the client can print (the traceback only with --debug)."""
    import traceback

    details = traceback.format_exc().rstrip().splitlines() if debug else []
    return VideoCensorError(f"analysing {task.shown} failed: unexpected {type(error).__name__}: {error}",
                            details=details, hint="run again with --debug and report the traceback")
