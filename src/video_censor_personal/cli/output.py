"""Small printing helpers shared by the commands."""

from __future__ import annotations

import sys

import click


def show_bars(options) -> bool:
    """Progress bars: as --progress / --quiet say, else only when stderr is a terminal."""
    return options.progress if options.progress is not None else sys.stderr.isatty()


def say(options, text: str) -> None:
    """A summary line on stderr, unless --quiet."""
    if options.progress is not False:
        click.echo(text, err=True)


def print_advisories(advisories) -> None:
    """Each warning as one `warning:` line (notes as `note:`), what to do at its end."""
    for advisory in advisories:
        hint = f"; {advisory.hint}" if advisory.hint else ""
        click.echo(f"{advisory.level}: {advisory.model}: {advisory.message}{hint}", err=True)


def aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell, two spaces apart, header first."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in [header, *rows]]
