"""Blur, pixelate or black out rectangles of a video frame, in the frame's own YUV planes.

Effects work on a copy of the decoded frame in planar YUV 4:2:0, the format the H.264
encoder takes: no conversion to RGB and back, so the pixels outside the censored
rectangles reach the encoder exactly as decoded, and a 720p frame costs a few
milliseconds. The decoded frame itself is never written to: the decoder may still use it
as a reference for the frames that follow.

Each effect is vectorised numpy over one plane's rectangle (chroma planes at half size):

- black: luma 16 (0 in full-range video), chroma 128: black in every player;
- pixelate: the mean of each block, repeated over the block;
- blur: the block means again, but spread back with bilinear interpolation between block
  centres: a smooth low-pass with no fine detail left (the texture inside is gone, not
  just softened), at the cost of two small interpolations whatever the strength.

The block is a tenth of the rectangle's shorter side, so a censored face or a whole frame
is equally unrecognisable, whatever the resolution. A whole frame (a classifier's range,
the commonest case) is blurred or pixelated by swscale instead, the same two steps in C.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

BLOCKS_ACROSS = 10  # blocks along the shorter side of a censored rectangle
MIN_BLOCK = 2  # pixels: a smaller block would leave the picture as it is
CHROMA_NEUTRAL = 128
EFFECTS = ("blur", "black", "pixelate")
WORKING_FORMATS = ("yuv420p", "yuvj420p")  # planar 4:2:0; `j` is full range (JPEG)


@dataclass(frozen=True)
class Region:
    """A rectangle of the frame in frame-relative coordinates: 0-1 of width and height."""

    left: float
    top: float
    right: float
    bottom: float


WHOLE_FRAME = Region(0.0, 0.0, 1.0, 1.0)


def censor_frame(frame, regions: Iterable[Region], effect: str):
    """A new frame: `frame` with `effect` applied inside every region."""
    import av

    source = frame if frame.format.name in WORKING_FORMATS else frame.reformat(format="yuv420p")
    regions = tuple(regions)
    if regions == (WHOLE_FRAME,) and effect in ("blur", "pixelate"):
        return _whole_frame(source, effect)
    edited = av.VideoFrame(source.width, source.height, source.format.name)
    planes = [_copy_plane(src, dst) for src, dst in zip(source.planes, edited.planes, strict=True)]
    full_range = source.format.name == "yuvj420p" or source.color_range == 2  # AVCOL_RANGE_JPEG
    for region in regions:
        for index, plane in enumerate(planes):
            black = CHROMA_NEUTRAL if index else (0 if full_range else 16)
            _apply(_window(plane, region), effect, black)
    _copy_properties(source, edited)
    return edited


def _whole_frame(source, effect: str):
    """Blur or pixelate the whole frame through swscale: the same block means (its area
    filter) spread back bilinearly or repeated, in one C pass per step; six times cheaper
    than the numpy path at 720p, and most censored frames are whole frames."""
    block = max(MIN_BLOCK, math.ceil(min(source.width, source.height) / BLOCKS_ACROSS))
    tiles = source.reformat(width=max(2, round(source.width / block)), height=max(2, round(source.height / block)),
                            interpolation="AREA")
    edited = tiles.reformat(width=source.width, height=source.height,
                            interpolation="BILINEAR" if effect == "blur" else "POINT")
    _copy_properties(source, edited)
    return edited


def _copy_plane(source, target):
    """Copy one plane's bytes into the new frame; return a writable view of its pixels."""
    import numpy as np

    pixels = np.frombuffer(target, np.uint8).reshape(target.height, target.line_size)[:, :target.width]
    pixels[:] = np.frombuffer(source, np.uint8).reshape(source.height, source.line_size)[:, :source.width]
    return pixels


def _copy_properties(source, target) -> None:
    target.pts = source.pts
    if source.time_base is not None:
        target.time_base = source.time_base
    target.color_range, target.colorspace = source.color_range, source.colorspace
    target.color_primaries, target.color_trc = source.color_primaries, source.color_trc


def _window(plane, region: Region):
    """The pixels of `plane` that `region` covers, rounded outwards (a view, not a copy)."""
    height, width = plane.shape
    top, bottom = math.floor(region.top * height), math.ceil(region.bottom * height)
    left, right = math.floor(region.left * width), math.ceil(region.right * width)
    return plane[max(top, 0):min(bottom, height), max(left, 0):min(right, width)]


def _apply(window, effect: str, black: int) -> None:
    if window.size == 0:
        return
    if effect == "black":
        window[:] = black
        return
    if effect not in ("blur", "pixelate"):
        raise ValueError(f"unknown video effect {effect!r}")
    block = max(MIN_BLOCK, math.ceil(min(window.shape) / BLOCKS_ACROSS))
    height, width = window.shape
    means = block_means(window, block)
    smooth = effect == "blur"
    rows = _stretch(means.T, block, smooth).T[:height]  # small: (height, tiles across)
    spread = _stretch(rows, block, smooth)[:, :width]
    spread += 0.5  # values stay in 0-255: truncating after +0.5 rounds
    window[:] = spread


def block_means(window, block: int):
    """Mean of each block x block tile (smaller tiles at the right and bottom edges), float32."""
    import numpy as np

    height, width = window.shape
    row_starts, column_starts = np.arange(0, height, block), np.arange(0, width, block)
    sums = np.add.reduceat(np.add.reduceat(window, row_starts, axis=0, dtype=np.uint32), column_starts, axis=1)
    rows = np.diff(np.append(row_starts, height))
    columns = np.diff(np.append(column_starts, width))
    return (sums / np.outer(rows, columns)).astype(np.float32)


def _stretch(tiles, block: int, smooth: bool):
    """Each value of the last axis spread over `block` samples: repeated (pixelate), or
    linear between the tiles' centres (blur), three weighted copies of the neighbours.

    Plain elementwise numpy on purpose: a matrix product would do the same through BLAS,
    whose threads stall badly on a busy machine (3x slower here at a load of 8 on 2 cores).
    """
    import numpy as np

    if not smooth:
        return tiles.repeat(block, axis=-1)
    padded = np.concatenate([tiles[..., :1], tiles, tiles[..., -1:]], axis=-1)[..., None]
    offset = ((np.arange(block, dtype=np.float32) + 0.5) / block - 0.5)  # from the tile's centre, in tiles
    before, after = np.maximum(-offset, 0), np.maximum(offset, 0)
    spread = padded[..., 1:-1, :] * (1 - before - after)
    spread += padded[..., :-2, :] * before
    spread += padded[..., 2:, :] * after
    return spread.reshape(*tiles.shape[:-1], tiles.shape[-1] * block)
