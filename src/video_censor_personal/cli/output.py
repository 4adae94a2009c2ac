"""Small printing helpers shared by the commands."""

from __future__ import annotations

import click


def format_size(size: int) -> str:
    """Bytes as a human reads them: 343401688 -> '327.5 MiB'."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def print_advisories(advisories) -> None:
    """Each warning as one `warning:` line (notes as `note:`), what to do at its end."""
    for advisory in advisories:
        hint = f"; {advisory.hint}" if advisory.hint else ""
        click.echo(f"{advisory.level}: {advisory.model}: {advisory.message}{hint}", err=True)
