"""From sampled frames to a model's input tensor, and from input pixels back to the frame.

DESIGN.md (Precise rules, Analysis) and the `analysis` keys decide every step:

    frame --resize--> canvas --crop--> input --channels, scale, mean/std--> tensor (layout)

- `resize = "stretch"`: the frame is scaled to the canvas, aspect ignored (image classifiers'
  default). `"letterbox"`: scaled to fit with its aspect kept, centred, the rest grey 114
  (object detectors' default, as YOLOv8 is trained).
- `crop` (default 1): the canvas is the input size divided by crop and the model sees its
  centre, as timm's `crop_pct` (open_nsfw: 256 x 256, centre 224 x 224 is crop = 0.875).
- `channels` RGB or BGR; pixels (0-255) times `scale` (1/255 by default), then
  `(x - mean) / std` with mean and std given per input channel in the order of `channels`;
  `layout` NCHW (default) or NHWC.

The frame is scaled by FFmpeg's swscale straight from the decoder's YUV (frames.Sample.rgb),
so only padding and cropping are done here, on small arrays. A `Placement` remembers where
the frame went, so an object detector's boxes map back to 0-1 of the frame.
numpy is imported inside functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PAD_GREY = 114  # the letterbox border that YOLO models are trained with


@dataclass(frozen=True)
class Placement:
    """Where a frame of one size lands in the model's input, in input pixels."""

    size: tuple[int, int]  # (width, height) the frame is scaled to
    left: float  # the scaled frame's top-left corner in input pixels (negative when cropped)
    top: float
    frame: tuple[int, int]  # the frame's own (width, height)

    def to_frame(self, x1, y1, x2, y2):
        """Input-pixel corners (arrays) -> frame-relative 0-1 corners, clipped to the frame."""
        import numpy as np

        width, height = self.size
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

    def placement(self, frame_width: int, frame_height: int) -> Placement:
        """How a frame of this size is scaled and where it goes (module docstring)."""
        canvas_w, canvas_h = round(self.width / self.crop), round(self.height / self.crop)
        size = (canvas_w, canvas_h)
        if self.resize == "letterbox" and frame_width and frame_height:
            ratio = min(canvas_w / frame_width, canvas_h / frame_height)
            size = (max(1, round(frame_width * ratio)), max(1, round(frame_height * ratio)))
        left = (canvas_w - size[0]) // 2 - (canvas_w - self.width) // 2
        top = (canvas_h - size[1]) // 2 - (canvas_h - self.height) // 2
        return Placement(size, left, top, (frame_width, frame_height))

    def batch(self, samples: Sequence) -> tuple[object, list[Placement]]:
        """The input tensor for `samples` (frames.Sample) and where each frame went."""
        import numpy as np

        images = np.full((len(samples), self.height, self.width, 3), PAD_GREY, np.uint8)
        placements = []
        for image, sample in zip(images, samples, strict=True):
            placement = self.placement(sample.width, sample.height)
            _paste(image, sample.rgb(*placement.size), placement)
            placements.append(placement)
        return self.tensor(images), placements

    def tensor(self, images):
        """(N, H, W, 3) uint8 RGB -> float32 in the model's channels, scale, mean/std and layout."""
        import numpy as np

        batch = images[..., ::-1] if self.channels == "BGR" else images
        std = np.asarray(self.std, np.float32)
        # (x * scale - mean) / std == x * (scale / std) - mean / std: two passes over the batch
        batch = batch.astype(np.float32) * (np.float32(self.scale) / std)
        batch -= np.asarray(self.mean, np.float32) / std
        return np.ascontiguousarray(batch.transpose(0, 3, 1, 2) if self.layout == "NCHW" else batch)


def _paste(image, scaled, placement: Placement) -> None:
    """Copy the part of `scaled` that falls inside `image` (the rest stays grey or is cropped)."""
    left, top = int(placement.left), int(placement.top)
    height, width = image.shape[:2]
    x0, y0 = max(0, -left), max(0, -top)
    x1, y1 = min(scaled.shape[1], width - left), min(scaled.shape[0], height - top)
    image[top + y0 : top + y1, left + x0 : left + x1] = scaled[y0:y1, x0:x1]
