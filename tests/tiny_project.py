"""A project of one model on the fake Hub: models.toml, its models.lock, the files published.

The analyze, censor, library and read-only-cache tests (and benchmarks/library_bench.py)
share the same tiny brightness classifier project (tests/tiny_models.py); it lives here once.
"""

from __future__ import annotations

from pathlib import Path

from tests.download_support import publish
from tests.tiny_models import config_json, tiny_classifier
from video_censor_personal.config import load_manifest, manifest_hash
from video_censor_personal.lockfile import Lockfile, write_lockfile

MANIFEST_TEMPLATE = """\
[models.tiny]
repo = "org/tiny-nsfw"

[models.tiny.analysis]   # labels come from the locked config.json
kind = "image-classifier"
file = "onnx/model.onnx"
flag = ["nsfw"]
threshold = 0.8
input-size = {size}
"""
MANIFEST = MANIFEST_TEMPLATE.replace("{size}", "32")
MODEL_FILES = {"onnx/model.onnx": tiny_classifier(), "config.json": config_json()}


def write_project(directory: Path, hub, manifest: str, name: str, files: dict[str, bytes], repo_id: str):
    """`manifest` as directory/models.toml, the model `name` published on `hub` with `files`,
    and the models.lock that pins it; returns its LockedModel."""
    locked = publish(hub, name, files, repo_id=repo_id)
    (directory / "models.toml").write_text(manifest, encoding="utf-8")
    write_lockfile(directory / "models.lock",
                   Lockfile(manifest_hash(load_manifest(directory / "models.toml")), (locked,)))
    return locked


def make_project(directory: Path, hub, size: int = 32):
    """The tiny classifier project (size x size input) in `directory`; returns its LockedModel.

    The benchmark uses 224, a real model's size, so that the frames' conversion costs what it would.
    """
    files = MODEL_FILES if size == 32 else {**MODEL_FILES, "onnx/model.onnx": tiny_classifier(size=size)}
    return write_project(directory, hub, MANIFEST_TEMPLATE.replace("{size}", str(size)), "tiny", files,
                         "org/tiny-nsfw")
