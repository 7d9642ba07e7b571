"""Each SDPA backend on the released model's own attention call: runs, time, agreement.

    python benchmarks/attention_backends.py --device cuda --precision fp16
    python benchmarks/attention_backends.py --device cpu --size 128x128

One shifted Swin block's attention (the model's code path: q/k/v as strided views
of the qkv projection, the shared (1, heads, N, N) bias as mask, shift channels in
the edge windows) on a 3-frame stack of --size, forced through each backend in
turn. A backend that refuses these inputs says so instead of a time; the others
print ms per call and the largest difference from PyTorch's math backend.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from vsr_cli.bench import synchronize
from vsr_cli.infer.backend import pick_device
from vsr_cli.models.precision import PRECISIONS, for_precision, resolve_precision
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.models.windows import layout_for

BACKENDS = ("MATH", "FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="320x180", help="low-res WIDTHxHEIGHT")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    device = pick_device(args.device)
    precision = resolve_precision(args.precision, device)
    torch.manual_seed(0)
    model = for_precision(PSRTRecurrent().eval().to(device), precision)
    block = model.patch_align["forward_1"].layers[0].residual_group.blocks[1]  # shifted
    layout = layout_for((1, 3, height, width), block.window, block.shift, device)
    plan = block.attn.plan(layout)
    rows = torch.randn(layout.source.numel(), block.attn.qkv.in_features, device=device)
    print(
        f"{device} {precision}, {width}x{height}, {rows.shape[0] // layout.window_tokens} "
        f"windows, head width {plan.head_width}"
    )
    reference = None
    with torch.inference_mode():
        for name in BACKENDS:
            try:
                with sdpa_kernel(getattr(SDPBackend, name)):
                    out = block.attn(rows, layout, plan)
                    synchronize(device)
                    start = time.perf_counter()
                    for _ in range(args.repeats):
                        block.attn(rows, layout, plan)
                    synchronize(device)
            except RuntimeError as error:
                print(f"  {name:20s} refused: {str(error).splitlines()[0][:100]}")
                continue
            ms = (time.perf_counter() - start) / args.repeats * 1000
            reference = out.float() if reference is None else reference
            diff = (out.float() - reference).abs().max().item()
            print(
                f"  {name:20s} {ms:8.2f} ms per call (qkv, attention, proj)  max |diff| {diff:.1e}"
            )


if __name__ == "__main__":
    main()
