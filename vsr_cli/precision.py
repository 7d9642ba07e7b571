"""Inference precision: which dtype the matrix work runs in.

Half precision runs through autocast rather than a half-precision copy of the
model: matrix products and convolutions run in fp16/bf16, while LayerNorm,
softmax and the residual stream stay float32 (a pure ``.half()`` SwinIR-style
network overflows and goes black). Flows and sampling grids are pinned to
float32 inside the model itself.
"""

from __future__ import annotations

import contextlib
from typing import Literal

import torch

Precision = Literal["fp32", "fp16", "bf16"]
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "fp16", "bf16")
_HALF = {"fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_precision(precision: str, device: torch.device) -> Precision:
    """``auto`` is fp16 on CUDA and fp32 elsewhere."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "fp16" if device.type == "cuda" else "fp32"
    return precision  # type: ignore[return-value]


def autocast(device: torch.device, precision: Precision) -> contextlib.AbstractContextManager:
    """The context to run the model in for ``precision`` on ``device``."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=_HALF[precision])
