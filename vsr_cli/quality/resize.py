"""MATLAB's ``imresize`` (bicubic, antialiased when shrinking), as the benchmarks use it.

The low-res frames of REDS, Vid4 and Vimeo-90K-T ("BI" degradation) and the
bicubic baseline of every VSR paper come from MATLAB's ``imresize``; PyTorch's
and Pillow's bicubic differ from it (another cubic, other borders), enough to
move PSNR by tenths of a dB. Its documented behaviour, rebuilt here:

- Keys' cubic with a = -0.5 (``triangle``: linear), centred on each output
  pixel's position in the input, ``x_in = x_out / scale + (1 - 1 / scale) / 2``
  (1-based);
- when shrinking, the kernel is stretched by ``1 / scale`` (antialiasing) and
  its weights normalised to sum to one;
- pixels beyond the border are the image mirrored (``symmetric``, MATLAB's
  current ``imresize``); R2013's copy clamped them to the edge pixel instead
  (``replicate``, its printed results are what the tests check that against);
- one dimension at a time, the most shrunk first (rows on a tie); an integer
  image is rounded (half away from zero) and clipped after each dimension, as
  MATLAB keeps the input's class between the passes.

Checked against MATLAB's printed results in tests/test_eval.py.
"""

from __future__ import annotations

import math

import numpy as np

KERNELS = ("bicubic", "triangle")
BORDERS = ("symmetric", "replicate")


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    near = (1.5 * ax**3 - 2.5 * ax**2 + 1) * (ax <= 1)
    far = (-0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))
    return near + far


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.clip(1 - np.abs(x), 0, None)


def _taps(
    length_in: int, length_out: int, kernel: str, border: str
) -> tuple[np.ndarray, np.ndarray]:
    """(indices, weights), each (length_out, taps): which input pixels make each output
    pixel, and how much of each."""
    function, width = (_cubic, 4.0) if kernel == "bicubic" else (_triangle, 2.0)
    scale = length_out / length_in
    stretch = min(scale, 1.0)  # < 1: shrinking, the kernel widens to filter out aliasing
    support = width / stretch
    centre = np.arange(1, length_out + 1, dtype=np.float64) / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(centre - support / 2)
    taps = math.ceil(support) + 2
    indices = left[:, None] + np.arange(taps)[None, :]
    weights = stretch * function(stretch * (centre[:, None] - indices))
    weights /= weights.sum(axis=1, keepdims=True)
    indices = indices.astype(np.int64) - 1
    if border == "symmetric":
        mirror = np.concatenate([np.arange(length_in), np.arange(length_in)[::-1]])
        indices = mirror[indices % (2 * length_in)]
    else:
        indices = np.clip(indices, 0, length_in - 1)
    used = np.any(weights != 0, axis=0)
    return indices[:, used], weights[:, used]


def imresize(
    image: np.ndarray,
    height: int,
    width: int,
    kernel: str = "bicubic",
    border: str = "symmetric",
) -> np.ndarray:
    """(h, w) or (h, w, c) image -> (height, width[, c]), of the same dtype.

    Integer images are computed in float64 and come back rounded and clipped to the
    dtype's range; float32/float64 images stay in their precision (float32 is the
    fast one for whole video frames).
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel: one of {', '.join(KERNELS)}")
    if border not in BORDERS:
        raise ValueError(f"border: one of {', '.join(BORDERS)}")
    integer = np.issubdtype(image.dtype, np.integer)
    work = image.astype(np.float64) if integer else image
    sizes = {0: height, 1: width}
    # The most shrunk dimension first, rows on a tie (MATLAB's order).
    for axis in sorted(sizes, key=lambda a: sizes[a] / image.shape[a]):
        if sizes[axis] == work.shape[axis] and sizes[axis] == image.shape[axis]:
            continue
        indices, weights = _taps(work.shape[axis], sizes[axis], kernel, border)
        weights = weights.astype(work.dtype)
        moved = np.moveaxis(work, axis, 0)
        out = np.zeros((sizes[axis], *moved.shape[1:]), dtype=work.dtype)
        shape = (-1,) + (1,) * (moved.ndim - 1)
        for tap in range(indices.shape[1]):
            out += weights[:, tap].reshape(shape) * moved[indices[:, tap]]
        work = np.moveaxis(out, 0, axis)
        if integer:
            info = np.iinfo(image.dtype)
            work = np.clip(np.floor(work + 0.5), info.min, info.max)
    return work.astype(image.dtype) if integer else work
