"""Recorded Hub metadata of the real default models (../shared/hub-records.md), for the fake Hub.

Only what public records give is recorded: commit, path, size and LFS sha256. The bytes
are hundreds of MB and never served: the fake answers metadata exactly, so `models lock`
against it reproduces the committed models.lock (URL host aside).
"""

from __future__ import annotations

from tests.fakehub import LFS, FakeHub

NSFW_REPO = "onnx-community/nsfw_image_detection-ONNX"
NSFW_COMMIT = "1ceb3c7fe1e9f3f2507e6df577437f23a9149fd5"
NSFW_FILES = {
    # model_quantized.onnx is left out: its size is not recorded, and the default manifest
    # does not include it.
    "onnx/model.onnx": (343401688, "a4316a4fb750169ac4fcabaabee1fcbd982b0ee8c0cc63fe3e944954bb9a7d9c"),
}


def record_default_models(hub: FakeHub) -> None:
    repo = hub.create_repo(NSFW_REPO, card={"license": "apache-2.0", "base_model": "Falconsai/nsfw_image_detection"},
                           pipeline_tag="image-classification")
    files = {path: LFS.recorded(size=size, sha256=sha256) for path, (size, sha256) in NSFW_FILES.items()}
    repo.record(commit=NSFW_COMMIT, files=files, branch="main")
