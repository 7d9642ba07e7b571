"""Model-only speed: ms per frame, frames per second, TFLOP/s and (CUDA) peak memory.

    python benchmarks/model_speed.py --size 320x180 --frames 10 --device cuda --precision fp16

The same measurement as `vsr bench` (vsr_cli/bench.py), kept as a script for
comparisons across commits; random weights of the released configuration.
"""

from __future__ import annotations

import argparse

import torch

from vsr_cli.bench import run_bench
from vsr_cli.engine import Engine, pick_device
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.precision import PRECISIONS, resolve_precision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="320x180", help="low-res WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    device = pick_device(args.device)
    width, height = (int(v) for v in args.size.split("x"))
    torch.manual_seed(0)
    engine = Engine(
        PSRTRecurrent(), device, resolve_precision(args.precision, device), print, args.compile
    )
    r = run_bench(engine, width, height, args.frames, args.repeats)
    print(f"device       {r.device} ({r.precision})")
    print(f"input        {args.frames} x {width}x{height} -> {4 * width}x{4 * height}")
    print(f"warm-up      {r.warmup_seconds:.1f} s")
    print(f"ms/frame     {r.ms_per_frame:.1f}")
    print(f"frames/s     {r.fps:.3f}")
    share = f" ({100 * r.peak_share:.1f}% of peak)" if r.peak_share else ""
    print(f"TFLOP/s      {r.tflops:.3f}{share}")
    if r.peak_memory_gib is not None:
        print(f"peak memory  {r.peak_memory_gib:.2f} GiB")


if __name__ == "__main__":
    main()
