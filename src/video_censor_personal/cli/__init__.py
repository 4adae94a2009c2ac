"""The `video-censor` command line: parse options, call one core function, print.

Only this package imports click and tqdm. Every error the core raises is a
VideoCensorError; `main` turns it into `error:` / indented details / `hint:` lines and
the exit code of its class (errors.py), with no traceback unless --debug.
"""

from __future__ import annotations

import errno
import logging
import signal
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
    lockfile_given: bool = False  # else models.lock beside models.toml
    search_start: Path = Path(".")  # where the search for models.toml began (errors name it)
    cache_dir: Path | None = None
    offline: bool = False
    debug: bool = False
    progress: bool | None = None  # None: only on a TTY
    mirrors: tuple[str, ...] = field(default_factory=tuple)
    download_models: bool = False
    connections: int | None = None


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
@click.option("--connections", type=click.IntRange(min=1), metavar="N",
              help="Parallel Range requests per large file (default 8).")
@click.version_option(__version__, "-V", "--version", prog_name="video-censor")
@click.pass_context
def cli(ctx, download_models, offline, debug, progress, mirrors, cache_dir, manifest, lockfile, connections):
    """Analyse videos with ML models that are declared, locked and verified.

    Root options go before the command: video-censor --offline models lock.

    Shell completion (bash; zsh and fish alike with zsh_source / fish_source):
    eval "$(_VIDEO_CENSOR_COMPLETE=bash_source video-censor)" in ~/.bashrc.
    """
    from video_censor_personal.cli.common import locate_project

    manifest_path, lockfile_path = locate_project(_path(manifest), _path(lockfile), Path.cwd())
    ctx.obj = AppOptions(
        manifest_path=manifest_path,
        lockfile_path=lockfile_path,
        lockfile_given=lockfile is not None,
        search_start=Path.cwd(),
        cache_dir=_path(cache_dir),
        offline=offline,
        debug=debug or debug_enabled(),
        progress=progress,
        mirrors=tuple(mirrors),
        download_models=download_models,
        connections=connections,
    )
    _say_core_notes(quiet=progress is False)
    if ctx.invoked_subcommand is None:
        if not download_models:
            click.echo(ctx.get_help())
            return
        _run_download(ctx.obj)


@cli.group()
@click.option("--manifest", type=click.Path(dir_okay=False), help="models.toml to read.")
@click.option("--lockfile", type=click.Path(dir_okay=False), help="models.lock to read/write.")
@click.pass_context
def models(ctx, manifest, lockfile):
    """Declare, lock, download and inspect models."""
    from video_censor_personal.cli.common import locate_project

    options: AppOptions = ctx.obj
    manifest_path = _path(manifest) or options.manifest_path
    given_lock = _path(lockfile) or (options.lockfile_path if options.lockfile_given else None)
    _, lockfile_path = locate_project(manifest_path, given_lock, options.search_start)
    ctx.obj = replace(options, manifest_path=manifest_path, lockfile_path=lockfile_path,
                      lockfile_given=given_lock is not None)
    if options.download_models and ctx.invoked_subcommand not in _LOCK_EDITS:
        _run_download(ctx.obj)  # `video-censor --download-models models path NAME`: the files first


# Commands that change the lock: with the root --download-models, the new lock is downloaded after.
_LOCK_EDITS = ("lock", "add", "remove")


@models.result_callback()
@click.pass_context
def _download_after_edit(ctx, *_results, **_options) -> None:
    if ctx.obj.download_models and ctx.invoked_subcommand in _LOCK_EDITS:
        _run_download(ctx.obj)


def _run_download(options: AppOptions) -> None:
    from video_censor_personal.cli.download_cmds import run_download

    run_download(options, names=())


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
    from video_censor_personal.cli import (
        analyze_cmd,
        cache_cmds,
        censor_cmd,
        download_cmds,
        hub_cmds,
        interop_cmds,
        lock_cmds,
    )

    for module in (lock_cmds, download_cmds, hub_cmds, interop_cmds, cache_cmds):
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


def _report_click_error(exc: click.ClickException, argv: list[str]) -> None:
    """Usage errors in our message format: `error:` line, then a `hint:` naming --help,
    or, for a root option written after the command, the command line that works."""
    click.echo(f"error: {exc.format_message()}", err=True)
    moved = _root_option_moved(exc, argv)
    if moved:
        click.echo(f"hint: {exc.option_name} is a root option and goes before the command: `{moved}`", err=True)
        return
    context = getattr(exc, "ctx", None)
    command = context.command_path if context is not None else "video-censor"
    click.echo(f"hint: run `{command} --help` for usage", err=True)


_terminated: list[int] = []  # the signal number, once SIGTERM arrived


def _unwind_on_sigterm() -> None:
    """SIGTERM (`kill`, `timeout`, a container stopping) unwinds as Ctrl-C does.

    Python's default for SIGTERM ends the process at once, skipping every cleanup: a censored
    copy's temp file stayed beside OUT. Raised as KeyboardInterrupt, it takes the paths that
    Ctrl-C takes (temp files removed, download ranges kept); only the last line and the exit
    code (128 + 15) differ. An inherited SIG_IGN is left alone.
    """
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def interrupt(signum, _frame):
        _terminated.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _report_interrupt(interrupt: BaseException | None) -> None:
    """Ctrl-C: exit 130 (SIGTERM: 143); a download adds that the next run resumes it."""
    click.echo("error: terminated" if _terminated else "error: interrupted", err=True)
    if getattr(interrupt, "hint", None):
        click.echo(f"hint: {interrupt.hint}", err=True)
    sys.exit(128 + _terminated[0] if _terminated else 130)


def _root_option_moved(exc: click.ClickException, argv: list[str]) -> str | None:
    """`video-censor models lock --offline` -> `video-censor --offline models lock`."""
    import shlex

    if not isinstance(exc, click.NoSuchOption):
        return None
    option = next((o for o in cli.params if exc.option_name in o.opts), None)
    if option is None:
        return None
    for index, word in enumerate(argv):
        if word == exc.option_name or word.startswith(exc.option_name + "="):
            taken = 1 if option.is_flag or "=" in word else 2
            words = argv[index:index + taken] + argv[:index] + argv[index + taken:]
            return shlex.join(["video-censor", *words])
    return None


def main(argv: list[str] | None = None) -> None:
    argv_seen = list(argv if argv is not None else sys.argv[1:])
    debug = "--debug" in argv_seen or debug_enabled()
    _unwind_on_sigterm()
    try:
        cli.main(args=argv, prog_name="video-censor", standalone_mode=False)
    except click.exceptions.Abort as exc:  # click's name for a KeyboardInterrupt
        _report_interrupt(exc.__cause__)
    except click.ClickException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `video-censor models`: its help, as click < 8.2 did
            click.echo(exc.ctx.get_help())
            sys.exit(0)
        _report_click_error(exc, argv_seen)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except VideoCensorError as exc:
        _print_traceback(debug)
        report_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        _report_interrupt(exc)
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
