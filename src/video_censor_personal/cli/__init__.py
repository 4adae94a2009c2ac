"""The `video-censor` command line: parse options, call one core function, print.

Only this package imports click and tqdm. Every error the core raises is a
VideoCensorError; `main` turns it into `error:` / indented details / `hint:` lines and
the exit code of its class (errors.py), with no traceback unless --debug.
"""

from __future__ import annotations

import errno
import logging
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from video_censor_personal import __version__
from video_censor_personal.environment import debug_enabled, read_token
from video_censor_personal.errors import DiskSpaceError, ManifestError, NetworkError, UsageError, VideoCensorError


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
    _say_core_notes(quiet=progress is False)
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


class _EchoHandler(logging.Handler):
    """Notes the core logs (`retrying in 2 s (connection refused)`) as plain stderr lines.

    click.echo looks sys.stderr up at each call, so output lands wherever stderr is now.
    """

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(redact(record.getMessage()), err=True)


_NOTES = _EchoHandler()


def _say_core_notes(quiet: bool) -> None:
    """Print the core's notes on stderr, except with --quiet (one handler, however often called)."""
    logger = logging.getLogger("video_censor_personal")
    logger.propagate = False
    if _NOTES not in logger.handlers:
        logger.addHandler(_NOTES)
    logger.setLevel(logging.ERROR if quiet else logging.INFO)


def _register_commands() -> None:
    from video_censor_personal.cli import analyze_cmd, download_cmds, hub_cmds, lock_cmds

    for module in (lock_cmds, download_cmds, hub_cmds):
        module.register(models)
    analyze_cmd.register(cli)


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
    except Exception as exc:
        _print_traceback(debug)
        error = _known_error(exc)
        if error is not None:
            report_error(error)
            sys.exit(error.exit_code)
        # a bug: say so in one line, traceback only with --debug
        click.echo(redact(f"error: unexpected {type(exc).__name__}: {exc}"), err=True)
        click.echo("hint: run again with --debug and report the traceback", err=True)
        sys.exit(1)
    sys.exit(0)


def _known_error(exc: Exception) -> VideoCensorError | None:
    """What the user's system or files did, in our terms (None: a bug of ours).

    A path the system refuses (too long, not a directory, no permission, read-only) is bad
    input (2), a full disk is 4, and a TOML document that tomlkit cannot edit is a
    models.toml error (2): none of them is "unexpected".
    """
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return NetworkError(f"network error: {exc.strerror or exc}", hint="check the network and run it again")
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return DiskSpaceError(f"{where}no space left on the device", hint="free some space and run it again")
        return UsageError(f"{where}{exc.strerror or exc}",
                          hint="check the path (its length, its directories, its permissions)")
    if type(exc).__module__.startswith("tomlkit"):
        return ManifestError(f"models.toml: TOML error: {exc}", hint="fix models.toml, then run it again")
    return None
