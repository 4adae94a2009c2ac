"""`video-censor analyze VIDEO... [-o DIR] [--jobs N | --scheduler tcp://HOST:PORT]`: print a library run.

The core (library/run.py) plans and runs; this module builds the runner, prints a line per
video as it finishes (a bar over the videos on a TTY), each failure as `analyze` would,
the reports on stdout when there is no -o, and the summary. Without -o, each report is
one whole JSON document on stdout, in the order the videos finish (`jq` reads such a stream).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from video_censor_personal.cli.common import load_lock, load_runtime, require_manifest
from video_censor_personal.cli.output import show_bars


def run_library_command(options, videos, output: Path | None, request, jobs: int | None, scheduler: str | None,
                        force: bool) -> None:
    """Plan, run, print; exit with the highest code of the videos that failed."""
    from video_censor_personal.library.run import plan_library, run_library
    from video_censor_personal.library.summary import Summary
    from video_censor_personal.library.work import Job

    manifest, lock = require_manifest(options), load_lock(options)
    runner = make_runner(options, manifest, lock, jobs, scheduler)
    # A cluster worker keeps its own cache: --cache-dir is this machine's.
    job = Job(manifest, lock, request, options.mirrors, options.offline,
              None if scheduler is not None else options.cache_dir, options.debug)
    summary = Summary()
    plan = plan_library(job, list(videos), output, force, summary)
    for _, error in summary.failures:  # what could not be found or searched
        _print_error(error)
    printer = OutcomePrinter(options, len(plan.todo))
    try:
        run_library(plan, runner, summary, printer)
    except KeyboardInterrupt:
        printer.close()
        click.echo(f"interrupted: {summary.line()}; run the same command again to resume", err=True)
        raise
    printer.close()
    _print_summary(summary)
    error = summary.error()
    if error is not None:
        raise error


def make_runner(options, manifest, lock, jobs: int | None, scheduler: str | None):
    """A Dask cluster, or local workers (the models made ready here first, with a progress bar)."""
    runtime = load_runtime(options, manifest)  # --mirror and the rest checked here, before any work
    if scheduler is not None:
        from video_censor_personal.library.dask_runner import DaskRunner

        return DaskRunner(scheduler)
    from video_censor_personal.cli.download_cmds import make_reporter
    from video_censor_personal.library.local_runner import LocalRunner, default_jobs
    from video_censor_personal.model_manager import ModelManager

    return LocalRunner(jobs or default_jobs(), ModelManager(lock, runtime, make_reporter(options)))


class OutcomePrinter:
    """Called for each finished video: its line (or the bar's step), its error, its report."""

    def __init__(self, options, total: int):
        self.quiet = options.progress is False
        self.bar = None
        if show_bars(options) and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="videos", unit="video", file=sys.stderr, dynamic_ncols=True)

    def __call__(self, video, outcome, path: Path | None) -> None:
        if outcome.error is not None:
            self._say(None, outcome.error)
        elif path is None:
            click.echo(outcome.report, nl=False)
        elif not self.quiet:
            self._say(f"{video.path}: {outcome.segments} segment(s) to censor in {outcome.duration:.1f} s; "
                      f"wrote {path}")
        if self.bar is not None:
            self.bar.update(1)

    def _say(self, line: str | None, error=None) -> None:
        if self.bar is not None:
            self.bar.clear()
        if error is not None:
            _print_error(error)
        else:
            click.echo(line, err=True)
        if self.bar is not None:
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _print_error(error) -> None:
    from video_censor_personal.cli import report_error

    report_error(error)


def _print_summary(summary) -> None:
    click.echo(summary.line(), err=True)
    workers = summary.worker_line()
    if workers:
        click.echo(workers, err=True)
