"""Blending overlapping tiles into frames and overlapping chunks into a sequence.

The weights come from ``plan.blend_weights`` (why they look the way they do is
explained there); this module only accumulates and hands out finished frames.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from vsr_cli.infer.plan import Window, blend_weights


@functools.lru_cache(maxsize=256)
def _device_weights(
    window: Window, length: int, fade: int, scale: int, device: torch.device
) -> Tensor:
    """``blend_weights`` on the device, copied there once: every chunk of a video cuts
    the same tiles, and each copy from host memory would make the host wait."""
    return torch.tensor(blend_weights(window, length, fade, scale), dtype=torch.float32).to(device)


class TileCanvas:
    """Accumulates weighted tile outputs of one chunk into whole frames."""

    def __init__(
        self, frames: int, height: int, width: int, scale: int, fade: int, device: torch.device
    ) -> None:
        self.scale, self.fade = scale, fade
        self.height, self.width = height, width
        self.pixels = torch.zeros(frames, 3, height * scale, width * scale, device=device)

    def add(self, rows: Window, cols: Window, tile: Tensor) -> None:
        """``tile``: (t, 3, rows.size*scale, cols.size*scale), the model's output for the
        tile at the canvas's scale."""
        # The tile-sized weight image is the outer product of two cached 1-D vectors.
        wy, wx = (
            _device_weights(w, n, self.fade, self.scale, tile.device)
            for w, n in ((rows, self.height), (cols, self.width))
        )
        s = self.scale
        self.pixels[..., rows.start * s : rows.stop * s, cols.start * s : cols.stop * s] += (
            tile * torch.outer(wy, wx)
        )


class ChunkStitcher:
    """Blends chunk outputs frame by frame and releases each frame once no later chunk
    can contribute to it."""

    def __init__(self, fade: int) -> None:
        self.fade = fade
        self._sums: dict[int, Tensor] = {}

    def add(self, window: Window, frames: Tensor, last: bool) -> list[tuple[int, Tensor]]:
        """``frames``: the outputs for ``window.start..window.stop``. Returns finished frames."""
        length = window.core_stop if last else window.core_stop + 1
        # float32, as the frames are: the same products as the tiles' weights give
        weights = torch.tensor(blend_weights(window, length, self.fade), dtype=torch.float32)
        for offset, weight in enumerate(weights.tolist()):
            if weight > 0:
                index = window.start + offset
                contribution = frames[offset] * float(weight)
                if index in self._sums:
                    self._sums[index] += contribution
                else:
                    self._sums[index] = contribution
        # A later chunk's weights start at most ``fade`` frames before this core's end.
        limit = window.core_stop if last else window.core_stop - self.fade
        done = sorted(i for i in self._sums if i < limit)
        return [(i, self._sums.pop(i)) for i in done]
