"""`analyze`: locked models over sampled frames, flagged samples into a report.

    models.toml [analysis] tables --> which models       (pure: manifest + lock)
    video                         --> probe              (container header only)
    model manager                 --> ready directories  (verified, or downloaded, or stop)
    directories                   --> detectors          (onnxruntime sessions)
    frames.FrameSampler           --> samples, in batches, through every detector
    report.merge_segments         --> Report (segments on the sampled frames' timeline)

The order is the point: everything cheap that can fail (manifest, lock, the video's
header, the cache) fails before anything expensive starts, so a missing model costs the
user no decoding and a typo in the video's name costs no download. The pipeline never
downloads by itself: the model manager does, through the same code path as
`video-censor --download-models`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from video_censor_personal.analysis import frames, threads
from video_censor_personal.analysis.report import Flag, Report, merge_segments
from video_censor_personal.config import Manifest, ModelSpec
from video_censor_personal.errors import LockfileError, UsageError
from video_censor_personal.lockfile import Lockfile

# Samples per task handed to the detector threads. Small: the first task waits for BATCH samples
# to be decoded and the last ones run after decoding has ended, both with a core idle; larger
# batches gained nothing measurable (onnxruntime's per-call cost is well under a millisecond).
BATCH = 4
IN_FLIGHT = 3  # tasks per detector thread handed over and not yet finished
WAITING_BYTES = 64 << 20  # fewer tasks in flight when their decoded frames would hold more (4K)
LOCK_HINT = "run `video-censor models lock`"


class PositionReporter:
    """Progress over the video's timeline: start(duration), update(position), finish()."""

    def start(self, duration: float | None) -> None:
        pass

    def update(self, position: float) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass(frozen=True)
class AnalysisRequest:
    video: Path
    fps: float = 2.0
    download: bool = False  # fetch missing models first (--download-models)
    hint: str = ""  # what ModelsMissingError tells the user to run
    pad: float = 0.0  # seconds added to both sides of every segment (--pad)


class AnalysisPipeline:
    """The models of one manifest, as locked, run over one video at a time."""

    def __init__(self, manifest: Manifest, lock: Lockfile, manager):
        self.manifest, self.lock, self.manager = manifest, lock, manager
        self._detectors: list | None = None

    def models(self) -> list[ModelSpec]:
        """Every model with an analysis table, checked against the lock (no I/O)."""
        models = [model for model in self.manifest.models if model.analysis is not None]
        if not models:
            raise UsageError(
                f"{self.manifest.path}: no model has an analysis table, so there is nothing to run",
                hint="add [models.NAME.analysis] (kind, file, flag) to a model in models.toml",
            )
        for model in models:
            self._check_locked(model)
        return models

    def _check_locked(self, model: ModelSpec) -> None:
        locked = self.lock.model(model.name)
        if locked is None:
            raise LockfileError(f"model {model.name!r} is not in models.lock (the lock is out of date)", hint=LOCK_HINT)
        if locked.request != model.request:
            raise LockfileError(
                f"model {model.name!r}: models.lock is out of date with models.toml "
                "(repo, revision, include or exclude changed)",
                hint=LOCK_HINT,
            )
        if locked.file(model.analysis.file) is None:
            raise UsageError(
                f"model {model.name!r}: analysis file {model.analysis.file!r} is not among its locked files",
                hint=f"check file in [models.{model.name}.analysis] and include, then {LOCK_HINT}",
            )

    def prepare(self, download: bool = False, hint: str = "") -> list:
        """The models made ready and loaded, once: every later video of this pipeline reuses them.

        A library run (library/) analyses many videos per process; loading the models is
        most of a process's start-up, so it is paid once per worker, not once per video.
        """
        if self._detectors is None:
            from video_censor_personal.analysis.detectors import load_detectors

            models = self.models()
            directories = self.manager.ensure_ready([m.name for m in models], download, hint)
            self._detectors = load_detectors(models, directories)
        return self._detectors

    def run(self, request: AnalysisRequest, reporter: PositionReporter | None = None) -> Report:
        """Check, prepare, then decode and detect; returns the report."""
        reporter = reporter or PositionReporter()
        models = self.models()
        info = frames.probe(request.video)
        detectors = self.prepare(request.download, request.hint)
        sampler = frames.FrameSampler(request.video, request.fps, reporter.update)
        reporter.start(info.duration)
        try:
            flags = detect(sampler, detectors)
            reporter.update(info.duration or sampler.end)  # the last frame starts before the end
        finally:
            reporter.finish()
        duration = info.duration if info.duration is not None else sampler.end
        return Report(
            video=str(request.video),
            duration=duration,
            fps_sampled=request.fps,
            models={model.name: self.lock.model(model.name).commit for model in models},
            segments=merge_segments(flags, sampler.timeline, duration, request.pad),
        )


def detect(samples: Iterable[frames.Sample], detectors: list) -> list[Flag]:
    """Every sample through every detector, BATCH samples at a time, flags in sample order.

    The calling thread only decodes; worker threads (threads.detect_workers) make each
    sample's model inputs and run the detectors: onnxruntime, FFmpeg and numpy's large
    operations release the GIL, so the two halves share the cores (decoding alone is about
    as much work as NudeNet's 320n). A worker lets a sample's decoded frame go as soon as its
    inputs are made; at most IN_FLIGHT tasks per worker wait, fewer when their frames would
    hold more than WAITING_BYTES: memory stays small whatever the video's resolution.
    """
    flags: list[Flag] = []
    workers = threads.detect_workers()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="detect") as pool:
        pending: deque[Future] = deque()
        for batch in _batches(samples):
            pending.append(pool.submit(_run_batch, detectors, batch))
            if len(pending) >= _tasks_in_flight(batch, workers):
                flags += pending.popleft().result()
        while pending:
            flags += pending.popleft().result()
    return flags


def _tasks_in_flight(batch: list[frames.Sample], workers: int) -> int:
    """IN_FLIGHT tasks per worker, fewer when waiting decoded frames (YUV 4:2:0) would be large."""
    frame_bytes = sum(sample.width * sample.height * 3 // 2 for sample in batch)
    return max(workers, min(IN_FLIGHT * workers, WAITING_BYTES // max(frame_bytes, 1)))


def _batches(samples: Iterable[frames.Sample]) -> Iterator[list[frames.Sample]]:
    batch: list[frames.Sample] = []
    for sample in samples:
        batch.append(sample)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _run_batch(detectors: list, batch: list[frames.Sample]) -> list[Flag]:
    """On a worker thread: every detector's input images made, the decoded frames let go, then run."""
    for sample in batch:
        sample.detach({detector.prep: detector.prep.image for detector in detectors})
    return [flag for detector in detectors for flag in detector.flags(batch)]
