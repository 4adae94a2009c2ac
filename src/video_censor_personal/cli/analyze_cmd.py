"""`video-censor analyze VIDEO`: run the analysis pipeline, write the report (and an EDL).

The command parses, builds the pipeline from the loaders every command shares, runs it and
writes. Heavy modules (the pipeline pulls in av, numpy and onnxruntime when it runs) are
imported inside the command, so `video-censor --help` never loads them.
"""

from __future__ import annotations

import errno
from pathlib import Path

import click

from video_censor_personal.cli.common import download_and_rerun, load_lock, load_runtime, require_manifest
from video_censor_personal.cli.output import say, show_bars
from video_censor_personal.cli.position_bar import PositionBar
from video_censor_personal.errors import DiskSpaceError, UsageError


def check_writable(*paths: Path | None) -> None:
    """Fail before a long analysis, not after it, when an output has nowhere to go."""
    for path in paths:
        if path is not None and not path.parent.is_dir():
            raise UsageError(f"cannot write {path}: directory {path.parent} does not exist")


def write(path: Path, text: str) -> None:
    """Whole or not at all: a full disk leaves the previous report (or none), never half of one."""
    from video_censor_personal.atomic import atomic_write_bytes

    try:
        atomic_write_bytes(path, text.encode("utf-8"))
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskSpaceError(f"cannot write {path}: the disk is full",
                                 hint="free some space and run it again") from None
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def is_library(videos: tuple[Path, ...], output: Path | None, jobs: int | None, scheduler: str | None) -> bool:
    """The multi-video form: several videos, a folder, -o an existing folder, --jobs or --scheduler."""
    return (len(videos) > 1 or any(video.is_dir() for video in videos) or jobs is not None
            or scheduler is not None or (output is not None and output.is_dir()))


@click.command("analyze")
@click.argument("videos", nargs=-1, required=True, metavar="VIDEO...", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Write the JSON here: a file for one video, a directory (DIR/<file name>.json) for several.")
@click.option("--fps", type=click.FloatRange(min=0, min_open=True, max=1000), default=2.0, show_default=True,
              help="Frames sampled per second of video.")
@click.option("--edl", type=click.Path(dir_okay=False, path_type=Path), help="Also write an EDL skip list (one video).")
@click.option("--pad", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Seconds added to both sides of every segment.")
@click.option("--download-models", is_flag=True, help="Download missing models first, then analyse.")
@click.option("-j", "--jobs", type=click.IntRange(min=1),
              help="Worker processes for several videos [default: one per core].")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="Analyse on this Dask cluster (the `cluster` extra).")
@click.option("--force", is_flag=True, help="Analyse again the videos whose report in -o DIR is up to date.")
@click.pass_obj
def analyze_cmd(options, videos, output, fps, edl, pad, download_models, jobs, scheduler, force):
    """Analyse each VIDEO (files, or folders searched for videos) with every model that has an analysis table.

    One video: the JSON report goes to stdout or -o REPORT.json. Several: one report each, in -o DIR.
    """
    from video_censor_personal.analysis_pipeline import AnalysisRequest

    download = download_models or options.download_models
    if is_library(videos, output, jobs, scheduler):
        from video_censor_personal.cli.library_cmd import run_library_command

        if edl is not None:
            raise UsageError("--edl writes one file, so it takes one video",
                             hint="analyse the videos into -o DIR, or run analyze --edl once per video")
        if jobs is not None and scheduler is not None:
            raise UsageError("--jobs and --scheduler exclude each other: on a cluster, its workers do the work",
                             hint="leave out --jobs; size the cluster with `dask worker --nworkers N --nthreads 1`")
        hint = download_and_rerun(options, "analyze", *videos, *(["-o", output] if output else []),
                                  *(["--scheduler", scheduler] if scheduler else []))
        request = AnalysisRequest(Path(), fps, download, hint, pad=pad)
        run_library_command(options, videos, output, request, jobs, scheduler, force)
        return
    [video] = videos
    analyse_one(options, video, output, edl,
                AnalysisRequest(video, fps, download, download_and_rerun(options, "analyze", video), pad=pad))


def run_analysis(options, request):
    """The analysis report of `request.video` by the locked models (a bar over the video on a
    TTY): `analyze VIDEO` and `censor VIDEO` without --report."""
    from video_censor_personal.analysis_pipeline import AnalysisPipeline
    from video_censor_personal.cli.download_cmds import make_reporter
    from video_censor_personal.model_manager import ModelManager

    manifest = require_manifest(options)
    lock = load_lock(options)
    manager = ModelManager(lock, load_runtime(options, manifest), make_reporter(options))
    bar = PositionBar("analysing") if show_bars(options) else None
    return AnalysisPipeline(manifest, lock, manager).run(request, bar)


def analyse_one(options, video: Path, output: Path | None, edl: Path | None, request) -> None:
    """`analyze VIDEO`: the report on stdout or in -o, and the EDL."""
    from video_censor_personal.analysis.report import render_edl, render_json

    check_writable(output, edl)
    report = run_analysis(options, request)
    if output:
        write(output, render_json(report))
    else:
        click.echo(render_json(report), nl=False)
    if edl:
        write(edl, render_edl(report.segments))
    if output or edl:
        written = " and ".join(str(path) for path in (output, edl) if path)
        say(options, f"{len(report.segments)} segment(s) to censor in {report.duration:.1f} s; wrote {written}")


def register(root_group) -> None:
    """Add `analyze` to the root command."""
    root_group.add_command(analyze_cmd)
