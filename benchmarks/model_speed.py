"""Model-only speed: ms per frame, frames per second, TFLOP/s and (CUDA) peak memory.

    python benchmarks/model_speed.py --size 320x180 --frames 10 --device cuda --precision fp16

The same measurement as `vsr bench` (vsr_cli/bench.py), kept as a script for
comparisons across commits; random weights of the released configuration.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict

import torch

from vsr_cli.bench import run_bench
from vsr_cli.engine import pick_device
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.precision import PRECISIONS, resolve_precision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="320x180", help="low-res WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--tile", type=int, default=0)
    parser.add_argument("--tile-batch", type=int, default=1)
    args = parser.parse_args()
    device = pick_device(args.device)
    width, height = (int(v) for v in args.size.split("x"))
    torch.manual_seed(0)
    result = run_bench(
        PSRTRecurrent(),
        device,
        resolve_precision(args.precision, device),
        width,
        height,
        args.frames,
        args.repeats,
        compile=args.compile,
        tile=args.tile,
        tile_batch=args.tile_batch,
    )
    for key, value in (asdict(result) | {"fps": result.fps}).items():
        print(f"{key:20s} {value:.3f}" if isinstance(value, float) else f"{key:20s} {value}")


if __name__ == "__main__":
    main()
