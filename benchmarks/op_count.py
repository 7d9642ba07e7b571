"""Dispatched ATen operations and bytes allocated per output frame, and the SDPA backend.

    python benchmarks/op_count.py --size 320x180 --frames 4
    python benchmarks/op_count.py --device cuda --precision fp16 --require-fused
    python benchmarks/op_count.py --size 128x128 --frames 4 --batch 4

On a GPU every dispatched operation costs host time (a few microseconds) whether
or not it launches a kernel, so the count per output frame bounds eager speed on
any machine, and can be measured without one. Bytes are those of the tensors the
operations create (views excluded): the memory traffic the model asks for.
The attention backend is read from the profiler's record of one more pass: the
fused kernels and the math fallback each appear there as their own operation.
``--batch N`` also counts, with the model called directly, N independent clips
stacked in the batch dimension against one: the operations are per call, so per
output frame they should fall to about 1/N (the issue asks for <= 1/3.5 at N = 4).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from vsr_cli.infer.backend import pick_device
from vsr_cli.infer.engine import Engine
from vsr_cli.models.precision import for_precision
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.models.swin import WindowAttention

FUSED_ATTENTION = ("flash_attention", "efficient_attention", "cudnn_attention")


class OpCounter(TorchDispatchMode):
    """Counts every ATen operation by name, and the bytes of the new tensors they return."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: Counter[str] = Counter()
        self.bytes_created = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        out = func(*args, **(kwargs or {}))
        self.ops[func.overloadpacket.__name__] += 1
        inputs = {
            t.untyped_storage().data_ptr()
            for t in tree_leaves((args, kwargs))
            if isinstance(t, torch.Tensor) and t.device.type != "meta"
        }
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() not in inputs:
                self.bytes_created += t.numel() * t.element_size()
        return out


def per_output_frame(
    model: PSRTRecurrent, n: int, frames: int, height: int, width: int, device: torch.device
) -> float:
    """Operations per output frame of one forward over ``n`` clips stacked in the batch,
    after a first forward (plans, sampling grids)."""
    lq = torch.rand(n, frames, 3, height, width, device=device)
    with torch.inference_mode():
        model(lq)
        with OpCounter() as counter:
            model(lq)
    return sum(counter.ops.values()) / (n * frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="320x180", help="low-res WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--top", type=int, default=12, help="operations listed by count")
    parser.add_argument(
        "--pad-heads",
        action="store_true",
        help="lay attention out as on CUDA (head dim padded to a multiple of 8), on any device",
    )
    parser.add_argument(
        "--require-fused", action="store_true", help="exit 1 if attention ran the math path"
    )
    parser.add_argument(
        "--batch", type=int, default=1, help="also count N clips in one batch against one"
    )
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    device = pick_device(args.device)
    torch.manual_seed(0)
    model = PSRTRecurrent()
    if args.pad_heads:
        for module in model.modules():
            if isinstance(module, WindowAttention):
                module.head_multiple = 8
    engine = Engine(model, device, args.precision)
    lq = torch.rand(args.frames, 3, height, width)
    engine.upscale(lq, engine.fit(0), 0)  # warm-up: caches, kernel selection
    with OpCounter() as counter:
        engine.upscale(lq, engine.fit(0), 0)
    total = sum(counter.ops.values())
    per_frame = total / args.frames
    print(f"{device} {args.precision}, {args.frames} frames of {width}x{height}")
    print(f"ops per output frame: {per_frame:.0f}")
    print(f"MB created per output frame: {counter.bytes_created / args.frames / 1e6:.0f}")
    for name, count in counter.ops.most_common(args.top):
        print(f"  {name:40s} {count / args.frames:8.1f}")
    if args.batch > 1:
        runner = for_precision(model, args.precision)  # as the engine holds it
        counts = {
            n: per_output_frame(runner, n, args.frames, height, width, device)
            for n in (1, args.batch)
        }
        ratio = counts[args.batch] / counts[1]
        print(
            f"ops per output frame, model called directly: batch 1 {counts[1]:.0f}, "
            f"batch {args.batch} {counts[args.batch]:.0f} ({ratio:.3f} of batch 1, "
            f"1/{1 / ratio:.2f})"
        )
    with torch.profiler.profile() as profile:
        engine.upscale(lq[:2], engine.fit(0), 0)
    attention = sorted({e.key for e in profile.key_averages() if "dot_product" in e.key})
    fused = [n for n in attention if any(k in n for k in FUSED_ATTENTION)]
    print(f"attention ops: {', '.join(attention)}")
    if args.require_fused and (not fused or any("math" in n for n in attention)):
        print("FAIL: attention ran PyTorch's math path, not a fused kernel", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
