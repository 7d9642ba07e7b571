"""Window-ordered attention computes what a plain video Swin block computes.

The reference below follows the authors' order of work, written out: norm, pad,
roll, cut into windows, attention with the bias and a per-window shift mask,
paste back, roll back, crop. The model keeps its tokens in window order and
moves between blocks by gathers; both must agree for any window, shift,
padding and batch, not only the golden model's.
"""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from vsr_cli.models.swin import BlockStack, SwinBlock


def partition(x: torch.Tensor, window: tuple[int, int, int]) -> torch.Tensor:
    """(n, T, H, W, c) -> (n * windows, N, c), windows in (n, t, h, w) order."""
    n, t, h, w, c = x.shape
    wt, wh, ww = window
    x = x.view(n, t // wt, wt, h // wh, wh, w // ww, ww, c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, wt * wh * ww, c)


def unpartition(windows: torch.Tensor, window, n: int, t: int, h: int, w: int) -> torch.Tensor:
    wt, wh, ww = window
    x = windows.view(n, t // wt, h // wh, w // ww, wt, wh, ww, -1)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(n, t, h, w, -1)


def shift_mask(size, window, shift) -> torch.Tensor:
    """(windows, N, N): -100 between tokens that came from different sides of the wrap."""
    regions = torch.zeros(1, *size, 1)
    label = 0
    cuts = [((0, -win), (-win, -s), (-s, None)) for win, s in zip(window, shift)]
    for (a0, a1), (b0, b1), (c0, c1) in itertools.product(*cuts):
        regions[:, a0:a1, b0:b1, c0:c1] = label
        label += 1
    labels = partition(regions, window).squeeze(-1)
    apart = labels[:, :, None] != labels[:, None, :]
    return apart.float() * -100.0


def plain_block(block: SwinBlock, x: torch.Tensor) -> torch.Tensor:
    n, t, h, w, c = x.shape
    attn, window = block.attn, block.window
    shift = tuple(s if 0 < s < win else 0 for s, win in zip(block.shift, window))
    y = block.norm1(x)
    pads = [(-size) % win for size, win in zip((t, h, w), window)]
    y = F.pad(y, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
    size = y.shape[1:4]
    y = torch.roll(y, shifts=tuple(-s for s in shift), dims=(1, 2, 3))
    windows = partition(y, window)
    b, tokens, _ = windows.shape
    heads = attn.num_heads
    qkv = attn.qkv(windows).view(b, tokens, 3, heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    scores = (q * attn.head_dim**-0.5) @ k.transpose(-2, -1)
    table = attn.relative_position_bias_table[attn.relative_position_index.view(-1)]
    scores = scores + table.view(tokens, tokens, heads).permute(2, 0, 1)[None]
    if any(shift):
        mask = shift_mask(size, window, shift)
        scores = (scores.view(n, -1, heads, tokens, tokens) + mask[None, :, None]).flatten(0, 1)
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, tokens, c)
    y = unpartition(attn.proj(out), window, n, *size)
    y = torch.roll(y, shifts=shift, dims=(1, 2, 3))[:, :t, :h, :w]
    x = x + y
    return x + block.mlp(block.norm2(x))


def window_stack(
    n: int,
    size: tuple[int, int, int],
    window: tuple[int, int, int],
    heads: int,
    head_multiple: int | None,
    attention: str = "sdpa",
) -> tuple[BlockStack, torch.Tensor, torch.Tensor]:
    """Four blocks, every other one shifted, with bias tables that matter, as one
    window-ordered stack; an input; and the plain computation's output for it."""
    torch.manual_seed(0)
    dim = 6 * heads
    shift = (window[0] // 2 if window[0] < size[0] else window[0], window[1] // 2, window[2] // 2)
    blocks = [
        SwinBlock(dim, heads, window, (0, 0, 0) if i % 2 == 0 else shift, 2 * dim) for i in range(4)
    ]
    for block in blocks:
        torch.nn.init.normal_(block.attn.relative_position_bias_table, std=1.0)
        block.attn.head_multiple = head_multiple  # head dim 6: padded to 8 with shift channels
        block.attn.attention = attention
    x = torch.randn(n, *size, dim)
    with torch.inference_mode():
        expected = x
        for block in blocks:
            expected = plain_block(block, expected)
    return BlockStack(blocks).eval(), x, expected


@pytest.mark.parametrize(
    ("n", "size", "window", "heads"),
    [
        (1, (3, 16, 24), (3, 8, 8), 2),  # the released window; whole windows
        (2, (3, 20, 36), (3, 8, 8), 3),  # padding on both axes, two clips
        (1, (3, 13, 10), (2, 4, 4), 2),  # padding and a split along time too: 8 classes
        (2, (4, 12, 8), (2, 4, 8), 1),  # one window across, and it is the last one
    ],
)
@pytest.mark.parametrize("head_multiple", [None, 8])  # 8: the CUDA layout, forced here
# Fused kernels write attention out as (windows, N, heads, hd), read as rows in place;
# the math fallback writes (windows, heads, N, hd), transposed first.
@pytest.mark.parametrize("backend", [SDPBackend.FLASH_ATTENTION, SDPBackend.MATH])
def test_window_ordered_blocks_match_the_plain_swin_computation(
    n, size, window, heads, head_multiple, backend
):
    stack, x, expected = window_stack(n, size, window, heads, head_multiple)
    with torch.inference_mode(), sdpa_kernel(backend):
        got = stack(x.reshape(-1, x.shape[-1]), (n, *size)).view(x.shape)
    assert got.shape == x.shape
    assert (got - expected).abs().max().item() < 1e-5
