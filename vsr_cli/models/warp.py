"""Backward warping by optical flow, and PSRT's patch alignment.

Both sample in float32 whatever the caller's precision: sampling grids in half
precision lose whole pixels at video sizes.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

from vsr_cli.models.casts import as_float32

PATCH = 8  # PSRT moves features in 8x8 patches


@functools.lru_cache(maxsize=64)
def _pixel_grid(h: int, w: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """(1, h, w, 2) pixel coordinates (x, y), and what maps them to [-1, 1]: the (2,)
    divisors, or on CUDA their float32 reciprocals (see ``_sampling_grid``). Cached:
    every warp of a clip at one size shares them."""
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float32),
        torch.arange(w, dtype=torch.float32),
        indexing="ij",
    )
    divisors = torch.tensor([max(w - 1, 1), max(h - 1, 1)], dtype=torch.float32)
    if device.type == "cuda":
        divisors = 1.0 / divisors
    return torch.stack((xs, ys), 2)[None].to(device), divisors.to(device)


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
    return F.grid_sample(
        as_float32(x), grid, mode="nearest", padding_mode="zeros", align_corners=True
    )
