"""Tiles one at a time against tiles in batches, timed alternately in one run.

    python benchmarks/tile_batch.py --size 128x128 --frames 2 --tile 64 --batches 1 4

Same-size tiles stacked into one forward pass give the device bigger matrix
products and fewer launches; on a GPU that is the point, on a CPU it should
be about even. Prints seconds per pass (best of --repeats) for each batch size,
the ratio to the first, and the largest output difference from the first.
"""

from __future__ import annotations

import argparse
import time

import torch

from vsr_cli.bench import synchronize
from vsr_cli.config import PRECISIONS
from vsr_cli.infer.backend import pick_device
from vsr_cli.infer.engine import Engine
from vsr_cli.models.precision import resolve_precision
from vsr_cli.models.psrt import PSRTRecurrent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="128x128", help="low-res WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--tile", type=int, default=64)
    parser.add_argument("--overlap", type=int, default=16)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    device = pick_device(args.device)
    torch.manual_seed(0)
    model = PSRTRecurrent()
    precision = resolve_precision(args.precision, device)
    engines = {b: Engine(model, device, precision, tile_batch=b) for b in args.batches}
    lq = torch.rand(args.frames, 3, height, width)
    outputs = {b: e.upscale(lq, e.fit(args.tile), args.overlap) for b, e in engines.items()}  # warm
    best = dict.fromkeys(args.batches, float("inf"))
    for _ in range(args.repeats):
        for b, engine in engines.items():
            synchronize(device)
            start = time.perf_counter()
            engine.upscale(lq, engine.fit(args.tile), args.overlap)
            synchronize(device)
            best[b] = min(best[b], time.perf_counter() - start)
    first = args.batches[0]
    print(f"{device} {precision}, {args.frames} frames of {width}x{height}, tiles of {args.tile}")
    for b in args.batches:
        diff = (outputs[b] - outputs[first]).abs().max().item()
        print(
            f"{b:3d} tile(s) per pass  {best[b]:8.2f} s  {best[first] / best[b]:.2f}x  "
            f"max |diff| {diff:.1e}"
        )


if __name__ == "__main__":
    main()
