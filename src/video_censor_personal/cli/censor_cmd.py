"""`video-censor censor VIDEO -o OUT`: analyse (or reuse a report), then write a censored copy.

Thin: the options become a CensorRequest; the flagged ranges come from `--report` or from
the analysis pipeline run here exactly as `analyze` runs it (same checks, same
`--download-models`); censoring.writer does the rest. av, numpy and onnxruntime are
imported only when the command runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from video_censor_personal.cli.analyze_cmd import run_analysis
from video_censor_personal.cli.common import download_and_rerun
from video_censor_personal.cli.output import say, show_bars
from video_censor_personal.cli.position_bar import PositionBar

VIDEO_EFFECTS = ("blur", "black", "pixelate", "cut")
AUDIO_EFFECTS = ("keep", "mute", "bleep")


@dataclass(frozen=True)
class AnalysisSettings:
    """The options that `censor` passes on to the analysis, as `analyze` takes them."""

    fps: float
    pad: float
    download: bool


def analyse(options, video: Path, output: Path, settings: AnalysisSettings) -> dict:
    """The analysis report of `video`, as `analyze` would write it, from the locked models."""
    from video_censor_personal.analysis_pipeline import AnalysisRequest

    request = AnalysisRequest(video, settings.fps, settings.download or options.download_models,
                              download_and_rerun(options, "censor", video, "-o", output), pad=settings.pad)
    return run_analysis(options, request).to_dict()


@click.command("censor")
@click.argument("video", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="Write the censored copy here (.mp4, .mkv, .mov).")
@click.option("--video", "video_effect", type=click.Choice(VIDEO_EFFECTS), default="blur", show_default=True,
              help="What flagged frames get: blurred, blacked out, pixelated (inside a detector's boxes, "
                   "else the whole frame) or cut out.")
@click.option("--audio", "audio_effect", type=click.Choice(AUDIO_EFFECTS), default="keep", show_default=True,
              help="What the audio of flagged ranges gets: kept, muted or bleeped (1 kHz).")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Censor by this analysis report (from `analyze -o`) instead of analysing.")
@click.option("--fps", type=click.FloatRange(min=0, min_open=True, max=1000), default=2.0, show_default=True,
              help="Frames sampled per second when analysing (not with --report).")
@click.option("--pad", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Seconds added to both sides of every segment when analysing (not with --report).")
@click.option("--download-models", is_flag=True, help="Download missing models first, then analyse and censor.")
@click.pass_obj
def censor_cmd(options, video, output, video_effect, audio_effect, report, fps, pad, download_models):
    """Write a censored copy of VIDEO to OUT, by a fresh analysis or by --report."""
    from video_censor_personal.censoring.report_reader import load_report, read_report
    from video_censor_personal.censoring.writer import CensorRequest, censor_video, check_output

    check_output(video, output)
    if report is not None:
        flagged, source = load_report(report), str(report)
    else:
        source = "the analysis"
        flagged = read_report(analyse(options, video, output, AnalysisSettings(fps, pad, download_models)), source)
    request = CensorRequest(video, output, video_effect, audio_effect)
    bar = PositionBar("censoring") if show_bars(options) else None
    if bar is not None:
        bar.start(flagged.duration)
    try:
        result = censor_video(request, flagged, source, bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.finish()
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    say(options, summary(result, video_effect, audio_effect, output))


def summary(result, video_effect: str, audio_effect: str, output: Path) -> str:
    """One line: what was censored, how long it took, and where the copy is."""
    speed = f"in {result.elapsed:.1f} s, {result.duration / max(result.elapsed, 1e-6):.1f}x real time"
    if result.censored == 0:
        return f"nothing flagged in {result.duration:.1f} s: copied {speed}; wrote {output}"
    if video_effect == "cut":
        return (f"cut {result.censored:.1f} s of {result.duration:.1f} s {speed}; "
                f"wrote {output} ({result.output_duration:.1f} s)")
    return (f"censored {result.censored:.1f} s of {result.duration:.1f} s (video {video_effect}, audio {audio_effect}) "
            f"{speed}; wrote {output}")


def register(root_group) -> None:
    """Add `censor` to the root command."""
    root_group.add_command(censor_cmd)
