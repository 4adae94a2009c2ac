"""`video-censor models lock`: resolve, show what changed, write (or check, or dry-run)."""

from __future__ import annotations

import click

from video_censor_personal.cli.common import load_runtime, require_manifest
from video_censor_personal.cli.output import print_advisories
from video_censor_personal.errors import CheckFailed
from video_censor_personal.lockfile import Lockfile, read_lockfile, write_lockfile
from video_censor_personal.locking import (
    LockMode,
    ModelChange,
    Upgrade,
    check_lock,
    diff_locks,
    read_previous_lock,
    resolve,
)
from video_censor_personal.manifest_edit import serialised
from video_censor_personal.progress import format_size


def register(models_group: click.Group) -> None:
    models_group.add_command(lock)


@click.command()
@click.option("--upgrade", "-U", "upgrade_all", is_flag=True, help="Move every model to its newest commit.")
@click.option("--upgrade-model", "-P", "upgrade_names", multiple=True, metavar="NAME",
              help="Move NAME to its newest commit (repeatable).")
@click.option("--strict", is_flag=True, help="Any warning exits 1 and nothing is written (for CI).")
@click.option("--check", is_flag=True, help="Exit 1 if models.lock is missing or stale (offline).")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.pass_obj
def lock(options, upgrade_all, upgrade_names, strict, check, dry_run):
    """Resolve models.toml through the Hub into models.lock."""
    mode = _mode(check, dry_run, upgrade_all or bool(upgrade_names))
    if mode is LockMode.CHECK:
        check_lock(require_manifest(options), _read_existing(options.lockfile_path), options.lockfile_path)
        click.echo(f"{options.lockfile_path} is up to date with {options.manifest_path}", err=True)
        return
    with serialised(options.manifest_path):  # no `models add` may slip in between read and write
        _lock(options, mode, Upgrade(upgrade_all, frozenset(upgrade_names)), strict)


def _lock(options, mode: LockMode, upgrade: Upgrade, strict: bool) -> None:
    manifest = require_manifest(options)
    previous, set_aside = read_previous_lock(options.lockfile_path)
    resolution = resolve(manifest, previous, load_runtime(options, manifest), upgrade)
    warnings = set_aside + resolution.warnings
    print_advisories(set_aside + resolution.advisories)
    if strict and warnings:
        raise CheckFailed(f"--strict: {len(warnings)} warning(s); {options.lockfile_path} not written",
                          hint="act on the warnings above, or lock without --strict")
    changes = diff_locks(previous, resolution.lock)
    if mode is LockMode.DRY_RUN:
        _print_changes(changes, "Would lock")
        return
    if write_lockfile(options.lockfile_path, resolution.lock):
        _print_changes(changes, "Locked")
    else:
        click.echo(f"Resolved {len(changes)} model(s); {options.lockfile_path} unchanged", err=True)


def _mode(check: bool, dry_run: bool, upgrading: bool) -> LockMode:
    if check and (dry_run or upgrading):
        raise click.UsageError("--check compares the lock with models.toml offline; it takes no "
                               "--dry-run, --upgrade or --upgrade-model")
    return LockMode.CHECK if check else LockMode.DRY_RUN if dry_run else LockMode.WRITE


def _read_existing(path) -> Lockfile | None:
    """For --check: a damaged lock is an error (exit 2), a missing one is stale (exit 1)."""
    try:
        return read_lockfile(path)
    except FileNotFoundError:
        return None


def _print_changes(changes: list[ModelChange], verb: str) -> None:
    moved = [c for c in changes if c.kind != "unchanged"]
    counts = ", ".join(f"{sum(c.kind == k for c in moved)} {k}" for k in ("added", "updated", "removed")
                       if any(c.kind == k for c in moved))
    click.echo(f"{verb} {len(changes)} model(s)" + (f" ({counts})" if counts else ", no changes"), err=True)
    for change in moved:
        click.echo("  " + _describe(change), err=True)


def _describe(change: ModelChange) -> str:
    if change.kind == "added":
        return f"+ {change.name} @ {change.new_commit[:7]} ({len(change.files_added)} file(s), " \
               f"{format_size(change.size_delta)})"
    if change.kind == "removed":
        return f"- {change.name} (was @ {change.old_commit[:7]})"
    commit = change.new_commit[:7] if change.old_commit == change.new_commit else \
        f"{change.old_commit[:7]} -> {change.new_commit[:7]}"
    files = "".join(f", +{p}" for p in change.files_added) + "".join(f", -{p}" for p in change.files_removed)
    sign = "+" if change.size_delta >= 0 else "-"
    return f"~ {change.name} @ {commit}{files} ({sign}{format_size(abs(change.size_delta))})"
