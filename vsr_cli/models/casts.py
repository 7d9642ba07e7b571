"""Casts that dispatch nothing when the tensor already has the dtype.

In inference mode even a same-dtype ``.to()`` is a dispatched operation, and
on a GPU every dispatch costs host time; the model casts before each matrix
product (to its weights' dtype) and before each warp (to float32).
"""

from __future__ import annotations

import torch
from torch import Tensor


def cast(t: Tensor, dtype: torch.dtype) -> Tensor:
    return t if t.dtype == dtype else t.to(dtype)


def as_float32(t: Tensor) -> Tensor:
    return cast(t, torch.float32)
