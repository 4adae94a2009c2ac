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

from video_censor_personal.analysis import frames
from video_censor_personal.analysis.report import Flag, Report, merge_segments
from video_censor_personal.config import Manifest, ModelSpec
from video_censor_personal.errors import LockfileError, UsageError
from video_censor_personal.lockfile import Lockfile

BATCH = 16  # frames per onnxruntime call: amortises call overhead, bounds memory
IN_FLIGHT = 2  # batches handed to the detector thread and not yet finished
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

    def run(self, request: AnalysisRequest, reporter: PositionReporter | None = None) -> Report:
        """Check, prepare, then decode and detect; returns the report."""
        from video_censor_personal.analysis.detectors import load_detectors

        reporter = reporter or PositionReporter()
        models = self.models()
        info = frames.probe(request.video)
        directories = self.manager.ensure_ready([m.name for m in models], request.download, request.hint)
        detectors = load_detectors(models, directories)
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
    """Every sample through every detector, BATCH samples at a time.

    Detectors run on a worker thread while the next batch decodes: onnxruntime and FFmpeg
    both release the GIL, so a heavy model hides the decoding (and the reverse). Samples
    wait as small RGB arrays at the detectors' input sizes, not as decoded frames, and at
    most IN_FLIGHT batches wait: memory stays small whatever the video's resolution.
    """
    flags: list[Flag] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect") as worker:
        pending: deque[Future] = deque()
        for batch in _batches(_detached(sample, detectors) for sample in samples):
            pending.append(worker.submit(_run_batch, detectors, batch))
            if len(pending) >= IN_FLIGHT:
                flags += pending.popleft().result()
        while pending:
            flags += pending.popleft().result()
    return flags


def _detached(sample: frames.Sample, detectors: list) -> frames.Sample:
    """The sample with every detector's input image made, its decoded frame let go."""
    return sample.detach({detector.prep: detector.prep.image for detector in detectors})


def _batches(samples: Iterable[frames.Sample]) -> Iterator[list[frames.Sample]]:
    batch: list[frames.Sample] = []
    for sample in samples:
        batch.append(sample)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _run_batch(detectors: list, batch: list) -> list[Flag]:
    return [flag for detector in detectors for flag in detector.flags(batch)]
