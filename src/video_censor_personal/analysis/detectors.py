"""Detectors: sampled frames in, flagged samples out. One kind today, `image-classifier`.

An image classifier is an ONNX file run by onnxruntime (one session per model, CPU,
frames in batches). Preprocessing follows DESIGN.md (Precise rules, Analysis): RGB,
resized to the input size, NCHW float32, pixels / 255, then (x - mean) / std. The output
is read as logits and softmaxed unless the table says `output = "probabilities"`.

Where each setting comes from, first found wins:

    labels       [analysis] labels   -> config.json id2label            -> error
    input size   [analysis] input-size -> preprocessor_config.json size -> 224
    mean, std    [analysis] mean/std -> preprocessor_config.json image_mean/std -> 0.5

Everything that can be checked without frames (labels, flag labels, input shape, output
width) is checked when the detector is loaded, so a misconfigured model fails before the
video is decoded. numpy and onnxruntime are imported inside functions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from video_censor_personal.analysis import threads
from video_censor_personal.analysis.report import Flag
from video_censor_personal.config import AnalysisSpec, ModelSpec
from video_censor_personal.errors import UsageError

DEFAULT_SIZE = 224
DEFAULT_MEAN = (0.5, 0.5, 0.5)
DEFAULT_STD = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class Preprocessing:
    width: int
    height: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


class ImageClassifier:
    """One ONNX image classifier and the rule that turns its scores into flags."""

    def __init__(self, name: str, session, labels: Sequence[str], spec: AnalysisSpec, prep: Preprocessing):
        self.name, self.session, self.labels = name, session, tuple(labels)
        self.prep, self.threshold = prep, spec.threshold
        self.softmax = spec.output == "logits"
        self.flag_columns = [(self.labels.index(label), label) for label in spec.flag]
        model_input = session.get_inputs()[0]
        self.input_name = model_input.name
        self.input_type = model_input.type
        self.batch_size = 1 if model_input.shape and model_input.shape[0] == 1 else None

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the frames this model takes."""
        return self.prep.width, self.prep.height

    def scores(self, samples: Sequence) -> object:
        """Probabilities, shape (len(samples), len(labels))."""
        import numpy as np

        step = self.batch_size or len(samples)
        parts = [self._run(samples[i : i + step]) for i in range(0, len(samples), step)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.labels)), np.float32)

    def flags(self, samples: Sequence) -> list[Flag]:
        """A sample is flagged for label L when L is in `flag` and its score >= threshold."""
        scores = self.scores(samples)
        return [
            Flag(self.name, label, sample.index, float(row[column]))
            for sample, row in zip(samples, scores, strict=True)
            for column, label in self.flag_columns
            if row[column] >= self.threshold
        ]

    def _run(self, samples: Sequence):
        import numpy as np

        batch = preprocess([s.rgb(self.prep.width, self.prep.height) for s in samples], self.prep)
        if self.input_type == "tensor(float16)":
            batch = batch.astype(np.float16)
        output = np.asarray(self.session.run(None, {self.input_name: batch})[0], dtype=np.float32)
        output = output.reshape(len(samples), -1)
        if output.shape[1] != len(self.labels):
            raise UsageError(
                f"model {self.name!r} gives {output.shape[1]} scores per frame "
                f"but has {len(self.labels)} labels {list(self.labels)}",
                hint=f"fix labels in [models.{self.name}.analysis] of models.toml",
            )
        return softmax(output) if self.softmax else output


def preprocess(images: Sequence, prep: Preprocessing):
    """(N, H, W, 3) uint8 RGB -> (N, 3, H, W) float32, x / 255 then (x - mean) / std."""
    import numpy as np

    batch = np.stack(images).astype(np.float32)
    std = np.asarray(prep.std, np.float32)
    batch *= 1 / (255 * std)  # (x/255 - mean)/std == x/(255 std) - mean/std, in one pass
    batch -= np.asarray(prep.mean, np.float32) / std
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def softmax(logits):
    import numpy as np

    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- loading


def load_detectors(models: Sequence[ModelSpec], directories: dict[str, Path]) -> list[ImageClassifier]:
    """One detector per model with an analysis table, from its (verified) model directory."""
    return [load_image_classifier(model, directories[model.name]) for model in models]


def load_image_classifier(model: ModelSpec, directory: Path) -> ImageClassifier:
    spec = model.analysis
    assert spec is not None and spec.kind == "image-classifier"
    labels = resolve_labels(model.name, spec, directory)
    missing = [label for label in spec.flag if label not in labels]
    if missing:
        raise UsageError(
            f"model {model.name!r}: flag label {missing[0]!r} is not one of its labels {list(labels)}",
            hint=f"fix flag in [models.{model.name}.analysis] of models.toml",
        )
    prep = resolve_preprocessing(spec, directory)
    session = open_session(model.name, directory / spec.file)
    check_shapes(model.name, session, prep, labels)
    return ImageClassifier(model.name, session, labels, spec, prep)


def resolve_labels(name: str, spec: AnalysisSpec, directory: Path) -> tuple[str, ...]:
    """The table's labels, else id2label of the model's locked config.json."""
    if spec.labels:
        return spec.labels
    id2label = read_json(directory / "config.json").get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        raise UsageError(
            f"model {name!r}: no labels (no labels in the analysis table, no id2label in config.json)",
            hint=f'add labels = ["...", ...] to [models.{name}.analysis], or include config.json',
        )
    try:
        ordered = sorted((int(index), str(label)) for index, label in id2label.items())
    except ValueError:
        raise UsageError(f"model {name!r}: config.json id2label keys are not integers") from None
    if [index for index, _ in ordered] != list(range(len(ordered))):
        raise UsageError(f"model {name!r}: config.json id2label does not number labels 0..n-1")
    return tuple(label for _, label in ordered)


def resolve_preprocessing(spec: AnalysisSpec, directory: Path) -> Preprocessing:
    """The table's values, else preprocessor_config.json's, else 224 / 0.5 / 0.5."""
    config = read_json(directory / "preprocessor_config.json")
    width, height = _configured_size(config.get("size"))
    if spec.input_size:
        width = height = spec.input_size
    mean = spec.mean or _triple(config.get("image_mean")) or DEFAULT_MEAN
    std = spec.std or _triple(config.get("image_std")) or DEFAULT_STD
    return Preprocessing(width, height, tuple(mean), tuple(std))


def _configured_size(size: object) -> tuple[int, int]:
    """preprocessor_config.json `size`: {height, width}, {shortest_edge}, or an int."""
    if isinstance(size, dict) and isinstance(size.get("height"), int) and isinstance(size.get("width"), int):
        return size["width"], size["height"]
    if isinstance(size, dict) and isinstance(size.get("shortest_edge"), int):
        return size["shortest_edge"], size["shortest_edge"]
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size, size
    return DEFAULT_SIZE, DEFAULT_SIZE


def _triple(value: object) -> tuple[float, ...] | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value),) * 3
    if isinstance(value, list) and len(value) == 3 and all(isinstance(v, (int, float)) for v in value):
        return tuple(float(v) for v in value)
    return None


def read_json(path: Path) -> dict:
    """A model's JSON side file, or {} when it is absent or not a JSON object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def open_session(name: str, path: Path):
    """An onnxruntime CPU session; a file it cannot load is the model's fault (exit 2)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: warnings about unused initialisers are noise here
    # Idle worker threads would spin-wait for the next batch, taking the CPU the decoder
    # runs on meanwhile (detectors and decoding overlap, see analysis_pipeline.detect).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.intra_op_num_threads = threads.onnxruntime_threads()  # a worker's share of the cores
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own unexported exception types
        raise UsageError(
            f"model {name!r}: onnxruntime cannot load {path.name}: {str(exc).splitlines()[0]}",
            hint=f"check file in [models.{name}.analysis]: it must be an ONNX image classifier",
        ) from None


def check_shapes(name: str, session, prep: Preprocessing, labels: Sequence[str]) -> None:
    """What the model declares must fit the frames and the labels: say so before decoding."""
    shape = session.get_inputs()[0].shape
    if len(shape) != 4:
        raise UsageError(f"model {name!r}: input has shape {shape}, expected (N, 3, height, width)")
    channels, height, width = shape[1:]
    if isinstance(channels, int) and channels != 3:
        raise UsageError(f"model {name!r}: input has {channels} channels, expected 3 (RGB)")
    fixed = isinstance(height, int) and isinstance(width, int)
    if fixed and (height, width) != (prep.height, prep.width):
        raise UsageError(
            f"model {name!r}: expects {width}x{height} frames, preprocessing gives {prep.width}x{prep.height}",
            hint=f"set input-size = {height} in [models.{name}.analysis]",
        )
    scores = session.get_outputs()[0].shape
    if scores and isinstance(scores[-1], int) and scores[-1] != len(labels):
        raise UsageError(
            f"model {name!r} gives {scores[-1]} scores per frame but has {len(labels)} labels {list(labels)}",
            hint=f"fix labels in [models.{name}.analysis] of models.toml",
        )
