"""Backward warping by optical flow, and PSRT's patch alignment.

Both sample in float32 whatever the caller's precision: sampling grids in half
precision lose whole pixels at video sizes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

PATCH = 8  # PSRT moves features in 8x8 patches


def _sampling_grid(flow: Tensor) -> Tensor:
    """(n, 2, h, w) pixel flow -> (n, h, w, 2) grid for ``grid_sample(align_corners=True)``."""
    _, _, h, w = flow.shape
    ys, xs = torch.meshgrid(
        torch.arange(h, device=flow.device, dtype=torch.float32),
        torch.arange(w, device=flow.device, dtype=torch.float32),
        indexing="ij",
    )
    gx = 2.0 * (xs + flow[:, 0]) / max(w - 1, 1) - 1.0
    gy = 2.0 * (ys + flow[:, 1]) / max(h - 1, 1) - 1.0
    return torch.stack((gx, gy), dim=3)


def flow_warp(x: Tensor, flow: Tensor, padding_mode: str = "zeros") -> Tensor:
    """Sample ``x`` (n, c, h, w) bilinearly at each pixel moved by ``flow`` (n, 2, h, w)."""
    grid = _sampling_grid(flow.float())
    return F.grid_sample(
        x.float(), grid, mode="bilinear", padding_mode=padding_mode, align_corners=True
    )


def patch_warp(x: Tensor, flow: Tensor) -> Tensor:
    """The paper's patch alignment: every 8x8 patch moves by its mean flow, without interpolation.

    The flow is reflect-padded to whole patches, averaged per patch and spread
    back; features are then picked with nearest sampling, so no feature vector
    is ever blended with its neighbours.
    """
    h, w = x.shape[-2:]
    flow = F.pad(flow.float(), (0, (-w) % PATCH, 0, (-h) % PATCH), mode="reflect")
    flow = F.avg_pool2d(flow, PATCH)
    flow = flow.repeat_interleave(PATCH, dim=2).repeat_interleave(PATCH, dim=3)
    grid = _sampling_grid(flow[:, :, :h, :w])
    return F.grid_sample(x.float(), grid, mode="nearest", padding_mode="zeros", align_corners=True)
