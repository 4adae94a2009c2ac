"""A tiny but real ONNX image classifier, built with the `onnx` package, for tests and the demo.

    pixel_values (N, 3, H, W) float32 -> ReduceMean over C, H, W -> m (N, 1)
    logits = m @ [[-GAIN, GAIN]] -> (N, 2) = ["normal", "nsfw"]

With the usual preprocessing (x/255 - 0.5) / 0.5, m runs from -1 (black) to 1 (white), so
the "nsfw" probability is sigmoid(2 * GAIN * m): about 0.001 for a dark frame (20/255),
about 0.999 for a bright one (230/255), and exactly 0.5 for mid grey. A test can predict
its verdict for any frame from the frame's brightness alone.
"""

from __future__ import annotations

import json

LABELS = ("normal", "nsfw")
GAIN = 4.0


def tiny_classifier(size: int | None = 32, gain: float = GAIN, probabilities: bool = False,
                    batch: int | str = "N") -> bytes:
    """The serialized model; `size=None` accepts any H and W, `batch=1` a fixed batch of one."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    spatial = [size, size] if size else ["H", "W"]
    pixels = helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, [batch, 3, *spatial])
    logits = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 2])
    weight = numpy_helper.from_array(np.array([[-gain, gain]], np.float32), "weight")
    nodes = [
        helper.make_node("ReduceMean", ["pixel_values"], ["mean"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Unsqueeze", ["mean", "axis"], ["column"]),
        helper.make_node("MatMul", ["column", "weight"], ["scores"]),
        helper.make_node("Softmax" if probabilities else "Identity", ["scores"], ["logits"], **(
            {"axis": 1} if probabilities else {})),
    ]
    axis = numpy_helper.from_array(np.array([1], np.int64), "axis")
    graph = helper.make_graph(nodes, "tiny-brightness-classifier", [pixels], [logits], [weight, axis])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tests")
    model.ir_version = 8  # understood by every onnxruntime >= 1.10
    onnx.checker.check_model(model)
    return model.SerializeToString()


def config_json(labels=LABELS) -> bytes:
    """A transformers-style config.json whose id2label names the outputs."""
    return json.dumps({"id2label": {str(i): label for i, label in enumerate(labels)}}).encode()


def preprocessor_json(size: int = 32, mean: float = 0.5, std: float = 0.5) -> bytes:
    return json.dumps({"size": {"height": size, "width": size}, "image_mean": [mean] * 3,
                       "image_std": [std] * 3}).encode()


def nsfw_probability(gray: int, gain: float = GAIN) -> float:
    """What the tiny model says about a uniform frame of this 0..255 grey level."""
    import math

    m = (gray / 255 - 0.5) / 0.5
    return 1 / (1 + math.exp(-2 * gain * m))


# ---------------------------------------------------------------- a tiny YOLOv8-style detector

DETECTOR_LABELS = ("bright", "dark")
DETECTOR_SIZE, CELL = 32, 8  # input 32 x 32, a 4 x 4 grid of 8 x 8 cells


def tiny_detector(gain: float = 10.0, duplicate: float = 0.95, names: bool = False) -> bytes:
    """A real ONNX object detector, YOLOv8's output layout, whose answer a test can predict.

        images (N, 3, 32, 32) -> [N, 4 + 2, 32]: 16 cell boxes, then the same 16 moved 1 px right

    Candidate k < 16 is cell k (row-major) of the 4 x 4 grid: box centre and size in input
    pixels; "bright" scores sigmoid(gain * (m - 0.5)) and "dark" sigmoid(gain * (0.5 - m)),
    m the cell's mean pixel (input scaled 0-1). Candidates 16-31 repeat them 1 px to the
    right (IoU 0.78) scoring `duplicate` times as much: non-maximum suppression must drop
    them. `names=True` writes Ultralytics' `names` and `imgsz` metadata, as NudeNet's files.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    cells = DETECTOR_SIZE // CELL
    centres = [(CELL * (k % cells) + CELL / 2, CELL * (k // cells) + CELL / 2) for k in range(cells * cells)]
    boxes = [[x + shift, y, CELL, CELL] for shift in (0, 1) for x, y in centres]
    constants = {
        "boxes": np.array(boxes, np.float32).T[None],  # [1, 4, 32]
        "gains": np.array([gain, -gain], np.float32).reshape(1, 2, 1),
        "half": np.array([0.5], np.float32),
        "weights": np.array([1.0] * 16 + [duplicate] * 16, np.float32).reshape(1, 1, 32),
        "zero": np.array([0.0], np.float32),
        "flat": np.array([0, 1, cells * cells], np.int64),
    }
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["grey"], axes=[1], keepdims=1),  # [N, 1, 32, 32]
        helper.make_node("AveragePool", ["grey"], ["cells"], kernel_shape=[CELL, CELL], strides=[CELL, CELL]),
        helper.make_node("Reshape", ["cells", "flat"], ["means"]),  # [N, 1, 16]
        helper.make_node("Concat", ["means", "means"], ["both"], axis=2),  # [N, 1, 32]
        helper.make_node("Sub", ["both", "half"], ["centred"]),
        helper.make_node("Mul", ["centred", "gains"], ["logits"]),  # [N, 2, 32]
        helper.make_node("Sigmoid", ["logits"], ["raw"]),
        helper.make_node("Mul", ["raw", "weights"], ["scores"]),
        helper.make_node("Mul", ["both", "zero"], ["nothing"]),  # [N, 1, 32] zeros: boxes for every N
        helper.make_node("Add", ["nothing", "boxes"], ["placed"]),  # [N, 4, 32]
        helper.make_node("Concat", ["placed", "scores"], ["output0"], axis=1),
    ]
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, DETECTOR_SIZE, DETECTOR_SIZE])
    output = helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 4 + len(DETECTOR_LABELS), 32])
    initialisers = [numpy_helper.from_array(value, name) for name, value in constants.items()]
    graph = helper.make_graph(nodes, "tiny-bright-box-detector", [images], [output], initialisers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="tests")
    model.ir_version = 8
    if names:
        helper.set_model_props(model, {"names": repr(dict(enumerate(DETECTOR_LABELS))),
                                       "imgsz": f"[{DETECTOR_SIZE}, {DETECTOR_SIZE}]"})
    onnx.checker.check_model(model)
    return model.SerializeToString()
