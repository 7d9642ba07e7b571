"""Inference precision: which dtype the matrix work runs in.

Half precision runs on a copy of the model whose linear layers and convolutions
hold half-precision weights (SpyNet's excepted); the model casts activations to
their weights' dtype right before each, i.e. once after each LayerNorm.
LayerNorm, the residual stream, SpyNet's flows and the sampling grids stay
float32 (a pure ``.half()`` SwinIR-style network overflows and goes black);
``half_residual`` makes LayerNorm and the residual stream half too (experimental).
Autocast chooses the same dtypes but casts every weight again at every call:
805 casts per output frame, counted on an H200.
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
from torch import nn

from vsr_cli.models.descriptor import PSRT_RECURRENT
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.models.swin import BlockStack, WindowAttention

Precision = Literal["fp32", "fp16", "bf16"]
PRECISIONS: tuple[str, ...] = ("auto", *PSRT_RECURRENT.precisions)
_HALF = {"fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_precision(precision: str, device: torch.device) -> Precision:
    """``auto`` is fp16 on CUDA and fp32 elsewhere."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "fp16" if device.type == "cuda" else "fp32"
    return precision  # type: ignore[return-value]


def for_precision(
    model: PSRTRecurrent, precision: Precision, half_residual: bool = False
) -> PSRTRecurrent:
    """``model`` itself for fp32; else a copy with half-precision matrix weights.

    ``half_residual`` (experimental) also makes the LayerNorms half, and so the features
    between steps and the residual stream (``PSRTRecurrent.feature_dtype``): half the
    bytes of every add and norm, and no casts after the norms. The norms still reduce in
    float32 (PyTorch's half LayerNorm kernels accumulate in float32).
    """
    if precision == "fp32":
        return model
    half = copy.deepcopy(model)
    flow_modules = set(half.spynet.modules())
    converted = (nn.Linear, nn.Conv2d, nn.LayerNorm) if half_residual else (nn.Linear, nn.Conv2d)
    for module in half.modules():
        if isinstance(module, converted) and module not in flow_modules:
            module.to(_HALF[precision])
        if isinstance(module, (WindowAttention, BlockStack)):
            module.clear_caches()  # the float32 copies' plans and masks: dead weight
    return half
