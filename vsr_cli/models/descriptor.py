"""The model's contract: what a caller must know to feed the network, with no torch and
no reading of its code (spandrel's ``ModelDescriptor`` in spirit).

The network reads its facts from here (``psrt.py``, ``warp.py``), and so do planning,
settings and the engine: another network of the family needs a new descriptor, not a
new engine, and checking a setting never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelDescriptor:
    name: str
    scale: int  # output side = scale x input side, always
    min_size: int  # smallest input side: smaller frames are padded (edges repeated)
    alignment: int  # tiles start on this grid so they see the whole frame's windows/patches
    precisions: tuple[str, ...]  # the dtypes it runs in without losing its function

    @property
    def half_precisions(self) -> tuple[str, ...]:
        return tuple(p for p in self.precisions if p != "fp32")


PSRT_RECURRENT = ModelDescriptor(
    name="psrt-recurrent",
    scale=4,
    min_size=64,  # SpyNet's pyramid halves a frame five times
    alignment=8,  # attention windows and flow patches are 8x8
    precisions=("fp32", "fp16", "bf16"),
)
