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
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from vsr_cli.errors import UsageError
from vsr_cli.models.descriptor import PSRT_RECURRENT
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.models.swin import BlockStack, WindowAttention

Precision = Literal["fp32", "fp16", "bf16"]
_HALF = {"fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class DeviceFacts:
    """What the precision choice needs to know of a device."""

    kind: str  # cuda, cpu, mps
    name: str
    capability: tuple[int, int] | None  # CUDA compute capability
    bf16: bool  # runs bfloat16 natively

    @classmethod
    def of(cls, device: torch.device) -> DeviceFacts:
        if device.type != "cuda":
            return cls(device.type, device.type, None, False)
        return cls(
            "cuda",
            torch.cuda.get_device_name(device),
            torch.cuda.get_device_capability(device),
            torch.cuda.is_bf16_supported(),
        )


def choose_precision(facts: DeviceFacts) -> tuple[Precision, str]:
    """``--precision auto``: what the device does well, among what the model runs in
    (the descriptor's precisions), and why. fp16 where there are tensor cores (compute
    capability 7.0 and up); fp32 on the CPU and MPS, on GPUs where fp16 runs at a
    fraction of fp32's rate (6.x: GTX 10xx) and on GTX 16xx, known for fp16 NaN. bf16
    is never the automatic choice: fp16 keeps the function better (docs/benchmarks.md)."""
    if facts.kind != "cuda" or "fp16" not in PSRT_RECURRENT.precisions:
        return "fp32", f"{facts.kind}: half precision gains nothing there"
    major, minor = facts.capability or (0, 0)
    if "GTX 16" in facts.name:
        return "fp32", f"{facts.name}: its fp16 is known to give NaN"
    if major < 7:
        return "fp32", f"compute capability {major}.{minor}: fp16 is slow there (no tensor cores)"
    return "fp16", f"tensor cores (compute capability {major}.{minor})"


def precision_choice(precision: str, device: torch.device) -> tuple[Precision, str]:
    """The precision to run in, and why (``precision``: one of ``config.PRECISIONS``).
    bf16 asked of a GPU without native bf16 is a usage error."""
    facts = DeviceFacts.of(device)
    if precision == "auto":
        return choose_precision(facts)
    if precision == "bf16" and facts.kind == "cuda" and not facts.bf16:
        raise UsageError(f"--precision bf16: {facts.name} has no native bf16; use fp16")
    return precision, "asked for"  # type: ignore[return-value]


def resolve_precision(precision: str, device: torch.device) -> Precision:
    return precision_choice(precision, device)[0]


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
