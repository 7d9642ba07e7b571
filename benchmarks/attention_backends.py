"""Each SDPA backend and FlexAttention on the released model's own attention call.

    python benchmarks/attention_backends.py --device cuda --precision fp16
    python benchmarks/attention_backends.py --device cpu --size 128x128

One shifted Swin block's attention (the model's code path: q/k/v as strided views
of the qkv projection, then the output projection) on a 3-frame stack of --size,
in turn:

- forced through each SDPA backend, eager, with the shared (1, heads, N, N) bias
  as mask and shift channels in the edge windows (heads padded on CUDA);
- through FlexAttention (``attention = "flex"``: bias table and region labels read
  in its ``score_mod``, no padding), compiled as the engine would compile the step
  (the first call compiles and is not timed).

A path that refuses these inputs says so instead of a time; the others print ms per
call and the largest difference from PyTorch's math backend, and the fastest is named.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from vsr_cli.bench import synchronize
from vsr_cli.config import PRECISIONS
from vsr_cli.infer.backend import pick_device
from vsr_cli.models.precision import for_precision, resolve_precision
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.models.windows import layout_for

BACKENDS = ("MATH", "FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION")


def timed(
    call: Callable[[], torch.Tensor], device: torch.device, repeats: int
) -> tuple[torch.Tensor, float]:
    """(output of a first, untimed call; ms per call over ``repeats`` more)."""
    out = call()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    synchronize(device)
    return out, (time.perf_counter() - start) / repeats * 1000


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
    attn = block.attn
    layout = layout_for((1, 3, height, width), block.window, block.shift, device)
    plan = attn.plan(layout)
    rows = torch.randn(layout.source.numel(), attn.qkv.in_features, device=device)
    print(
        f"{device} {precision}, {width}x{height}, {rows.shape[0] // layout.window_tokens} "
        f"windows, head width {plan.head_width} (SDPA), {attn.head_dim} (flex)"
    )
    reference = None
    times: dict[str, float] = {}
    with torch.inference_mode():
        for name in BACKENDS:
            try:
                with sdpa_kernel(getattr(SDPBackend, name)):
                    out, ms = timed(lambda: attn(rows, layout, plan), device, args.repeats)
            except RuntimeError as error:
                print(f"  {name:20s} refused: {str(error).splitlines()[0][:100]}")
                continue
            times[name] = ms
            reference = out.float() if reference is None else reference
            diff = (out.float() - reference).abs().max().item()
            print(
                f"  {name:20s} {ms:8.2f} ms per call (qkv, attention, proj)  max |diff| {diff:.1e}"
            )

        attn.attention = "flex"
        flex_plan = attn.plan(layout)
        compiled = torch.compile(attn, dynamic=False, fullgraph=True)
        try:
            start = time.perf_counter()
            compiled(rows, layout, flex_plan)
            synchronize(device)
            print(f"  FLEX (compiled)      compiled in {time.perf_counter() - start:.1f} s")
            out, ms = timed(lambda: compiled(rows, layout, flex_plan), device, args.repeats)
        except Exception as error:  # inductor and Triton raise their own error types
            print(f"  FLEX (compiled)      refused: {str(error).splitlines()[0][:100]}")
        else:
            times["FLEX (compiled)"] = ms
            diff = (out.float() - reference).abs().max().item() if reference is not None else 0
            print(
                f"  {'FLEX (compiled)':20s} {ms:8.2f} ms per call (qkv, attention, proj)  "
                f"max |diff| {diff:.1e}"
            )
    if times:
        fastest = min(times, key=times.__getitem__)
        others = ", ".join(
            f"{k} {v / times[fastest]:.2f}x" for k, v in times.items() if k != fastest
        )
        print(f"fastest: {fastest} ({others or 'nothing else ran'})")


if __name__ == "__main__":
    main()
