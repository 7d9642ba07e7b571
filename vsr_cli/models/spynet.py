"""SpyNet optical flow (Ranjan & Black, CVPR 2017), as PSRT-recurrent uses it.

The names of the modules and buffers follow the checkpoints
(``spynet.basic_module.S.basic_module.K``, ``spynet.mean``, ``spynet.std``).
Flow is always computed in float32: it feeds sampling grids.
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vsr_cli.models.casts import as_float32
from vsr_cli.models.warp import flow_warp

LEVELS = 6
_WIDTHS = (8, 32, 64, 32, 16, 2)  # in: ref (3) + warped supp (3) + flow (2)


class SpyLevel(nn.Module):
    """One pyramid level: five 7x7 convolutions that predict a flow residual."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i, (cin, cout) in enumerate(zip(_WIDTHS, _WIDTHS[1:])):
            if i:
                layers.append(nn.ReLU())
            layers.append(nn.Conv2d(cin, cout, 7, padding=3))
        self.basic_module = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.basic_module(x)


class SpyNet(nn.Module):
    """Coarse-to-fine flow ``ref -> supp``: ``warp(supp, flow)`` lines up with ``ref``."""

    def __init__(self) -> None:
        super().__init__()
        self.basic_module = nn.ModuleList(SpyLevel() for _ in range(LEVELS))
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def _pyramid(self, img: Tensor, size: tuple[int, int]) -> list[Tensor]:
        """Resized and normalised image and its 2x poolings, coarsest first."""
        img = F.interpolate(img, size=size, mode="bilinear", align_corners=False)
        levels = [(img - self.mean) / self.std]
        for _ in range(LEVELS - 1):
            levels.insert(0, F.avg_pool2d(levels[0], 2, 2, count_include_pad=False))
        return levels

    def forward(self, ref: Tensor, supp: Tensor) -> Tensor:
        """(n, 3, h, w) RGB in [0, 1] twice -> (n, 2, h, w) flow in pixels (x, y)."""
        device = ref.device.type
        # ``meta`` (where the model's operations are probed) has no autocast to turn off.
        guard = (
            torch.autocast(device, enabled=False)
            if torch.amp.is_autocast_available(device)
            else contextlib.nullcontext()
        )
        with guard:
            return self._flow(as_float32(ref), as_float32(supp))

    def _flow(self, ref: Tensor, supp: Tensor) -> Tensor:
        h, w = ref.shape[-2:]
        h32, w32 = math.ceil(h / 32) * 32, math.ceil(w / 32) * 32
        refs = self._pyramid(ref, (h32, w32))
        supps = self._pyramid(supp, (h32, w32))

        coarse = refs[0]
        flow = coarse.new_zeros(coarse.shape[0], 2, coarse.shape[2] // 2, coarse.shape[3] // 2)
        for level, module in enumerate(self.basic_module):
            up = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=True) * 2.0
            # Odd level sizes: the doubled flow is one row/column short.
            pad_h = refs[level].shape[2] - up.shape[2]
            pad_w = refs[level].shape[3] - up.shape[3]
            if pad_h or pad_w:
                up = F.pad(up, (0, pad_w, 0, pad_h), mode="replicate")
            warped = flow_warp(supps[level], up, padding_mode="border")
            flow = module(torch.cat((refs[level], warped, up), dim=1)) + up

        flow = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)
        # Python scalars, not a tensor built on the host: no copy to the device per call.
        return torch.stack((flow[:, 0] * (w / w32), flow[:, 1] * (h / h32)), dim=1)
