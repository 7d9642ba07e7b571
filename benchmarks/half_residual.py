"""The half residual stream against fp32, beside the default half precision (fp32 residual).

    python benchmarks/half_residual.py --device cpu
    python benchmarks/half_residual.py --device cuda --size 320x180 --frames 8

The released configuration with random weights (seeded) on a drifting, noisy
synthetic clip: the model in fp32, then in each half precision with the residual
stream float32 (``for_precision``'s default) and half (``half_residual=True``),
each compared with fp32 by PSNR and largest difference of the clamped output.
Random weights add little to the bilinear base of the output, so these figures
flatter both half modes; the golden clip (``golden_check.py --half-residual``)
and the released weights on real video are the harder tests.
"""

from __future__ import annotations

import argparse
import math

import torch

from vsr_cli.infer.backend import pick_device
from vsr_cli.models.precision import for_precision
from vsr_cli.models.psrt import PSRTRecurrent


def synthetic_clip(frames: int, width: int, height: int) -> torch.Tensor:
    """(1, frames, 3, height, width) in [0, 1]: a colour wave drifting 2 px a frame, plus
    noise (the pattern of ``vsr bench``'s clip, without its H.264 round trip)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.arange(width, dtype=torch.float32)
    colour = torch.tensor([60.0, 36.0, -48.0])[:, None, None]
    clip = []
    for i in range(frames):
        wave = torch.sin((x + 2 * i) / 9.0).expand(height, width)
        noise = torch.randn(3, height, width, generator=generator) * 6
        clip.append((128 + wave * colour + noise).clamp(0, 255).round() / 255)
    return torch.stack(clip)[None]


def compare(out: torch.Tensor, reference: torch.Tensor) -> tuple[float, float]:
    """PSNR (dB) and max |diff| of ``out`` against ``reference``, both clamped to [0, 1]."""
    diff = out.float().clamp(0, 1) - reference.clamp(0, 1)
    mse = diff.square().mean().item()
    return (10 * math.log10(1 / mse) if mse > 0 else math.inf), diff.abs().max().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--size", default="96x64", help="low-res WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--precisions", nargs="+", default=["fp16", "bf16"])
    args = parser.parse_args()
    device = pick_device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    width, height = (int(v) for v in args.size.split("x"))
    torch.manual_seed(0)
    model = PSRTRecurrent().eval().to(device)
    lq = synthetic_clip(args.frames, width, height).to(device)
    with torch.inference_mode():
        reference = model(lq).float()
        print(f"{device}, released configuration (random weights), {args.frames} x {args.size}")
        for precision in args.precisions:
            for half_residual in (False, True):
                out = for_precision(model, precision, half_residual)(lq)
                psnr, worst = compare(out, reference)
                stream = "half" if half_residual else "fp32"
                finite = bool(torch.isfinite(out).all())
                print(
                    f"  {precision}, residual {stream}: PSNR {psnr:.1f} dB, max |diff| "
                    f"{worst:.1e}{'' if finite else ', NOT FINITE'}"
                )


if __name__ == "__main__":
    main()
