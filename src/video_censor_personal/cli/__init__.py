"""The `video-censor` command line: parse options, call one core function, print.

Only this package imports click and tqdm. Every error the core raises is a
VideoCensorError; `main` turns it into `error:` / indented details / `hint:` lines and
the exit code of its class (errors.py), with no traceback unless --debug.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from video_censor_personal import __version__
from video_censor_personal.environment import debug_enabled, read_token
from video_censor_personal.errors import VideoCensorError


@dataclass
class AppOptions:
    """Root options, shared by every command (a `models` group option wins over these)."""

    manifest_path: Path = Path("models.toml")
    lockfile_path: Path = Path("models.lock")
    cache_dir: Path | None = None
    offline: bool = False
    debug: bool = False
    progress: bool | None = None  # None: only on a TTY
    mirrors: tuple[str, ...] = field(default_factory=tuple)
    download_models: bool = False


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--download-models", is_flag=True, help="Download missing or invalid locked models.")
@click.option("--offline", is_flag=True, help="No network: use the cache and file:// mirrors.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option("--progress/--quiet", default=None, help="Force progress bars on / silence them.")
@click.option("--mirror", "mirrors", multiple=True, metavar="URL", help="Mirror tried after the Hub.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Model cache directory.")
@click.option("--manifest", type=click.Path(dir_okay=False), help="models.toml to read.")
@click.option("--lockfile", type=click.Path(dir_okay=False), help="models.lock to read/write.")
@click.version_option(__version__, prog_name="video-censor")
@click.pass_context
def cli(ctx, download_models, offline, debug, progress, mirrors, cache_dir, manifest, lockfile):
    """Analyse videos with ML models that are declared, locked and verified."""
    ctx.obj = AppOptions(
        manifest_path=_path(manifest) or Path("models.toml"),
        lockfile_path=_path(lockfile) or Path("models.lock"),
        cache_dir=_path(cache_dir),
        offline=offline,
        debug=debug or debug_enabled(),
        progress=progress,
        mirrors=tuple(mirrors),
        download_models=download_models,
    )
    if ctx.invoked_subcommand is None:
        if not download_models:
            click.echo(ctx.get_help())
            return
        from video_censor_personal.cli.download_cmds import run_download

        run_download(ctx.obj, names=())


@cli.group()
@click.option("--manifest", type=click.Path(dir_okay=False), help="models.toml to read.")
@click.option("--lockfile", type=click.Path(dir_okay=False), help="models.lock to read/write.")
@click.pass_context
def models(ctx, manifest, lockfile):
    """Declare, lock, download and inspect models."""
    options: AppOptions = ctx.obj
    ctx.obj = replace(
        options,
        manifest_path=_path(manifest) or options.manifest_path,
        lockfile_path=_path(lockfile) or options.lockfile_path,
    )


def _register_commands() -> None:
    from video_censor_personal.cli import analyze_cmd, censor_cmd, download_cmds, hub_cmds, lock_cmds

    for module in (lock_cmds, download_cmds, hub_cmds):
        module.register(models)
    analyze_cmd.register(cli)
    censor_cmd.register(cli)


_register_commands()


def report_error(error: VideoCensorError) -> None:
    """`error:` line, the concerned files/models indented, then `hint:`; token redacted."""
    lines = [f"error: {error.message}"] + [f"  {detail}" for detail in error.details]
    if error.hint:
        lines.append(f"hint: {error.hint}")
    click.echo(redact("\n".join(lines)), err=True)


def redact(text: str) -> str:
    """Last line of defence: the token never reaches a terminal or a log."""
    token = read_token(__import__("os").environ)
    return text.replace(token, "***") if token else text


def _print_traceback(debug: bool) -> None:
    """With --debug, the traceback comes first; the `error:` line and exit code stay the same."""
    if debug:
        import traceback

        click.echo(redact(traceback.format_exc()).rstrip(), err=True)


def _report_click_error(exc: click.ClickException) -> None:
    """Usage errors in our message format: `error:` line, then a `hint:` naming --help."""
    click.echo(f"error: {exc.format_message()}", err=True)
    context = getattr(exc, "ctx", None)
    command = context.command_path if context is not None else "video-censor"
    click.echo(f"hint: run `{command} --help` for usage", err=True)


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or debug_enabled()
    try:
        cli.main(args=argv, prog_name="video-censor", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("error: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        _report_click_error(exc)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except VideoCensorError as exc:
        _print_traceback(debug)
        report_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line, traceback only with --debug
        _print_traceback(debug)
        click.echo(redact(f"error: unexpected {type(exc).__name__}: {exc}"), err=True)
        click.echo("hint: run again with --debug and report the traceback", err=True)
        sys.exit(1)
    sys.exit(0)
