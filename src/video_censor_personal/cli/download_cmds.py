"""`--download-models` and `models download | verify | status | path | export`.

Each command parses, calls one ModelManager method, prints. The tqdm bar lives here
(the core reports through progress.Reporter) and tqdm is imported only once a bar starts,
so a no-op run never loads it.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import click

from video_censor_personal.cli.common import load_lock, load_manifest_if_present, load_runtime
from video_censor_personal.cli.interop_cmds import export_hf_cache, hf_cache_option
from video_censor_personal.cli.output import aligned, say, show_bars
from video_censor_personal.progress import NullReporter, format_size

PATH_HINT = "run `video-censor models download {name}` (or `video-censor --download-models`)"


class TqdmReporter:
    """One bar on stderr: total bytes, speed, ETA, and the last finished file."""

    def __init__(self) -> None:
        self._bar, self._lock, self._done, self._files = None, threading.Lock(), 0, 0

    def start(self, total_bytes: int, files: int) -> None:
        from tqdm import tqdm

        self._files, self._done = files, 0
        self._bar = tqdm(total=total_bytes, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                         desc=f"{files} file{'s' if files != 1 else ''}", dynamic_ncols=True, mininterval=0.2,
                         colour="green" if _colour_wanted() else None)

    def advance(self, n: int) -> None:
        with self._lock:
            self._bar.update(n)

    def resumed(self, n: int) -> None:
        """Bytes already on disk move the bar but not its speed: tqdm's rate is the growth
        of `n` since the last print (and, on average, since `initial`), so both move with it."""
        with self._lock:
            self._bar.n += n
            self._bar.last_print_n += n
            self._bar.initial += n

    def waiting(self, name: str) -> None:
        with self._lock:
            self._bar.write(WAITING.format(name=name), file=sys.stderr)

    def file_done(self, name: str) -> None:
        with self._lock:
            self._done += 1
            self._bar.set_postfix_str(f"{self._done}/{self._files} {name}", refresh=False)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.close()


class NoteReporter(NullReporter):
    """No bar (stderr is not a terminal), but what the user must know is still said."""

    def waiting(self, name: str) -> None:
        click.echo(WAITING.format(name=name), err=True)


WAITING = "note: {name}: another process is downloading it; waiting for it to finish"


def _colour_wanted() -> bool:
    """DESIGN: no colour with NO_COLOR or when stderr is no terminal (a forced bar in a CI log)."""
    return sys.stderr.isatty() and not os.environ.get("NO_COLOR")


def make_reporter(options):
    """A bar on a TTY, or wherever --progress forces it; only notes without; nothing with --quiet."""
    if show_bars(options):
        return TqdmReporter()
    return NullReporter() if options.progress is False else NoteReporter()


def make_manager(options, reporter=None):
    """The loaders every download command shares: manifest (optional), runtime, lock."""
    from video_censor_personal.model_manager import ModelManager

    manifest, lock = load_manifest_if_present(options), load_lock(options)
    _warn_if_stale(options, manifest, lock)
    return ModelManager(lock, load_runtime(options, manifest), reporter)


def _warn_if_stale(options, manifest, lock) -> None:
    """Downloads go by the lock whatever models.toml says; a stale lock deserves a word."""
    from video_censor_personal.locking import staleness

    reason = staleness(manifest, lock) if manifest is not None else None
    if reason is not None:
        click.echo(f"warning: {options.lockfile_path} is out of date with {options.manifest_path} ({reason}); "
                   "this run goes by the lock; run `video-censor models lock` to update it", err=True)


def run_download(options, names: tuple) -> None:
    """`video-censor --download-models` and `models download`: fetch, verified, then say so."""
    summary = make_manager(options, make_reporter(options)).download(list(names) or None)
    others = f"; {summary.by_others} downloaded by another process meanwhile" if summary.by_others else ""
    if summary.fetched:
        speed = format_size(int(summary.fetched_bytes / max(summary.seconds, 1e-3)))
        say(options, f"Downloaded {len(summary.fetched)} file(s), {format_size(summary.fetched_bytes)} "
                     f"in {summary.seconds:.1f} s ({speed}/s); {summary.present} already present{others}.")
    else:
        say(options, f"All {summary.present + summary.by_others} locked file(s) present and verified{others}.")


@click.command("download")
@click.argument("names", nargs=-1)
@click.pass_obj
def download_cmd(options, names):
    """Download missing or invalid files of all (or the named) models, verified."""
    run_download(options, names)


@click.command("verify")
@click.argument("names", nargs=-1)
@click.pass_obj
def verify_cmd(options, names):
    """Re-hash every cached file against models.lock (full read); exit 1 on any failure."""
    report = make_manager(options, make_reporter(options)).verify(list(names) or None)
    report.raise_for_failures()
    say(options, f"Verified {report.checked} file(s): all match models.lock.")


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status_cmd(options, as_json):
    """Per model: locked commit, files present/missing/invalid, sizes, cache path (no hashing)."""
    manager = make_manager(options)
    plan = manager.plan()
    if as_json:
        click.echo(json.dumps(plan.to_json(options.lockfile_path, manager.runtime.cache_dir), indent=2))
        return
    for line in status_lines(plan):
        click.echo(line)


def status_lines(plan) -> list[str]:
    """A table with a header, a row per model; under it an indented line per file that is not
    present."""
    if not plan.models:
        return ["no models in the lock"]
    rows = [[m.name, m.commit[:12], _state_counts(m), format_size(sum(f.locked.size for f in m.files)),
             str(m.path)] for m in plan.models]
    table = aligned(["NAME", "COMMIT", "FILES", "SIZE", "PATH"], rows)
    lines = table[:1]
    for model, row in zip(plan.models, table[1:], strict=True):
        lines.append(row)
        lines += [f"  {f.state:<10} {f.locked.path}" for f in model.files if f.state != "present"]
    return lines


def _state_counts(model) -> str:
    counts: dict[str, int] = {}
    for f in model.files:
        counts[f.state] = counts.get(f.state, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no files"


@click.command("path")
@click.argument("name")
@click.pass_obj
def path_cmd(options, name):
    """Print the directory holding NAME's files, only when all of them are present."""
    paths = make_manager(options).ensure_ready([name], download=False, hint=PATH_HINT.format(name=name))
    click.echo(str(paths[name]))


@click.command("export")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@hf_cache_option
@click.pass_obj
def export_cmd(options, directory, hf_cache):
    """Write every locked file and models.lock into DIRECTORY (or s3://BUCKET/PREFIX), usable as a mirror
    (or, with --hf-cache, into a Hugging Face cache that huggingface_hub loads offline)."""
    if hf_cache is not None or directory is None:
        return export_hf_cache(options, directory, hf_cache)
    in_bucket = directory.startswith("s3://")
    report = make_manager(options, make_reporter(options)).export(directory if in_bucket else Path(directory))
    target = report.directory if in_bucket else report.directory.resolve()
    say(options, f"Exported {report.files} file(s) ({format_size(report.copied_bytes)} copied) and models.lock "
                 f"to {target}.\nUse it elsewhere with: --mirror {target if in_bucket else target.as_uri()}")


def register(models_group) -> None:
    """Add the download-side commands to the `models` group."""
    for command in (download_cmd, verify_cmd, status_cmd, path_cmd, export_cmd):
        models_group.add_command(command)
