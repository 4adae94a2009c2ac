"""`models list` and `models gc`: what the project declares and pins, and cleaning the cache.

Thin commands: load, call plan.list_models / cache_gc.collect_garbage, print.
"""

from __future__ import annotations

import json

import click

from video_censor_personal.cli.common import load_lock, load_manifest_if_present, load_runtime
from video_censor_personal.cli.output import aligned
from video_censor_personal.progress import format_size


def register(models_group: click.Group) -> None:
    for command in (list_cmd, gc_cmd):
        models_group.add_command(command)


def _lock_if_present(options, manifest):
    """The lock, or None beside a manifest that was never locked (list shows it as such)."""
    if manifest is not None and not options.lockfile_path.exists():
        return None
    return load_lock(options)


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, one object per model.")
@click.pass_obj
def list_cmd(options, as_json):
    """The models of models.toml and models.lock side by side, and whether they are cached."""
    from video_censor_personal.model_manager import ModelManager
    from video_censor_personal.plan import Plan, list_models

    manifest = load_manifest_if_present(options)
    lock = _lock_if_present(options, manifest)
    plan = ModelManager(lock, load_runtime(options, manifest)).plan() if lock is not None else Plan(())
    rows = list_models(manifest, lock, plan)
    if as_json:
        click.echo(json.dumps([row.to_json() for row in rows], indent=2))
        return
    if not rows:
        click.echo("no models in models.toml or models.lock", err=True)
        return
    for line in aligned(["NAME", "REPO", "REVISION", "COMMIT", "FILES", "SIZE", "KIND", "CACHED", "STATE"],
                        [[r.name, r.repo, r.revision, (r.commit or "-")[:12], _text(r.files),
                          format_size(r.size) if r.size is not None else "-", r.kind or "-", r.cached, r.state]
                         for r in rows]):
        click.echo(line)


def _text(value) -> str:
    return "-" if value is None else str(value)


@click.command("gc")
@click.option("--older-than", "days", type=click.FloatRange(min=0), default=30, show_default=True, metavar="DAYS",
              help="Remove what no command has used for DAYS days.")
@click.option("--dry-run", is_flag=True, help="Only print what would be removed.")
@click.pass_obj
def gc_cmd(options, days, dry_run):
    """Remove from the cache what no command has used lately (never the current lock's files)."""
    from video_censor_personal.cache import Cache
    from video_censor_personal.cache_gc import collect_garbage

    manifest = load_manifest_if_present(options)
    lock = load_lock(options) if options.lockfile_path.exists() else None  # its files are never removed
    cache = Cache(load_runtime(options, manifest).cache_dir)
    report = collect_garbage(cache, lock, days, dry_run)
    verb = "would remove" if dry_run else "removed"
    for removal in report.removals:
        click.echo(f"{verb} {removal.path} ({format_size(removal.size)}, {removal.reason})")
    for path in report.held:
        click.echo(f"kept {path}: another process is using it")
    freed = "freeing" if dry_run else "freed"
    click.echo(f"{verb} {len(report.removals)} item(s), {freed} {format_size(report.freed)} in {cache.root.parent}")
