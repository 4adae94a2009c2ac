"""The `[models.NAME.analysis]` keys of models.toml: values read, and every mistake named by file and line."""

from __future__ import annotations

import pytest

from video_censor_personal.config import load_manifest
from video_censor_personal.errors import ManifestError

HEAD = '[models.a]\nrepo = "org/a"\n\n[models.a.analysis]\nkind = "{kind}"\nfile = "m.onnx"\nflag = ["x"]\n'


def analysis(tmp_path, lines: str, kind: str = "image-classifier"):
    path = tmp_path / "models.toml"
    path.write_text(HEAD.format(kind=kind) + lines, encoding="utf-8")
    return load_manifest(path).models[0].analysis


def test_defaults_are_designs():
    from video_censor_personal.config import AnalysisSpec

    spec = AnalysisSpec("image-classifier", "m.onnx", ("x",))
    assert (spec.layout, spec.channels, spec.scale, spec.resize, spec.crop) == ("NCHW", "RGB", 1 / 255, None, 1.0)
    assert (spec.pad, spec.align, spec.interpolation, spec.iou) == (114, "center", "area", 0.45)


def test_preprocessing_keys_are_read(tmp_path):
    spec = analysis(tmp_path, 'layout = "NHWC"\nchannels = "BGR"\nscale = 1\nresize = "letterbox"\ncrop = 0.875\n'
                              'pad = 0\nalign = "top-left"\ninterpolation = "opencv-bilinear"\nmean = [104, 117, 123]\n'
                              "std = [1, 1, 1]\n")
    assert (spec.layout, spec.channels, spec.scale, spec.resize, spec.crop) == ("NHWC", "BGR", 1.0, "letterbox", 0.875)
    assert (spec.pad, spec.align, spec.interpolation) == (0, "top-left", "opencv-bilinear")
    assert spec.mean == (104.0, 117.0, 123.0) and spec.std == (1.0, 1.0, 1.0)


def test_an_object_detector_table_is_read(tmp_path):
    spec = analysis(tmp_path, "threshold = 0.25\niou = 0.5\ninput-size = 320\n", kind="object-detector")
    assert (spec.kind, spec.threshold, spec.iou, spec.input_size) == ("object-detector", 0.25, 0.5, 320)


@pytest.mark.parametrize(
    "lines, kind, line, words",
    [
        ('layout = "CHW"\n', "image-classifier", 8, "layout must be 'NCHW' or 'NHWC', not 'CHW'"),
        ('channels = "rgb"\n', "image-classifier", 8, "channels must be 'RGB' or 'BGR'"),
        ('resize = "crop"\n', "object-detector", 8, "resize must be 'stretch' or 'letterbox'"),
        ('align = "middle"\n', "object-detector", 8, "align must be 'center' or 'top-left'"),
        ('interpolation = "cubic"\n', "image-classifier", 8,
         "interpolation must be 'area', 'bilinear' or 'opencv-bilinear'"),
        ("scale = 0\n", "image-classifier", 8, "scale must be a positive number, not 0"),
        ('scale = "1/255"\n', "image-classifier", 8, "scale must be a positive number"),
        ("crop = 0\n", "image-classifier", 8, "crop must be a number between 0 and 1, not 0"),
        ("crop = 1.2\n", "image-classifier", 8, "crop must be a number between 0 and 1"),
        ("pad = 300\n", "object-detector", 8, "pad must be a grey level, an integer from 0 to 255"),
        ("pad = 114.0\n", "object-detector", 8, "pad must be a grey level"),
        ("iou = 1.5\n", "object-detector", 8, "iou must be a number between 0 and 1"),
        ("std = [1, 0, 1]\n", "image-classifier", 8, "std must be a list of 3 positive numbers"),
        ("mean = [0.5, 0.5]\n", "image-classifier", 8, "mean must be a list of 3 numbers"),
        ("threshold = 80\n", "object-detector", 8, "threshold must be a number between 0 and 1, not 80"),
        ("iou = 0.5\n", "image-classifier", 8, "unknown key 'iou' in [models.a.analysis]"),
        ('output = "logits"\n', "object-detector", 8, "unknown key 'output' in [models.a.analysis]"),
    ],
)
def test_a_bad_value_names_file_and_line_and_exits_2(tmp_path, lines, kind, line, words):
    with pytest.raises(ManifestError) as caught:
        analysis(tmp_path, lines, kind=kind)
    assert caught.value.message.startswith(f"{tmp_path / 'models.toml'}:{line}: ")
    assert words in caught.value.message and caught.value.exit_code == 2


def test_the_kinds_are_listed_when_the_kind_is_wrong(tmp_path):
    with pytest.raises(ManifestError) as caught:
        analysis(tmp_path, "", kind="face-blur")
    assert "kind must be one of: image-classifier, object-detector" in caught.value.message
    assert caught.value.message.startswith(f"{tmp_path / 'models.toml'}:5: ")
