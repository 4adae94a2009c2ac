"""`models search`, `models outdated`, `models add`, `models remove`: the Hub beyond the lock.

Thin commands: parse, call discovery / advisories / manifest_edit, print. The core modules
are imported inside the commands so that `video-censor --help` stays free of
huggingface_hub.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from video_censor_personal.cli.common import load_lock, load_manifest_if_present, load_runtime, require_manifest
from video_censor_personal.cli.output import aligned, print_advisories
from video_censor_personal.config import ANALYSIS_KINDS
from video_censor_personal.progress import format_size


def register(models_group: click.Group) -> None:
    for command in (search, outdated, add, remove):
        models_group.add_command(command)


@click.command()
@click.argument("query")
@click.option("--task", metavar="T", help="Only models of this pipeline tag (e.g. image-classification).")
@click.option("--library", metavar="L", help="Only models of this library (e.g. onnx, transformers).")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="How many results.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list, most downloaded first).")
@click.option("--refresh", is_flag=True, help="Ask the Hub even if a cached answer is under 24 h old.")
@click.pass_obj
def search(options, query, task, library, limit, as_json, refresh):
    """Discover models on the Hub (answers cached 24 h)."""
    from video_censor_personal.discovery import Discovery

    discovery = Discovery(load_runtime(options, load_manifest_if_present(options)), refresh=refresh)
    found = discovery.search(query, task, library, limit)
    _print_notes(discovery.notes)
    if as_json:
        click.echo(json.dumps([asdict(model) for model in found], indent=2))
    elif not found:
        click.echo(f"no models found for {query!r}", err=True)
    else:
        _print_table(["ID", "DOWNLOADS", "LIKES", "TASK", "LIBRARY", "MODIFIED"],
                     [[m.id, str(m.downloads), str(m.likes), m.pipeline_tag or "-", m.library_name or "-",
                       (m.last_modified or "-")[:10]] for m in found])


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON, one object per locked model.")
@click.pass_obj
def outdated(options, as_json):
    """Per locked model: newer commit of its revision, declared successor (exit 0 either way)."""
    from video_censor_personal.advisories import outdated as find_outdated
    from video_censor_personal.discovery import Discovery
    from video_censor_personal.huggingface_registry import HubRegistry

    runtime = load_runtime(options, load_manifest_if_present(options))
    registry = HubRegistry(runtime)
    discovery = Discovery(runtime, registry)
    rows = find_outdated(load_lock(options), registry, discovery)
    _print_notes(discovery.notes)
    if as_json:
        click.echo(json.dumps([_outdated_json(row) for row in rows], indent=2))
        return
    _print_table(["NAME", "REVISION", "LOCKED", "NEWEST", "SUCCESSOR", "NOTES"],
                 [[r.name, r.revision, r.locked_commit[:7], _newest(r), r.successor or "-", _notes(r)] for r in rows])


@click.command()
@click.argument("name")
@click.argument("repo")
@click.option("--revision", metavar="R", help="Branch, tag or full commit (default: main).")
@click.option("--include", "include", multiple=True, metavar="P", help="Glob of files to lock (repeatable).")
@click.option("--exclude", "exclude", multiple=True, metavar="P", help="Glob of files to leave out (repeatable).")
@click.option("--description", metavar="TEXT", help="Free text kept in models.toml.")
@click.option("--kind", type=click.Choice(ANALYSIS_KINDS), help="Use it in `analyze`: writes its analysis table.")
@click.option("--file", "file", metavar="F", help="With --kind: the ONNX file to run.")
@click.option("--flag", "flag", multiple=True, metavar="LABEL", help="With --kind: a label to censor (repeatable).")
@click.option("--threshold", type=click.FloatRange(0, 1), metavar="X", help="With --kind: score that flags (0-1).")
@click.pass_obj
def add(options, name, repo, revision, include, exclude, description, kind, file, flag, threshold):
    """Declare a model in models.toml (comments kept), then lock.

    With --kind, --file and --flag, `analyze` uses it right away: the repo's config.json and
    preprocessor_config.json are locked too (labels and preprocessing come from them).
    """
    from video_censor_personal.manifest_edit import NewModel, add_model

    new = NewModel(name, repo, revision, include, exclude, description, _analysis(kind, file, flag, threshold))
    runtime = load_runtime(options, load_manifest_if_present(options))
    outcome = add_model(options.manifest_path, options.lockfile_path, new, runtime)
    print_advisories(outcome.resolution.advisories)
    model = outcome.resolution.lock.model(name)
    click.echo(f"Added {name} ({repo} @ {model.commit[:7]}, {len(model.files)} file(s), "
               f"{format_size(model.total_size)}) to {options.manifest_path}; {options.lockfile_path} updated",
               err=True)


def _analysis(kind, file, flag, threshold) -> dict | None:
    """The analysis table `models add` writes, or None; half of one is a usage error."""
    if kind is None:
        if file or flag or threshold is not None:
            raise click.UsageError("--file, --flag and --threshold describe how `analyze` uses the model: "
                                   "add --kind KIND")
        return None
    if not file or not flag:
        raise click.UsageError(f"--kind {kind} needs --file (the ONNX file to run) and --flag (a label to censor)")
    table = {"kind": kind, "file": file, "flag": list(flag)}
    return table if threshold is None else {**table, "threshold": threshold}


@click.command()
@click.argument("name")
@click.pass_obj
def remove(options, name):
    """Remove a model from models.toml (comments kept), then lock."""
    from video_censor_personal.manifest_edit import remove_model

    runtime = load_runtime(options, require_manifest(options))
    outcome = remove_model(options.manifest_path, options.lockfile_path, name, runtime)
    print_advisories(outcome.resolution.advisories)
    state = "updated" if outcome.lock_written else "unchanged"
    click.echo(f"Removed {name} from {options.manifest_path}; {options.lockfile_path} {state}", err=True)


def _print_notes(notes: list[str]) -> None:
    for note in notes:
        click.echo(f"note: {note}", err=True)


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    for line in aligned(header, rows):
        click.echo(line)


def _newest(row) -> str:
    if row.newest_commit is None:
        return "?"
    return f"{row.newest_commit[:7]} (newer)" if row.newer_commit else f"{row.newest_commit[:7]} (up to date)"


def _notes(row) -> str:
    notes = [row.problem, f"renamed to {row.renamed_to}" if row.renamed_to else None,
             "deprecated" if row.deprecated else None]
    return "; ".join(note for note in notes if note) or "-"


def _outdated_json(row) -> dict:
    return {"name": row.name, "repo": row.repo, "revision": row.revision, "locked_commit": row.locked_commit,
            "newest_commit": row.newest_commit, "newer_commit": row.newer_commit, "renamed_to": row.renamed_to,
            "deprecated": row.deprecated, "successor": row.successor, "successor_chain": list(row.successors),
            "problem": row.problem}
