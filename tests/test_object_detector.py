"""The object-detector kind, run for real: a tiny YOLOv8-style ONNX model over frames of a real clip.

The clip is 128 x 64 and dark, with a bright 32 x 32 square at x 64-96, y 32-64 from 2 s to 4 s.
Letterboxed into the tiny detector's 32 x 32 input, the frame is 32 x 16 and the square falls
exactly on one grid cell, so the one right box is x 0.5, y 0.5, w 0.25, h 0.5 of the frame.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.media import make_picture_clip
from tests.tiny_models import DETECTOR_LABELS, tiny_detector
from video_censor_personal.analysis.frames import FrameSampler
from video_censor_personal.analysis.object_detector import load_object_detector, non_maximum_suppression
from video_censor_personal.analysis.report import merge_segments
from video_censor_personal.config import AnalysisSpec, ModelSpec
from video_censor_personal.errors import UsageError

SQUARE = (0.5, 0.5, 0.25, 0.5)  # x, y, w, h of the bright square, 0-1 of the frame


def square_at(t: float):
    image = np.full((64, 128, 3), 20, np.uint8)
    if 2.0 <= t < 4.0:
        image[32:64, 64:96] = 230
    return image


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    clip = make_picture_clip(tmp_path_factory.mktemp("media") / "square.mp4", square_at, seconds=6)
    sampler = FrameSampler(clip, 2)
    return list(sampler), sampler.timeline


def spec(**analysis) -> ModelSpec:
    table = {"kind": "object-detector", "file": "det.onnx", "flag": ("bright",), "threshold": 0.5,
             "labels": DETECTOR_LABELS, **analysis}
    return ModelSpec("det", "org/det", analysis=AnalysisSpec(**table))


def load(tmp_path, model: ModelSpec | None = None, **build):
    (tmp_path / "det.onnx").write_bytes(tiny_detector(**build))
    return load_object_detector(model or spec(), tmp_path)


def xywh(box) -> tuple[float, ...]:
    return box.x, box.y, box.w, box.h


def test_the_square_is_found_once_per_sample_where_it_is_in_the_frame(tmp_path, samples):
    flags = load(tmp_path, names=True).flags(samples[0])
    assert [(f.index, f.label) for f in flags] == [(4, "bright"), (5, "bright"), (6, "bright"), (7, "bright")]
    for flag in flags:
        [box] = flag.boxes  # the duplicate 1 px to the right was suppressed
        assert xywh(box) == pytest.approx(SQUARE, abs=0.01)
        assert box.t == pytest.approx(flag.index / 2) and box.label == "bright"
        assert box.score == flag.score == pytest.approx(0.98, abs=0.01)


def test_boxes_map_back_through_a_top_left_letterbox_too(tmp_path, samples):
    detector = load(tmp_path, spec(align="top-left", pad=0))
    [box] = detector.flags(samples[0][5:6])[0].boxes
    assert xywh(box) == pytest.approx(SQUARE, abs=0.01)


def test_flagged_samples_become_one_segment_carrying_every_box(tmp_path, samples):
    frames, timeline = samples
    [segment] = merge_segments(load(tmp_path).flags(frames), timeline, duration=6.0)
    assert (segment.start, segment.end) == pytest.approx((1.6, 4.0))
    assert [box.t for box in segment.boxes] == pytest.approx([2.0, 2.5, 3.0, 3.5])
    assert segment.label == "bright" and segment.model == "det"


def test_threshold_and_flag_choose_what_is_flagged(tmp_path, samples):
    assert load(tmp_path, spec(threshold=0.99)).flags(samples[0]) == []
    dark = load(tmp_path, spec(flag=("dark",))).flags(samples[0])
    assert len(dark) == 12  # every frame has dark cells
    assert all(box.label == "dark" and box.score >= 0.5 for flag in dark for box in flag.boxes)


def test_every_label_is_detected_but_only_flag_labels_are_flagged(tmp_path, samples):
    detector = load(tmp_path)
    found = detector.detections(samples[0][5:6])[0]
    assert {d.label for d in found} == {"bright", "dark"}
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)  # best first
    assert {f.label for f in detector.flags(samples[0][5:6])} == {"bright"}


def test_without_nms_every_duplicate_would_stay(tmp_path, samples):
    detector = load(tmp_path, spec(iou=1.0))
    assert len(detector.flags(samples[0][5:6])[0].boxes) == 2


def test_labels_and_input_size_come_from_the_onnx_metadata(tmp_path, samples):
    detector = load(tmp_path, spec(labels=None), names=True)
    assert detector.labels == DETECTOR_LABELS and (detector.prep.width, detector.prep.height) == (32, 32)
    assert detector.prep.resize == "letterbox" and detector.prep.pad == 114


@pytest.mark.parametrize(
    "table, build, words",
    [
        ({"labels": ("a", "bright", "c")}, {}, "output has shape [?, 6, 32], expected [N, 4 + 3, candidates]"),
        ({"labels": None}, {}, "no labels"),
        ({"flag": ("face",)}, {}, "flag label 'face'"),
        ({"input_size": 64}, {}, "expects 32x32 frames"),
        ({"layout": "NHWC"}, {}, "input has 32 channels, expected 3"),
    ],
    ids=["label-count", "no-labels", "unknown-flag", "wrong-size", "wrong-layout"],
)
def test_a_misconfigured_detector_fails_at_load_with_exit_2(tmp_path, table, build, words):
    with pytest.raises(UsageError) as caught:
        load(tmp_path, spec(**table), **build)
    assert words in caught.value.message and "det" in caught.value.message and caught.value.exit_code == 2


def test_output_that_does_not_fit_the_labels_fails_when_run(tmp_path, samples):
    detector = load(tmp_path)
    detector.labels = ("only-one",)
    with pytest.raises(UsageError, match="expected"):
        detector.flags(samples[0][:1])


def test_non_maximum_suppression_keeps_the_best_of_each_overlapping_group():
    corners = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [0, 0, 10, 5], [21, 21, 31, 31]], float)
    # sorted best first; IoU(0, 1) = 0.82, IoU(0, 3) = 0.5, IoU(2, 4) = 0.68, the rest 0
    assert non_maximum_suppression(corners, 0.45).tolist() == [0, 2]
    assert non_maximum_suppression(corners, 0.5).tolist() == [0, 2, 3]  # dropped only above iou
    assert non_maximum_suppression(corners, 0.9).tolist() == [0, 1, 2, 3, 4]
    assert non_maximum_suppression(corners[:0], 0.45).tolist() == []
