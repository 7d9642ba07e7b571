"""Backward warping by optical flow, and PSRT's patch alignment.

Both sample in float32 whatever the caller's precision: sampling grids in half
precision lose whole pixels at video sizes.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

from vsr_cli.models.casts import as_float32, cast
from vsr_cli.models.descriptor import PSRT_RECURRENT

PATCH = PSRT_RECURRENT.alignment  # PSRT moves features in 8x8 patches


def divisor_values(h: int, w: int, device: torch.device) -> tuple[float, float]:
    """What maps x and y pixel coordinates to [-1, 1] (see ``_sampling_grid``): the divisors
    ``size - 1``, or on CUDA their float32 reciprocals.

    Python numbers, so the tensor built from them is made on the device itself: a tensor
    made on the host would be a CPU constant inside a compiled step, which rules out CUDA
    graphs. ``torch.full`` rounds ``1 / size`` (a double) to float32; for any size under
    2**28 that is the float32 quotient ``1f / size`` (a double lands on a float32 rounding
    tie only after 28 equal bits, which ``1 / size`` never has below 2**28).
    """
    x, y = max(w - 1, 1), max(h - 1, 1)
    return (1.0 / x, 1.0 / y) if device.type == "cuda" else (float(x), float(y))


def _pixel_grid(h: int, w: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """``_make_pixel_grid``, cached when run eagerly (every warp of a clip at one size
    shares it); a compiled step builds it in its graph instead, where it fuses away (and
    dynamo need not trace through a cache, which it warns about on stderr)."""
    if torch.compiler.is_compiling():
        return _make_pixel_grid(h, w, device)
    return _cached_pixel_grid(h, w, device)


def _make_pixel_grid(h: int, w: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """(1, h, w, 2) pixel coordinates (x, y) and the (2,) ``divisor_values``, all made on
    ``device``."""
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float32, device=device),
        torch.arange(w, dtype=torch.float32, device=device),
        indexing="ij",
    )
    divisors = torch.stack(
        [
            torch.full((), v, dtype=torch.float32, device=device)
            for v in divisor_values(h, w, device)
        ]
    )
    return torch.stack((xs, ys), 2)[None], divisors


_cached_pixel_grid = functools.lru_cache(maxsize=64)(_make_pixel_grid)


def _sampling_grid(flow: Tensor) -> Tensor:
    """(n, 2, h, w) pixel flow -> (n, h, w, 2) grid for ``grid_sample(align_corners=True)``.

    Each coordinate is ``2 * (pixel + flow) / (size - 1) - 1`` computed as the authors'
    code computes it, dividing by a Python number: on the CPU a true division, on CUDA a
    multiply by the float32 reciprocal (PyTorch's kernel for a scalar divisor). Nearest
    sampling would pick another pixel where a coordinate rounds differently across a half.
    """
    pixels, divisors = _pixel_grid(flow.shape[2], flow.shape[3], flow.device)
    moved = (pixels + flow.permute(0, 2, 3, 1)) * 2.0
    return (moved * divisors if flow.is_cuda else moved / divisors) - 1.0


def flow_warp(x: Tensor, flow: Tensor, padding_mode: str = "zeros") -> Tensor:
    """Sample ``x`` (n, c, h, w) bilinearly at each pixel moved by ``flow`` (n, 2, h, w)."""
    grid = _sampling_grid(as_float32(flow))
    return F.grid_sample(
        as_float32(x), grid, mode="bilinear", padding_mode=padding_mode, align_corners=True
    )


def patch_warp(x: Tensor, flow: Tensor) -> Tensor:
    """The paper's patch alignment: every 8x8 patch moves by its mean flow, without interpolation.

    The flow is reflect-padded to whole patches, averaged per patch and spread
    back; features are then picked with nearest sampling, so no feature vector
    is ever blended with its neighbours.
    """
    h, w = x.shape[-2:]
    flow = F.pad(as_float32(flow), (0, (-w) % PATCH, 0, (-h) % PATCH), mode="reflect")
    flow = F.avg_pool2d(flow, PATCH)
    flow = F.interpolate(flow, scale_factor=PATCH, mode="nearest")  # each mean over its patch
    grid = _sampling_grid(flow[:, :, :h, :w])
    picked = F.grid_sample(
        as_float32(x), grid, mode="nearest", padding_mode="zeros", align_corners=True
    )
    return cast(picked, x.dtype)  # picked values, not blended: exact in x's dtype
