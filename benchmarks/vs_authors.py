"""Speed and agreement against the authors' PSRT-recurrent, side by side in one process.

    python benchmarks/vs_authors.py --authors PATH [--size 64x68] [--frames 4] [--compile]

PATH is a checkout of XPixelGroup/RethinkVSRAlignment's `PSRT_recurrent` folder
(the one holding `archs/psrt_recurrent_arch.py`), with `basicsr` and `timm`
importable (pip install basicsr timm). Nothing of theirs is in this repository.
Both models get the same random weights of the released configuration (biases
and norms too), run on the CPU in fp32 on the same frames, and are timed
alternately after a warm-up each; prints the largest output difference, the
best time of each, and the ratio.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from vsr_cli.infer.engine import Engine
from vsr_cli.models.psrt import PSRTRecurrent


def _authors_model(path: str) -> torch.nn.Module:
    sys.path.insert(0, path)
    from archs.psrt_recurrent_arch import BasicRecurrentSwin

    model = BasicRecurrentSwin(
        mid_channels=64,
        embed_dim=120,
        depths=[6, 6, 6],
        num_heads=[6, 6, 6],
        window_size=[3, 8, 8],
        num_frames=3,
        cpu_cache_length=100,
    ).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            is_norm_scale = name.endswith(("norm.weight", "norm1.weight", "norm2.weight"))
            p.copy_(torch.randn_like(p) * (0.02 if p.dim() > 1 else 0.1) + float(is_norm_scale))
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authors", required=True, help="folder holding archs/")
    parser.add_argument("--size", default="64x68", help="low-res WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--compile", action="store_true", help="ours with --compile")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    torch.manual_seed(0)
    theirs = _authors_model(args.authors)
    ours = Engine(
        PSRTRecurrent.from_state_dict(theirs.state_dict()),
        torch.device("cpu"),
        "fp32",
        compile=args.compile,
    )
    lq = torch.rand(args.frames, 3, height, width)

    def run_theirs() -> torch.Tensor:
        with torch.no_grad():
            return theirs(lq[None])[0]

    def run_ours() -> torch.Tensor:
        return ours.upscale(lq, ours.fit(0), 0)

    ours_label = f"ours ({'compiled' if args.compile else 'eager'})"
    start = time.perf_counter()
    expected = run_theirs()
    print(f"{'authors, first run':24s}{time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    got = run_ours()
    print(f"{ours_label + ', first run':24s}{time.perf_counter() - start:.2f} s")
    print(f"{'max |diff|':24s}{(expected - got).abs().max().item():.2e}")
    best = {"authors": float("inf"), "ours": float("inf")}
    for _ in range(args.repeats):
        for name, run in (("authors", run_theirs), ("ours", run_ours)):
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    print(f"{'authors':24s}{best['authors']:.2f} s")
    print(f"{ours_label:24s}{best['ours']:.2f} s")
    print(f"{'speed-up':24s}{best['authors'] / best['ours']:.2f}x")


if __name__ == "__main__":
    main()
