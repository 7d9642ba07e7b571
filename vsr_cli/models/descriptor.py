"""What a caller must know to feed a network, without reading its code.

The engine pads, tiles and casts by these fields alone, so another network of
the family (or a future one) needs a new descriptor, not a new engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from vsr_cli.models.psrt import MIN_SIZE, SCALE
from vsr_cli.models.warp import PATCH


@dataclass(frozen=True)
class ModelDescriptor:
    name: str
    scale: int  # output side = scale x input side, always
    min_size: int  # smallest input side: smaller frames are padded (edges repeated)
    alignment: int  # tiles start on this grid so they see the whole frame's windows/patches
    half_precisions: tuple[str, ...]  # the half dtypes it runs in without losing its function


PSRT_RECURRENT = ModelDescriptor(
    name="psrt-recurrent",
    scale=SCALE,
    min_size=MIN_SIZE,  # SpyNet's pyramid
    alignment=PATCH,  # attention windows and flow patches are 8x8
    half_precisions=("fp16", "bf16"),
)
