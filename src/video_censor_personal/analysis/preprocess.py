"""From sampled frames to a model's input tensor, and from input pixels back to the frame.

DESIGN.md (Precise rules, Analysis) and the `analysis` keys decide every step:

    frame --resize--> canvas --crop--> input image --channels, scale, mean/std--> tensor (layout)

- `resize = "stretch"`: the frame is scaled to the canvas, aspect ignored (image classifiers'
  default). `"letterbox"`: scaled to fit with its aspect kept, the rest filled with grey
  `pad` (114, as YOLOv8 is trained; object detectors' default), the frame `align`ed in the
  `"center"` (default) or the `"top-left"` corner (NudeNet's own detect() pads only right
  and bottom, with black: `pad = 0`, `align = "top-left"`).
- `crop` (default 1): the canvas is the input size divided by crop and the model sees its
  centre, as timm's `crop_pct` (open_nsfw: 256 x 256, centre 224 x 224 is crop = 0.875).
- `interpolation = "area"` (default): FFmpeg's swscale scales straight from the decoder's
  YUV, averaging the source pixels under each input pixel (cheapest). `"bilinear"`: a
  triangle filter widened when shrinking, on the RGB frame (as PIL's resize(BILINEAR) and
  torchvision with antialias). `"opencv-bilinear"`: each input pixel interpolates the 4
  nearest frame pixels, however much it shrinks (OpenCV's INTER_LINEAR, what cv2.resize and
  cv2.dnn.blobFromImage do). Pick the one the model's reference code uses.
- `channels` RGB or BGR; pixels (0-255) times `scale` (1/255 by default), then
  `(x - mean) / std` with mean and std given per input channel in the order of `channels`;
  `layout` NCHW (default) or NHWC.

The input image (uint8, input size) is made on a detector thread just before the model runs,
and the sample's decoded frame let go then (analysis_pipeline.detect). A `Placement`
remembers where the frame went, so an object detector's boxes map back to 0-1 of the frame.
numpy is imported inside functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    """Where a frame lands in the model's input: input x = left + frame x * scale_x."""

    size: tuple[int, int]  # (width, height) of the scaled frame, input pixels
    left: float  # the scaled frame's top-left corner in input pixels (negative when cropped)
    top: float
    scale_x: float  # input pixels per frame pixel
    scale_y: float
    frame: tuple[int, int]  # the frame's own (width, height)

    def to_frame(self, x1, y1, x2, y2):
        """Input-pixel corners (arrays) -> frame-relative 0-1 corners, clipped to the frame."""
        import numpy as np

        width, height = self.frame[0] * self.scale_x, self.frame[1] * self.scale_y
        xs = np.clip((np.stack([x1, x2]) - self.left) / width, 0.0, 1.0)
        ys = np.clip((np.stack([y1, y2]) - self.top) / height, 0.0, 1.0)
        return xs[0], ys[0], xs[1], ys[1]


@dataclass(frozen=True)
class Preprocessing:
    width: int
    height: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    layout: str = "NCHW"
    channels: str = "RGB"
    scale: float = 1 / 255
    resize: str = "stretch"
    crop: float = 1.0
    pad: int = 114
    align: str = "center"
    interpolation: str = "area"

    def placement(self, frame_width: int, frame_height: int) -> Placement:
        """How a frame of this size is scaled and where it goes (module docstring)."""
        canvas_w, canvas_h = round(self.width / self.crop), round(self.height / self.crop)
        ratio_x, ratio_y = canvas_w / max(frame_width, 1), canvas_h / max(frame_height, 1)
        if self.resize == "letterbox":
            ratio_x = ratio_y = min(ratio_x, ratio_y)
        size = (max(1, round(frame_width * ratio_x)), max(1, round(frame_height * ratio_y)))
        if self.interpolation != "opencv-bilinear":  # swscale scales to whole pixels: the real ratio
            ratio_x, ratio_y = size[0] / max(frame_width, 1), size[1] / max(frame_height, 1)
        centred = self.align == "center"
        left = ((canvas_w - size[0]) // 2 if centred else 0) - (canvas_w - self.width) // 2
        top = ((canvas_h - size[1]) // 2 if centred else 0) - (canvas_h - self.height) // 2
        return Placement(size, left, top, ratio_x, ratio_y, (frame_width, frame_height))

    def image(self, sample):
        """The sample's frame as this model's (height, width, 3) uint8 RGB input image."""
        import numpy as np

        placement = self.placement(sample.width, sample.height)
        if self.interpolation == "opencv-bilinear":
            return _bilinear(sample.rgb(sample.width, sample.height), placement, (self.height, self.width), self.pad)
        image = np.full((self.height, self.width, 3), self.pad, np.uint8)
        _paste(image, sample.rgb(*placement.size, smooth=self.interpolation == "bilinear"), placement)
        return image

    def batch(self, samples: Sequence) -> tuple[object, list[Placement]]:
        """The input tensor for `samples` (frames.Sample) and where each frame went."""
        import numpy as np

        images = np.stack([sample.prepared(self, self.image) for sample in samples])
        return self.tensor(images), [self.placement(sample.width, sample.height) for sample in samples]

    def tensor(self, images):
        """(N, H, W, 3) uint8 RGB -> float32 in the model's channels, scale, mean/std and layout."""
        import numpy as np

        batch = images[..., ::-1] if self.channels == "BGR" else images
        # Channels first before the arithmetic (a uint8 copy, cheap): numpy's inner loop then runs
        # along image rows, not along 3 channels (0.6 ms less per 320x320 image).
        nchw = self.layout == "NCHW"
        batch = np.ascontiguousarray(batch.transpose(0, 3, 1, 2) if nchw else batch).astype(np.float32)
        per_channel = (1, 3, 1, 1) if nchw else (1, 1, 1, 3)
        std = np.asarray(self.std, np.float32)
        # (x * scale - mean) / std == x * (scale / std) - mean / std: two passes over the batch
        batch *= (np.float32(self.scale) / std).reshape(per_channel)
        batch -= (np.asarray(self.mean, np.float32) / std).reshape(per_channel)
        return batch


def _paste(image, scaled, placement: Placement) -> None:
    """Copy the part of `scaled` that falls inside `image` (the rest stays grey or is cropped)."""
    left, top = int(placement.left), int(placement.top)
    height, width = image.shape[:2]
    x0, y0 = max(0, -left), max(0, -top)
    x1, y1 = min(scaled.shape[1], width - left), min(scaled.shape[0], height - top)
    image[top + y0 : top + y1, left + x0 : left + x1] = scaled[y0:y1, x0:x1]


def _bilinear(frame, placement: Placement, shape: tuple[int, int], pad: int):
    """Sample the frame at every input pixel's centre, 4 neighbours weighted (OpenCV's INTER_LINEAR).

    Written here because swscale's bilinear filter widens when it shrinks (antialiased) and
    OpenCV's does not; models whose reference code uses OpenCV see the latter. Beyond the
    frame's edge a neighbour is the pad grey where the letterbox has a border, and the
    edge pixel where the frame meets the edge of the image (as OpenCV clamps there). Only
    the rows and columns the frame reaches are computed, from the 2 x 2 neighbours gathered
    row-wise then column-wise (np.take), never from a copy of the whole frame.
    """
    import numpy as np

    image = np.full((*shape, 3), pad, np.uint8)
    frame_w, frame_h = placement.frame
    xs = (np.arange(shape[1]) - placement.left + 0.5) / placement.scale_x - 0.5
    ys = (np.arange(shape[0]) - placement.top + 0.5) / placement.scale_y - 0.5
    cols, rows = np.flatnonzero((xs > -1) & (xs < frame_w)), np.flatnonzero((ys > -1) & (ys < frame_h))
    if not cols.size or not rows.size:
        return image
    x0, wx, x_pads = _neighbours(xs[cols], frame_w, cols[0] > 0, cols[-1] < shape[1] - 1)
    y0, wy, y_pads = _neighbours(ys[rows], frame_h, rows[0] > 0, rows[-1] < shape[0] - 1)
    lines = [np.take(frame, y, axis=0) for y in y0]
    corners = [np.take(line, x, axis=1).astype(np.float32) for line in lines for x in x0]  # 00 01 10 11
    for corner, (y_pad, x_pad) in zip(corners, ((0, 0), (0, 1), (1, 0), (1, 1)), strict=True):
        corner[y_pads[y_pad][:, None] | x_pads[x_pad][None, :]] = pad
    # As (rows, cols x 3) with one weight per value: numpy's inner loop then runs along a whole
    # row, not along 3 channels (a quarter of the time for a 720p frame).
    c00, c01, c10, c11 = (corner.reshape(len(rows), -1) for corner in corners)
    wx = np.repeat(wx, 3)[None, :]
    top = c00 + (c01 - c00) * wx
    bottom = c10 + (c11 - c10) * wx
    block = top + (bottom - top) * wy[:, None]
    block = np.clip(np.rint(block, out=block), 0, 255, out=block).astype(np.uint8)
    image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] = block.reshape(len(rows), len(cols), 3)
    return image


def _neighbours(positions, size: int, border_before: bool, border_after: bool):
    """For positions along one axis: the two neighbours' indexes, the weight of the second, and
    which neighbours fall on a letterbox border (outside the frame, on a side that has one)."""
    import numpy as np

    first = np.floor(positions).astype(np.intp)
    pairs = (first, first + 1)
    pads = [((i < 0) & border_before) | ((i >= size) & border_after) for i in pairs]
    return [np.clip(i, 0, size - 1) for i in pairs], (positions - first).astype(np.float32), pads
