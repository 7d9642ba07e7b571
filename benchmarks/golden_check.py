"""The authors' reference vectors on any device: fp32 within 1e-4, half precision by PSNR.

    python benchmarks/golden_check.py --device cuda [--compile] [--precision fp16 ...]
    python benchmarks/golden_check.py --device cuda --compile --attention flex --half-residual

The test suite checks the same on the CPU; this runs it where users run the model
(TF32 off for the fp32 comparison, so the check is of the function, not of TF32).
With ``--compile`` the steps are compiled in place as ``--compile`` does: the
model reads token rows with ``as_strided`` in places, which compiled code must
lay out as eager code does. ``--attention flex`` runs FlexAttention instead of SDPA
(compile with it: eager, PyTorch runs flex unfused), ``--half-residual`` the half
precisions with a half residual stream (``for_precision(..., half_residual=True)``).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from vsr_cli.infer.backend import pick_device
from vsr_cli.models.precision import for_precision
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.models.swin import ATTENTIONS

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "data" / "golden"
LIMITS = {"fp32": None, "fp16": 55.0, "bf16": 38.0}  # max |diff| <= 1e-4; else PSNR dB


def against_authors(
    device: torch.device,
    precision: str,
    compile: bool = False,
    attention: str = "sdpa",
    half_residual: bool = False,
) -> tuple[float, float]:
    """(max |diff|, PSNR in dB) of the golden tiny model against the authors' fp32 output."""
    params = load_file(GOLDEN / "psrt_tiny_params_fp16.safetensors")
    io = load_file(GOLDEN / "psrt_tiny_io.safetensors")
    lq = (io["input_u8"].float() / 255).to(device)
    expected = io["output"].to(device)
    model = PSRTRecurrent.from_state_dict({k: v.float() for k, v in params.items()})
    model.set_attention(attention)
    model = for_precision(model.eval().to(device), precision, half_residual)
    if compile:
        for step in model.patch_align.values():
            step.compile(dynamic=False)
    with torch.inference_mode():
        out = model(lq)
    diff = (out - expected).abs()
    mse = diff.square().mean().item()
    return diff.max().item(), 10 * math.log10(1 / mse) if mse > 0 else math.inf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compile", action="store_true", help="compile the steps first")
    parser.add_argument(
        "--precision", nargs="+", choices=list(LIMITS), default=list(LIMITS), help="(all)"
    )
    parser.add_argument("--attention", choices=ATTENTIONS, default="sdpa")
    parser.add_argument(
        "--half-residual", action="store_true", help="half precisions: a half residual stream"
    )
    args = parser.parse_args()
    device = pick_device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    failed = False
    for precision in args.precision:
        limit = LIMITS[precision]
        worst, psnr = against_authors(
            device, precision, args.compile, args.attention, args.half_residual
        )
        ok = worst <= 1e-4 if limit is None else psnr >= limit
        failed |= not ok
        name = f"{device} {precision} {args.attention}"
        if args.half_residual and precision != "fp32":
            name += " half residual"
        if args.compile:
            name += " compiled"
        print(
            f"{name}: max |diff| {worst:.1e}, PSNR {psnr:.1f} dB "
            f"against the authors' fp32 output: {'ok' if ok else 'FAIL'}"
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
