"""How `analyze` spreads its work over threads: same flags in the same order, sized to its share."""

from __future__ import annotations

import pytest

from tests.media import make_clip
from tests.tiny_models import tiny_classifier
from video_censor_personal import analysis_pipeline
from video_censor_personal.analysis import frames, threads
from video_censor_personal.analysis.classifier import load_image_classifier
from video_censor_personal.config import AnalysisSpec, ModelSpec


def FLICKER(t: float) -> int:  # noqa: N802 - a constant-like curve
    """Bright and dark in an irregular rhythm, so flagged samples are scattered over many batches."""
    return 230 if round(t * 10) % 7 in (0, 3, 4) else 20


@pytest.fixture(scope="module")
def flicker_clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("media") / "flicker.mp4", seconds=8, gray=FLICKER)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny")
    (directory / "model.onnx").write_bytes(tiny_classifier())
    spec = AnalysisSpec("image-classifier", "model.onnx", ("nsfw",), 0.5, ("normal", "nsfw"), 32)
    return load_image_classifier(ModelSpec("tiny", "org/tiny", analysis=spec), directory)


def _flagged(clip, classifier, sharers: int) -> list[int]:
    threads.share_cores(sharers)
    try:
        return [flag.index for flag in analysis_pipeline.detect(frames.FrameSampler(clip, 10), [classifier])]
    finally:
        threads.share_cores(1)


def test_two_detector_threads_flag_the_same_samples_in_order_as_one(flicker_clip, classifier):
    alone = _flagged(flicker_clip, classifier, 1)
    one_thread = _flagged(flicker_clip, classifier, threads.usable_cores())  # one core's share
    assert alone == one_thread == sorted(alone)
    assert len(alone) > 3 * analysis_pipeline.BATCH  # spread over many batches, not one


def test_a_one_core_worker_runs_one_detector_thread_and_an_unthreaded_decoder():
    try:
        threads.share_cores(threads.usable_cores())
        assert (threads.detect_workers(), threads.decoder_threads(), threads.inference_threads()) == (1, 1, 1)
    finally:
        threads.share_cores(1)


def test_alone_on_two_or_more_cores_the_detectors_and_decoder_split_the_cores():
    if threads.usable_cores() < 2:
        pytest.skip("needs two cores")
    assert threads.detect_workers() == 2
    assert threads.inference_threads() == threads.usable_cores() - 1
    assert threads.decoder_threads() == max(1, 3 * (threads.usable_cores() - 2))
