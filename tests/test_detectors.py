"""The image-classifier detector, run for real: a tiny ONNX model over frames of a real clip."""

from __future__ import annotations

import pytest

from tests.media import BRIGHT, DARK, make_clip
from tests.tiny_models import config_json, nsfw_probability, preprocessor_json, tiny_classifier
from video_censor_personal.analysis.classifier import load_image_classifier, resolve_preprocessing
from video_censor_personal.analysis.frames import FrameSampler
from video_censor_personal.analysis.onnx_model import resolve_labels
from video_censor_personal.analysis.preprocess import Preprocessing
from video_censor_personal.config import AnalysisSpec, ModelSpec
from video_censor_personal.errors import UsageError

BRIGHT_SAMPLES = [4, 5, 6, 7]  # 2 fps over a clip bright from 2 s to 4 s


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    clip = make_clip(tmp_path_factory.mktemp("media") / "clip.mp4")
    return list(FrameSampler(clip, 2))


def model_dir(tmp_path, **files: bytes):
    directory = tmp_path / "model"
    for path, data in {"model.onnx": tiny_classifier(), **files}.items():
        (directory / path).parent.mkdir(parents=True, exist_ok=True)
        (directory / path).write_bytes(data)
    return directory


def spec(**analysis) -> ModelSpec:
    table = {"kind": "image-classifier", "file": "model.onnx", "flag": ("nsfw",), "threshold": 0.8,
             "labels": ("normal", "nsfw"), "input_size": 32, **analysis}
    return ModelSpec("tiny", "org/tiny", analysis=AnalysisSpec(**table))


def test_bright_frames_are_flagged_with_their_softmax_score(tmp_path, samples):
    detector = load_image_classifier(spec(), model_dir(tmp_path))
    flags = detector.flags(samples)
    assert [f.index for f in flags] == BRIGHT_SAMPLES
    assert {(f.model, f.label) for f in flags} == {("tiny", "nsfw")}
    assert [f.score for f in flags] == pytest.approx([nsfw_probability(BRIGHT)] * 4, abs=0.002)


def test_scores_are_probabilities_per_label(tmp_path, samples):
    scores = load_image_classifier(spec(), model_dir(tmp_path)).scores(samples)
    assert scores.shape == (12, 2)
    assert scores.sum(axis=1) == pytest.approx([1.0] * 12)
    assert scores[0, 1] == pytest.approx(nsfw_probability(DARK), abs=0.002)


def test_threshold_and_flag_choose_what_is_flagged(tmp_path, samples):
    directory = model_dir(tmp_path)
    assert load_image_classifier(spec(threshold=1.0), directory).flags(samples) == []
    dark = load_image_classifier(spec(flag=("normal",)), directory).flags(samples)
    assert [f.index for f in dark] == [i for i in range(12) if i not in BRIGHT_SAMPLES]


def test_probabilities_output_is_used_as_is(tmp_path, samples):
    directory = model_dir(tmp_path, **{"model.onnx": tiny_classifier(probabilities=True)})
    detector = load_image_classifier(spec(output="probabilities"), directory)
    assert [f.index for f in detector.flags(samples)] == BRIGHT_SAMPLES
    assert detector.scores(samples)[5, 1] == pytest.approx(nsfw_probability(BRIGHT), abs=0.002)


def test_a_model_with_a_batch_of_one_gets_frames_one_by_one(tmp_path, samples):
    directory = model_dir(tmp_path, **{"model.onnx": tiny_classifier(batch=1)})
    assert [f.index for f in load_image_classifier(spec(), directory).flags(samples)] == BRIGHT_SAMPLES


def test_labels_and_size_come_from_the_locked_json_files(tmp_path, samples):
    directory = model_dir(tmp_path, **{"config.json": config_json(),
                                       "preprocessor_config.json": preprocessor_json(32)})
    detector = load_image_classifier(spec(labels=None, input_size=None), directory)
    assert detector.labels == ("normal", "nsfw")
    assert (detector.prep.width, detector.prep.height) == (32, 32)
    assert [f.index for f in detector.flags(samples)] == BRIGHT_SAMPLES


def test_preprocessing_defaults_and_overrides(tmp_path):
    directory = tmp_path
    assert resolve_preprocessing(spec(input_size=None).analysis, directory) == Preprocessing(
        224, 224, (0.5,) * 3, (0.5,) * 3)
    (directory / "preprocessor_config.json").write_text(
        '{"size": {"shortest_edge": 256}, "image_mean": [0.4, 0.5, 0.6], "image_std": 0.25}')
    assert resolve_preprocessing(spec(input_size=None).analysis, directory) == Preprocessing(
        256, 256, (0.4, 0.5, 0.6), (0.25,) * 3)
    table = spec(input_size=64, mean=(0.0,) * 3, std=(1.0,) * 3).analysis
    assert resolve_preprocessing(table, directory) == Preprocessing(64, 64, (0.0,) * 3, (1.0,) * 3)


def test_preprocess_is_nchw_scaled_then_normalised():
    import numpy as np

    image = np.zeros((2, 3, 3), np.uint8)
    image[0, :, 0] = 255
    batch = Preprocessing(3, 2, (0.5, 0.5, 0.5), (0.5, 0.25, 0.5)).tensor(np.stack([image]))
    assert batch.shape == (1, 3, 2, 3) and batch.dtype.name == "float32"
    assert batch[0, 0, 0, 0] == pytest.approx(1.0) and batch[0, 0, 1, 0] == pytest.approx(-1.0)
    assert batch[0, 1, 0, 0] == pytest.approx(-2.0)


@pytest.mark.parametrize(
    "files, table, words",
    [
        ({}, {"labels": None}, "no labels"),
        ({"config.json": b'{"id2label": {"0": "a", "2": "b"}}'}, {"labels": None}, "0..n-1"),
        ({}, {"flag": ("porn",)}, "flag label 'porn'"),
        ({}, {"input_size": 64}, "expects 32x32 frames"),
        ({}, {"labels": ("a", "nsfw", "c")}, "2 scores per frame but has 3 labels"),
        ({"model.onnx": b"not an onnx file"}, {}, "onnxruntime cannot load"),
    ],
    ids=["no-labels", "bad-id2label", "unknown-flag", "wrong-size", "label-count", "not-onnx"],
)
def test_a_misconfigured_model_fails_at_load_with_exit_2(tmp_path, files, table, words):
    with pytest.raises(UsageError) as caught:
        load_image_classifier(spec(**table), model_dir(tmp_path, **files))
    assert words in caught.value.message and "tiny" in caught.value.message
    assert caught.value.exit_code == 2


def test_labels_from_table_win_over_config(tmp_path):
    (tmp_path / "config.json").write_bytes(config_json(("x", "y")))
    assert resolve_labels(spec(), tmp_path) == ("normal", "nsfw")
    assert resolve_labels(spec(labels=None, flag=("y",)), tmp_path) == ("x", "y")
