"""`kind = "image-classifier"`: one score per label per frame.

An ONNX file run by onnxruntime (one session per model, CPU, frames in batches), input as
analysis/preprocess.py builds it. The output is read as logits and softmaxed unless the
table says `output = "probabilities"`. A sample is flagged for label L when L is in `flag`
and its score is at least `threshold`.

Where the preprocessing comes from, first found wins (the other keys: preprocess.py):

    input size   [analysis] input-size -> preprocessor_config.json size       -> 224
    mean, std    [analysis] mean/std   -> preprocessor_config.json image_mean/std -> 0.5
    resize       [analysis] resize     -> "stretch"
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from video_censor_personal.analysis import onnx_model
from video_censor_personal.analysis.preprocess import Preprocessing
from video_censor_personal.analysis.report import Flag
from video_censor_personal.config import AnalysisSpec, ModelSpec
from video_censor_personal.errors import UsageError

DEFAULT_SIZE = 224
DEFAULT_MEAN = (0.5, 0.5, 0.5)
DEFAULT_STD = (0.5, 0.5, 0.5)


class ImageClassifier:
    """One ONNX image classifier and the rule that turns its scores into flags."""

    def __init__(self, name: str, session, labels: Sequence[str], spec: AnalysisSpec, prep: Preprocessing):
        self.name, self.session, self.labels = name, session, tuple(labels)
        self.prep, self.threshold = prep, spec.threshold
        self.softmax = spec.output == "logits"
        self.flag_columns = [(self.labels.index(label), label) for label in spec.flag]
        self.batch_size = onnx_model.batch_step(session)

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
        batch, _ = self.prep.batch(samples)
        output = onnx_model.run(self.session, batch).reshape(len(samples), -1)
        if output.shape[1] != len(self.labels):
            raise _label_count_error(self.name, output.shape[1], self.labels)
        return softmax(output) if self.softmax else output


def softmax(logits):
    import numpy as np

    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def load_image_classifier(model: ModelSpec, directory: Path) -> ImageClassifier:
    spec = model.analysis
    assert spec is not None and spec.kind == "image-classifier"
    session = onnx_model.open_session(model.name, directory / spec.file, "image classifier")
    labels = onnx_model.resolve_labels(model, directory, session)
    prep = resolve_preprocessing(spec, directory)
    onnx_model.check_input_size(model.name, session, prep)
    scores = session.get_outputs()[0].shape
    if scores and isinstance(scores[-1], int) and scores[-1] != len(labels):
        raise _label_count_error(model.name, scores[-1], labels)
    return ImageClassifier(model.name, session, labels, spec, prep)


def _label_count_error(name: str, width: int, labels: Sequence[str]) -> UsageError:
    return UsageError(
        f"model {name!r} gives {width} scores per frame but has {len(labels)} labels {list(labels)}",
        hint=f"fix labels in {onnx_model.table(name)} of models.toml",
    )


def resolve_preprocessing(spec: AnalysisSpec, directory: Path) -> Preprocessing:
    """The table's values, else preprocessor_config.json's, else 224 / 0.5 / 0.5, stretched."""
    config = onnx_model.read_json(directory / "preprocessor_config.json")
    mean = _triple(config.get("image_mean")) or DEFAULT_MEAN
    std = _triple(config.get("image_std")) or DEFAULT_STD
    return onnx_model.preprocessing(spec, _configured_size(config.get("size")), mean, std, "stretch")


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
