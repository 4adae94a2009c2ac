"""`models export --hf-cache [DIR]` and `models sbom`: the lock for other tools.

`--hf-cache` is an option of `models export` (download_cmds.py); the command hands it here.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from video_censor_personal.cli.common import load_lock
from video_censor_personal.cli.output import say
from video_censor_personal.errors import UsageError
from video_censor_personal.progress import format_size

hf_cache_option = click.option(
    "--hf-cache", "hf_cache", is_flag=False, flag_value="", default=None, metavar="[DIR]",
    help="Write a Hugging Face cache instead (default: the one huggingface_hub uses).")


def export_hf_cache(options, directory: str | None, hf_cache: str | None) -> None:
    """`models export --hf-cache [DIR]`: DIR, else the cache huggingface_hub would use."""
    from video_censor_personal.cli.download_cmds import make_manager
    from video_censor_personal.interop import hf_cache as interop

    if directory is not None or hf_cache is None:
        raise UsageError("give `models export` a DIRECTORY or --hf-cache [DIR], not both" if directory else
                         "`models export` needs a DIRECTORY or --hf-cache [DIR]",
                         hint="`models export DIR` writes a mirror; `models export --hf-cache [DIR]` "
                              "a Hugging Face cache")
    target = Path(hf_cache).expanduser() if hf_cache else interop.hub_cache_dir(os.environ)
    report = interop.export_hf_cache(make_manager(options), target)
    if report.guessed:
        click.echo(f"note: the Hub was not asked (offline) or did not answer which files of "
                   f"{', '.join(report.guessed)} are LFS; blob names follow the Hub's default .gitattributes rules",
                   err=True)
    say(options, f"Exported {report.files} file(s) of {report.models} model(s) to the Hugging Face cache "
                 f"{report.directory.resolve()} ({report.linked} linked, {format_size(report.copied_bytes)} "
                 f"copied).\nLoad them offline with: HF_HUB_OFFLINE=1 HF_HUB_CACHE={report.directory.resolve()}")


@click.command("sbom")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout.")
@click.option("--timestamp", is_flag=True, help="Add the creation time (the output then changes every run).")
@click.option("--serial-number", is_flag=True, help="Add a random serial number (changes every run).")
@click.pass_obj
def sbom_cmd(options, output, timestamp, serial_number):
    """A CycloneDX 1.6 JSON bill of materials of models.lock; deterministic."""
    from video_censor_personal.atomic import atomic_write_bytes
    from video_censor_personal.interop.sbom import lock_sbom

    text = lock_sbom(load_lock(options), timestamp=timestamp, serial_number=serial_number)
    if output is None:
        click.echo(text, nl=False)
        return
    atomic_write_bytes(Path(output), text.encode("utf-8"))
    say(options, f"Wrote the bill of materials of {options.lockfile_path} to {output}.")


def register(models_group) -> None:
    models_group.add_command(sbom_cmd)
