"""What every kind of detector does with its ONNX file: open it, name its outputs, check its input.

Labels, first found wins:

    [analysis] labels -> config.json id2label -> the ONNX file's `names` metadata
                         (Ultralytics exports write {0: 'FACE_FEMALE', ...} there) -> error

Everything that can be checked without frames (labels, flag labels, input shape) is checked
when the detector is loaded, so a misconfigured model fails before the video is decoded.
onnxruntime is imported inside functions.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from pathlib import Path

from video_censor_personal.analysis import threads
from video_censor_personal.analysis.preprocess import Preprocessing
from video_censor_personal.config import AnalysisSpec, ModelSpec
from video_censor_personal.errors import UsageError


def table(name: str) -> str:
    return f"[models.{name}.analysis]"


def open_session(name: str, path: Path, kind: str):
    """An onnxruntime CPU session; a file it cannot load is the model's fault (exit 2)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: warnings about unused initialisers are noise here
    # Idle worker threads would spin-wait for the next batch, taking the CPU the decoder
    # runs on meanwhile (detectors and decoding overlap, see analysis_pipeline.detect).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.intra_op_num_threads = threads.inference_threads()
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own unexported exception types
        raise UsageError(
            f"model {name!r}: onnxruntime cannot load {path.name}: {str(exc).splitlines()[0]}",
            hint=f"check file in {table(name)}: it must be an ONNX {kind}",
        ) from None


def resolve_labels(model: ModelSpec, directory: Path, session=None) -> tuple[str, ...]:
    """The table's labels, else config.json's id2label, else the ONNX `names` metadata."""
    name, spec = model.name, model.analysis
    labels = spec.labels or _id2label(name, directory) or _metadata_names(session)
    if not labels:
        raise UsageError(
            f"model {name!r}: no labels (no labels in the analysis table, no id2label in config.json)",
            hint=f'add labels = ["...", ...] to {table(name)}, or include config.json',
        )
    missing = [label for label in spec.flag if label not in labels]
    if missing:
        raise UsageError(
            f"model {name!r}: flag label {missing[0]!r} is not one of its labels {list(labels)}",
            hint=f"fix flag in {table(name)} of models.toml",
        )
    return labels


def _id2label(name: str, directory: Path) -> tuple[str, ...]:
    id2label = read_json(directory / "config.json").get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        return ()
    try:
        ordered = sorted((int(index), str(label)) for index, label in id2label.items())
    except ValueError:
        raise UsageError(f"model {name!r}: config.json id2label keys are not integers") from None
    if [index for index, _ in ordered] != list(range(len(ordered))):
        raise UsageError(f"model {name!r}: config.json id2label does not number labels 0..n-1")
    return tuple(label for _, label in ordered)


def metadata_literal(session, key: str) -> object:
    """An ONNX metadata value written as a Python literal (Ultralytics' `names`, `imgsz`), else None.

    Read with literal_eval, never eval: the file comes from the Hub.
    """
    text = session.get_modelmeta().custom_metadata_map.get(key) if session is not None else None
    try:
        return ast.literal_eval(text) if text else None
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _metadata_names(session) -> tuple[str, ...]:
    """Ultralytics' `names` metadata, a dict {0: 'FACE_FEMALE', ...}."""
    names = metadata_literal(session, "names")
    if not isinstance(names, dict) or sorted(names) != list(range(len(names))):
        return ()
    return tuple(str(names[index]) for index in range(len(names)))


def read_json(path: Path) -> dict:
    """A model's JSON side file, or {} when it is absent or not a JSON object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def input_spatial(name: str, session, layout: str) -> tuple[object, object]:
    """(height, width) the model declares (ints, or names when dynamic); checks rank and channels."""
    shape = session.get_inputs()[0].shape
    expected = "(N, 3, height, width)" if layout == "NCHW" else "(N, height, width, 3)"
    if len(shape) != 4:
        raise UsageError(f"model {name!r}: input has shape {shape}, expected {expected}",
                         hint=f"check layout in {table(name)}")
    channels, height, width = (shape[1], shape[2], shape[3]) if layout == "NCHW" else (shape[3], shape[1], shape[2])
    if isinstance(channels, int) and channels != 3:
        raise UsageError(f"model {name!r}: input has {channels} channels, expected 3 (layout {layout})",
                         hint=f'check layout in {table(name)}: "NCHW" or "NHWC"')
    return height, width


def check_input_size(name: str, session, prep: Preprocessing) -> None:
    """A model with a fixed input size must get frames of that size: say so before decoding."""
    height, width = input_spatial(name, session, prep.layout)
    fixed = isinstance(height, int) and isinstance(width, int)
    if fixed and (height, width) != (prep.height, prep.width):
        raise UsageError(
            f"model {name!r}: expects {width}x{height} frames, preprocessing gives {prep.width}x{prep.height}",
            hint=f"set input-size = {height} in {table(name)}",
        )


def fixed_size(name: str, session, layout: str) -> int | None:
    """The model's own square input size when its shape fixes one."""
    height, width = input_spatial(name, session, layout)
    return height if isinstance(height, int) and height > 0 and height == width else None


def preprocessing(spec: AnalysisSpec, size: tuple[int, int], mean: Sequence[float], std: Sequence[float],
                  resize: str) -> Preprocessing:
    """The table's keys over the kind's defaults for (width, height), mean, std and resize."""
    width, height = (spec.input_size, spec.input_size) if spec.input_size else size
    return Preprocessing(width, height, tuple(spec.mean or mean), tuple(spec.std or std), spec.layout,
                         spec.channels, spec.scale, spec.resize or resize, spec.crop, spec.pad, spec.align,
                         spec.interpolation)


def run(session, batch):
    """Run the first output over one batch, float16 models included; float32 out."""
    import numpy as np

    model_input = session.get_inputs()[0]
    if model_input.type == "tensor(float16)":
        batch = batch.astype(np.float16)
    return np.asarray(session.run([session.get_outputs()[0].name], {model_input.name: batch})[0], np.float32)


def batch_step(session) -> int | None:
    """1 for a model whose batch dimension is fixed at one, else None (any batch)."""
    shape = session.get_inputs()[0].shape
    return 1 if shape and shape[0] == 1 else None
