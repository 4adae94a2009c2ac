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
