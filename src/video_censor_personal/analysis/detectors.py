"""Detectors: sampled frames in, flagged samples out. One module per kind:

    image-classifier   analysis/classifier.py       a score per label per frame
    object-detector    analysis/object_detector.py  boxes per frame (YOLOv8-style)

Both share analysis/preprocess.py (frames to tensors) and analysis/onnx_model.py (sessions,
labels, input checks). Every detector offers `prep` (its Preprocessing, which makes its input
image from a sample) and `flags(samples)`; analysis_pipeline.detect needs nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from video_censor_personal.config import ModelSpec


def load_detectors(models: Sequence[ModelSpec], directories: dict[str, Path]) -> list:
    """One detector per model with an analysis table, from its (verified) model directory."""
    from video_censor_personal.analysis.classifier import load_image_classifier
    from video_censor_personal.analysis.object_detector import load_object_detector

    loaders = {"image-classifier": load_image_classifier, "object-detector": load_object_detector}
    return [loaders[model.analysis.kind](model, directories[model.name]) for model in models]
