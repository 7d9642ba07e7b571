"""Half precision against fp32: PSNR and largest difference of the model's output.

    python benchmarks/precision.py --device cuda --weights psrt_reds.pth --input clip.mp4
    python benchmarks/precision.py --device cpu --size 96x64 --frames 5

Runs the same frames through the model in fp32 and in each of --precisions,
on one device, and compares the outputs (clamped to [0, 1], as written).
Frames come from --input (its first --frames frames; a real clip with real
weights is the meaningful test) or from the benchmark's synthetic clip.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import torch

from vsr_cli.bench import write_synthetic_clip
from vsr_cli.infer.backend import pick_device
from vsr_cli.infer.engine import Engine
from vsr_cli.infer.pixels import input_pixels
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.video.reader import DecodedFrame, VideoReader
from vsr_cli.weights import read_checkpoint


def _frames(path: Path, count: int) -> torch.Tensor:
    frames = []
    with VideoReader(path) as reader:
        for item in reader.media(set()):
            if isinstance(item, DecodedFrame):
                frames.append(input_pixels(item.rgb))
                if len(frames) == count:
                    break
    return torch.stack(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--weights", type=Path, help="a checkpoint (default: random weights)")
    parser.add_argument("--input", type=Path, help="a video (default: a synthetic clip)")
    parser.add_argument("--size", default="96x64", help="synthetic clip's WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--precisions", nargs="+", default=["fp16", "bf16"])
    args = parser.parse_args()
    device = pick_device(args.device)
    torch.manual_seed(0)
    if args.input:
        lq = _frames(args.input, args.frames)
    else:
        width, height = (int(v) for v in args.size.split("x"))
        with tempfile.TemporaryDirectory() as tmp:
            clip = Path(tmp) / "clip.mkv"
            write_synthetic_clip(clip, args.frames, width, height)
            lq = _frames(clip, args.frames)
    model = (
        PSRTRecurrent.from_state_dict(read_checkpoint(args.weights))
        if args.weights
        else PSRTRecurrent()
    )
    plain = Engine(model, device, "fp32")
    reference = plain.upscale(lq, plain.fit(0), 0).clamp(0, 1)
    print(f"{device}, {len(lq)} frames of {lq.shape[-1]}x{lq.shape[-2]}, against fp32")
    for precision in args.precisions:
        half = Engine(model, device, precision)
        out = half.upscale(lq, half.fit(0), 0).clamp(0, 1)
        diff = (out - reference).abs()
        mse = diff.square().mean().item()
        psnr = 10 * math.log10(1 / mse) if mse > 0 else math.inf
        print(f"{precision}  PSNR {psnr:6.1f} dB  max |diff| {diff.max().item():.1e}")


if __name__ == "__main__":
    main()
