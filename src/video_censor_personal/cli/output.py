"""Small printing helpers shared by the commands."""

from __future__ import annotations

import click


def print_advisories(advisories) -> None:
    """Each warning as one `warning:` line (notes as `note:`), what to do at its end."""
    for advisory in advisories:
        hint = f"; {advisory.hint}" if advisory.hint else ""
        click.echo(f"{advisory.level}: {advisory.model}: {advisory.message}{hint}", err=True)
