"""`kind = "object-detector"`: boxes, not just scores, so `censor` can blur only where they are.

A YOLOv8-style ONNX model, as NudeNet's detectors (DESIGN.md, models.toml):

    input   letterboxed (grey 114), NCHW RGB scaled 1/255 (defaults; the preprocessing keys
            change them as for a classifier, see preprocess.py)
    output  [N, 4 + C, A]: for each of A candidates, box centre x, centre y, width, height in
            input pixels, then C class scores

Per frame: each candidate takes its best class; candidates scoring at least `threshold` go
through non-maximum suppression (a box overlapping a better one by IoU above `iou` is
dropped, whatever its label: one object, one box, as NudeNet does); the survivors are mapped
back to 0-1 of the frame. A sample is flagged for label L when L is in `flag` and a box of L
survives; the flag carries those boxes and scores as the best of them.

Input size: [analysis] input-size -> the ONNX file's `imgsz` metadata (Ultralytics) -> the
model's fixed input shape -> 640.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from video_censor_personal.analysis import onnx_model
from video_censor_personal.analysis.preprocess import Placement, Preprocessing
from video_censor_personal.analysis.report import Box, Flag
from video_censor_personal.config import AnalysisSpec, ModelSpec
from video_censor_personal.errors import UsageError

DEFAULT_SIZE = 640  # Ultralytics' default image size
MAX_CANDIDATES = 3000  # best-scoring candidates kept for NMS per frame (as Ultralytics' max_nms)
# Frames per onnxruntime call. Batching does not make a YOLOv8n faster on a CPU (120 frames of
# NudeNet's 320n: 2.24 CPU-s one by one, 2.37 in batches of 16) but a batch of 16 holds about
# 250 MB more activations (benchmarks/analysis_bench.py --real measures peak RSS).
FRAMES_PER_RUN = 1


@dataclass(frozen=True)
class Detection:
    """One box in one frame: corners 0-1 of the frame, the best class and its score."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    score: float

    def box(self, t: float) -> Box:
        return Box(t, self.x1, self.y1, self.x2 - self.x1, self.y2 - self.y1, self.label, self.score)


class ObjectDetector:
    """One ONNX object detector and the rule that turns its boxes into flags."""

    def __init__(self, name: str, session, labels: Sequence[str], spec: AnalysisSpec, prep: Preprocessing):
        self.name, self.session, self.labels = name, session, tuple(labels)
        self.prep, self.threshold, self.iou = prep, spec.threshold, spec.iou
        self.flag_labels = set(spec.flag)

    def detections(self, samples: Sequence) -> list[list[Detection]]:
        """Every label's boxes scoring >= threshold after NMS, per sample, best first."""
        step = FRAMES_PER_RUN
        found: list[list[Detection]] = []
        for i in range(0, len(samples), step):
            batch, placements = self.prep.batch(samples[i : i + step])
            output = onnx_model.run(self.session, batch)
            self._check(output)
            found += [self._decode(rows, placement) for rows, placement in zip(output, placements, strict=True)]
        return found

    def flags(self, samples: Sequence) -> list[Flag]:
        """One flag per sample and flagged label that has a box, with those boxes."""
        flags = []
        for sample, detections in zip(samples, self.detections(samples), strict=True):
            for label in sorted(self.flag_labels & {d.label for d in detections}):
                boxes = tuple(d.box(sample.time) for d in detections if d.label == label)
                flags.append(Flag(self.name, label, sample.index, max(b.score for b in boxes), boxes))
        return flags

    def _check(self, output) -> None:
        if output.ndim != 3 or output.shape[1] != 4 + len(self.labels):
            raise _output_error(self.name, tuple(output.shape), self.labels)

    def _decode(self, rows, placement: Placement) -> list[Detection]:
        """[4 + C, A] of one frame -> its detections (module docstring)."""
        import numpy as np

        scores = rows[4:]
        classes = scores.argmax(axis=0)
        best = scores[classes, np.arange(scores.shape[1])]
        keep = np.flatnonzero(best >= self.threshold)
        keep = keep[np.argsort(-best[keep], kind="stable")][:MAX_CANDIDATES]
        cx, cy, w, h = rows[:4, keep]
        corners = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        survivors = non_maximum_suppression(corners, self.iou)
        chosen = keep[survivors]
        x1, y1, x2, y2 = placement.to_frame(*corners[survivors].T)
        return [Detection(float(a), float(b), float(c), float(d), self.labels[k], float(best[i]))
                for a, b, c, d, k, i in zip(x1, y1, x2, y2, classes[chosen], chosen, strict=True)]


def non_maximum_suppression(corners, iou: float):
    """Greedy NMS over boxes sorted best first ([K, 4] x1 y1 x2 y2): positions of the kept ones.

    Written here because numpy has none and onnxruntime's NonMaxSuppression op would need a
    second graph; each round keeps the best remaining box and drops, in one vectorised step,
    every remaining box overlapping it by more than `iou`.
    """
    import numpy as np

    areas = np.clip(corners[:, 2] - corners[:, 0], 0, None) * np.clip(corners[:, 3] - corners[:, 1], 0, None)
    remaining, kept = np.arange(len(corners)), []
    while remaining.size:
        best, rest = remaining[0], remaining[1:]
        kept.append(best)
        low = np.maximum(corners[best, :2], corners[rest, :2])
        high = np.minimum(corners[best, 2:], corners[rest, 2:])
        overlap = np.prod(np.clip(high - low, 0, None), axis=1)
        union = areas[best] + areas[rest] - overlap
        remaining = rest[overlap <= iou * np.maximum(union, np.finfo(np.float32).tiny)]
    return np.asarray(kept, dtype=np.int64)


def load_object_detector(model: ModelSpec, directory: Path) -> ObjectDetector:
    spec = model.analysis
    assert spec is not None and spec.kind == "object-detector"
    session = onnx_model.open_session(model.name, directory / spec.file, "object detector (YOLOv8-style)")
    labels = onnx_model.resolve_labels(model, directory, session)
    size = _metadata_size(session) or onnx_model.fixed_size(model.name, session, spec.layout) or DEFAULT_SIZE
    prep = onnx_model.preprocessing(spec, (size, size), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "letterbox")
    onnx_model.check_input_size(model.name, session, prep)
    shape = session.get_outputs()[0].shape
    if len(shape) != 3 or (isinstance(shape[1], int) and shape[1] != 4 + len(labels)):
        raise _output_error(model.name, tuple(shape), labels)
    return ObjectDetector(model.name, session, labels, spec, prep)


def _metadata_size(session) -> int | None:
    """Ultralytics' `imgsz` metadata ("[320, 320]"), when square."""
    size = onnx_model.metadata_literal(session, "imgsz")
    if isinstance(size, list) and len(size) == 2 and size[0] == size[1] and isinstance(size[0], int) and size[0] > 0:
        return size[0]
    return None


def _output_error(name: str, shape: tuple, labels: Sequence[str]) -> UsageError:
    # ONNX names a dynamic dimension by its formula (NudeNet's third one is 300 characters long)
    shown = ", ".join(str(d) if isinstance(d, int) else "?" for d in shape)
    return UsageError(
        f"model {name!r}: output has shape [{shown}], expected [N, 4 + {len(labels)}, candidates] "
        f"(YOLOv8-style, {len(labels)} labels)",
        hint=f"fix labels in {onnx_model.table(name)}, or use kind = \"image-classifier\"",
    )
