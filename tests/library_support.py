"""Shared by the library tests: a project whose tiny model is on a fake Hub, and a library of short clips.

Clips are 2 s, 64x64, bright from 0.5 s to 1 s: each report has one segment, and a
differently bright clip gives a different report, so a report put under the wrong name shows.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.download_support import publish
from tests.media import dark_bright_dark, make_clip
from tests.tiny_models import config_json, tiny_classifier
from video_censor_personal.config import load_manifest, manifest_hash
from video_censor_personal.lockfile import Lockfile, write_lockfile

MANIFEST = """\
[models.tiny]
repo = "org/tiny-nsfw"

[models.tiny.analysis]
kind = "image-classifier"
file = "onnx/model.onnx"
flag = ["nsfw"]
threshold = 0.8
input-size = {size}
"""
MODEL_FILES = {"onnx/model.onnx": tiny_classifier(), "config.json": config_json()}


def make_project(directory: Path, hub, size: int = 32):
    """models.toml and models.lock in `directory`; the tiny model (size x size input) published on `hub`.

    Returns its LockedModel. The benchmark uses 224, a real model's size, so that the frames'
    conversion costs what it would.
    """
    files = MODEL_FILES if size == 32 else {**MODEL_FILES, "onnx/model.onnx": tiny_classifier(size=size)}
    locked = publish(hub, "tiny", files, repo_id="org/tiny-nsfw")
    (directory / "models.toml").write_text(MANIFEST.replace("{size}", str(size)), encoding="utf-8")
    manifest = load_manifest(directory / "models.toml")
    write_lockfile(directory / "models.lock", Lockfile(manifest_hash(manifest), (locked,)))
    return locked


def clip_bytes(directory: Path, bright: tuple[float, float] = (0.5, 1.0), seconds: float = 2) -> bytes:
    return make_clip(directory / "clip.mp4", seconds=seconds, gray=dark_bright_dark(bright)).read_bytes()


def make_library(root: Path, clips: dict[str, bytes]) -> Path:
    """root/<relative path> for each clip."""
    for relative, data in clips.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def reports_in(directory: Path) -> dict[str, bytes]:
    """Every report of an output directory (not the hidden resume state), by name."""
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir()) if not path.name.startswith(".")}


def segment_of(report: bytes) -> tuple[float, float]:
    [segment] = json.loads(report)["segments"]
    return segment["start"], segment["end"]
