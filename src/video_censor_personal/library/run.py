"""A library run: many videos, one report each, on local workers or a Dask cluster.

    arguments --discover--> videos --naming--> report names --resume--> to do / up to date
    checks (manifest against lock, -o DIR)    before any work
    runner.prepare                            local: models ready here, once; cluster: scheduler reachable
    runner.run --> outcomes as videos finish  this process writes each report (atomically),
                                              then its resume entry, and tallies the Summary

Plan, then apply: `plan_library` decides everything that needs no model (which videos,
their report names, which are up to date); `run_library` does the work. One video's
failure is one outcome among others; only what would fail every video (the manifest, the
lock, the models of a worker) stops the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from video_censor_personal.analysis_pipeline import AnalysisPipeline
from video_censor_personal.atomic import atomic_write_bytes
from video_censor_personal.errors import UsageError
from video_censor_personal.library.discover import Video, find_videos
from video_censor_personal.library.naming import report_names
from video_censor_personal.library.resume import ReportState, analysis_fingerprint, video_facts
from video_censor_personal.library.summary import Summary
from video_censor_personal.library.work import Job, Outcome, Task


@dataclass
class LibraryPlan:
    """What a run will do: the videos to analyse (task index -> video), and the facts to record."""

    job: Job
    output_dir: Path | None
    todo: list[Video] = field(default_factory=list)
    names: dict[Video, str] = field(default_factory=dict)
    facts: dict[Video, dict] = field(default_factory=dict)
    state: ReportState | None = None

    def tasks(self) -> list[Task]:
        return [Task(index, str(video.absolute), str(video.path)) for index, video in enumerate(self.todo)]

    def report_path(self, video: Video) -> Path | None:
        return self.output_dir / self.names[video] if self.output_dir is not None else None


def plan_library(job: Job, arguments: list[Path], output_dir: Path | None, force: bool,
                 summary: Summary) -> LibraryPlan:
    """Find the videos, name their reports, and leave out those whose report is up to date."""
    AnalysisPipeline(job.manifest, job.lock, None).models()  # manifest against lock: before any work
    if output_dir is not None:
        _check_output_dir(output_dir)
    found = find_videos(arguments)
    summary.total = len(found.videos) + len(found.problems)
    for shown, problem in found.problems:
        summary.add_failure(shown, problem)
    plan = LibraryPlan(job, output_dir, names=report_names(found.videos))
    plan.state = ReportState(output_dir) if output_dir is not None else None
    fingerprint = analysis_fingerprint(job.manifest, job.lock, job.request)
    for video in found.videos:
        if not force and plan.state is not None and plan.state.is_current(plan.names[video], video.absolute,
                                                                          fingerprint):
            summary.skipped += 1
        else:
            plan.todo.append(video)
            if video.absolute.is_file():  # facts taken before the analysis: a change meanwhile is not trusted
                plan.facts[video] = video_facts(video.absolute, fingerprint)
    return plan


def _check_output_dir(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"-o {directory}: with several videos, -o names a directory, and this is a file",
                         hint="give a directory (it is created if missing), e.g. -o reports/")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create directory {directory}: {exc.strerror or exc}") from None


OnOutcome = Callable[[Video, Outcome, "Path | None"], None]


def run_library(plan: LibraryPlan, runner, summary: Summary, on_outcome: OnOutcome) -> Summary:
    """Analyse every video of the plan; write and record each report as it comes in."""
    tasks = plan.tasks()
    if not tasks:
        return summary
    models = AnalysisPipeline(plan.job.manifest, plan.job.lock, None).models()
    runner.prepare(plan.job, [model.name for model in models])
    for outcome in runner.run(plan.job, tasks):
        if outcome.setup:
            raise outcome.error  # the worker's models: every video would fail the same way
        video = plan.todo[outcome.index]
        path = _keep(plan, video, outcome, summary)
        on_outcome(video, outcome, path)
    return summary


def _keep(plan: LibraryPlan, video: Video, outcome: Outcome, summary: Summary) -> Path | None:
    """Write the report (atomically, then its resume entry) and count it; or count the failure."""
    if outcome.error is not None:
        summary.add_failure(str(video.path), outcome.error)
        return None
    path = plan.report_path(video)
    if path is not None:
        try:
            atomic_write_bytes(path, outcome.report.encode("utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        if video in plan.facts:
            plan.state.record(plan.names[video], plan.facts[video])
    summary.add_done(outcome.duration, outcome.worker)
    return path
