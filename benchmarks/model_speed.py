"""Model-only speed: ms per frame, frames per second and (CUDA) peak memory.

    python benchmarks/model_speed.py --size 320x180 --frames 10 --device cuda --precision fp16

Random weights of the released configuration (or ``--tiny``); the cost does
not depend on the values. The first run is a warm-up and is not counted.
"""

from __future__ import annotations

import argparse
import time

import torch

from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.precision import PRECISIONS, autocast, resolve_precision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="320x180", help="low-res WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="embed_dim 24, one stage of 2 blocks")
    args = parser.parse_args()

    device = torch.device(args.device)
    precision = resolve_precision(args.precision, device)
    width, height = (int(v) for v in args.size.split("x"))
    config = dict(mid_channels=16, embed_dim=24, depths=(2,), num_heads=(2,)) if args.tiny else {}
    model = PSRTRecurrent(**config).eval().to(device)
    lq = torch.rand(1, args.frames, 3, height, width, device=device)

    times = []
    with torch.inference_mode(), autocast(device, precision):
        for _ in range(args.repeats + 1):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(lq)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    best = min(times[1:])
    per_frame = best / args.frames
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device       {device} ({name})")
    print(f"precision    {precision}")
    print(f"input        {args.frames} x {width}x{height} -> {4 * width}x{4 * height}")
    print(f"ms/frame     {per_frame * 1000:.1f}")
    print(f"frames/s     {1 / per_frame:.2f}")
    if device.type == "cuda":
        print(f"peak memory  {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
