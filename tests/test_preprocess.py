"""From frames to input tensors: where the frame goes (stretch, letterbox, crop), how it is scaled
(swscale's area, OpenCV's bilinear; PIL's bilinear is in test_frames.py), and channels, scale, mean/std and layout."""

from __future__ import annotations

import numpy as np
import pytest

from video_censor_personal.analysis.preprocess import Preprocessing

GREY = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)


class Picture:
    """A stand-in for frames.Sample over an RGB array (area scaling is frames.py's, tested there)."""

    def __init__(self, image):
        self.image, self.height, self.width = image, *image.shape[:2]

    def rgb(self, width, height, smooth=False):
        import cv2

        if (width, height) == (self.width, self.height):
            return self.image
        return cv2.resize(self.image, (width, height), interpolation=cv2.INTER_AREA)

    def prepared(self, key, make):
        return make(self)


def prep(**keys) -> Preprocessing:
    return Preprocessing(32, 32, *GREY, **keys)


@pytest.mark.parametrize(
    "keys, frame, size, left, top",
    [
        ({}, (128, 64), (32, 32), 0, 0),  # stretch fills the input
        ({"resize": "letterbox"}, (128, 64), (32, 16), 0, 8),  # centred, 8 rows of border above and below
        ({"resize": "letterbox", "align": "top-left"}, (128, 64), (32, 16), 0, 0),
        ({"resize": "letterbox"}, (64, 128), (16, 32), 8, 0),
        ({"crop": 0.8}, (128, 64), (40, 40), -4, -4),  # resized to 40 x 40, the centre 32 x 32 kept
    ],
    ids=["stretch", "letterbox", "top-left", "portrait", "crop"],
)
def test_where_the_frame_goes(keys, frame, size, left, top):
    placement = prep(**keys).placement(*frame)
    assert (placement.size, placement.left, placement.top) == (size, left, top)


def test_letterbox_fills_the_border_with_pad_grey_and_boxes_map_back():
    image = np.full((64, 128, 3), 200, np.uint8)
    letterbox = prep(resize="letterbox", pad=114)
    made = letterbox.image(Picture(image))
    assert (made[:8] == 114).all() and (made[24:] == 114).all() and (made[8:24] == 200).all()
    x1, y1, x2, y2 = letterbox.placement(128, 64).to_frame(np.array([16.0]), np.array([16.0]),
                                                           np.array([24.0]), np.array([40.0]))
    assert [x1[0], y1[0], x2[0], y2[0]] == [0.5, 0.5, 0.75, 1.0]  # clipped at the frame's bottom


def test_crop_keeps_the_centre():
    image = np.zeros((40, 40, 3), np.uint8)
    image[4:36, 4:36] = 255
    assert (prep(crop=0.8).image(Picture(image)) == 255).all()


@pytest.mark.parametrize(
    "keys, canvas",
    [
        ({"resize": "letterbox", "align": "top-left", "pad": 0}, "bottom-right"),
        ({"resize": "letterbox", "pad": 114}, "centre"),
        ({}, None),
    ],
    ids=["nudenet", "centred-letterbox", "stretch"],
)
def test_bilinear_is_what_opencv_resize_gives(keys, canvas):
    """The same pixels (within 1 of 255) as cv2.resize(INTER_LINEAR) of the padded frame."""
    import cv2

    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    if canvas is None:
        expected = cv2.resize(frame, (32, 32), interpolation=cv2.INTER_LINEAR)
    else:
        padded = np.full((160, 160, 3), keys["pad"], np.uint8)
        top = 0 if canvas == "bottom-right" else 35
        padded[top : top + 90] = frame
        expected = cv2.resize(padded, (32, 32), interpolation=cv2.INTER_LINEAR)
    made = prep(interpolation="opencv-bilinear", **keys).image(Picture(frame))
    assert np.abs(made.astype(int) - expected.astype(int)).max() <= 1


def test_tensor_follows_channels_scale_mean_std_and_layout():
    image = np.zeros((1, 2, 2, 3), np.uint8)
    image[..., 0], image[..., 2] = 200, 100  # red 200, blue 100
    caffe = Preprocessing(2, 2, (104.0, 117.0, 123.0), (1.0, 1.0, 1.0), layout="NHWC", channels="BGR", scale=1.0)
    tensor = caffe.tensor(image)
    assert tensor.shape == (1, 2, 2, 3) and tensor.dtype.name == "float32"
    assert tensor[0, 0, 0].tolist() == [100 - 104, 0 - 117, 200 - 123]
    default = Preprocessing(2, 2, (0.5,) * 3, (0.5,) * 3).tensor(image)
    assert default.shape == (1, 3, 2, 2)
    assert default[0, :, 0, 0] == pytest.approx([200 / 255 * 2 - 1, -1, 100 / 255 * 2 - 1])
