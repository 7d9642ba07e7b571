"""Window layouts: the tokens of a padded, shifted frame stack as rows, window after window.

A Swin block only needs its tokens grouped by window; everything else it does
(LayerNorm, linear layers, MLP, residual adds) acts on each token alone. So the
step transformer keeps its tokens as a ``(rows, c)`` matrix in window order,
and going from one block's windows to the next block's (shifted) windows is a
single row gather with a precomputed index: padding, the cyclic shift and the
window partition cost one operation instead of a pad, two rolls and a copy per
window class.

With a shift, only the last window along a shifted axis mixes tokens from both
sides of the wrap-around, and the authors keep those pairs apart with -100 on
their attention logits. Here that penalty comes from two extra channels of q
and k per split axis, set only in those edge windows (rows ordered so that
they come last, as one range): a token on side ``l`` gets ``(l, 1 - l)`` in q
and ``(1 - l, l) * penalty`` in k, whose product is exactly 0 for a pair on
one side and ``penalty`` across. So every window shares one mask (the
relative-position bias) and one attention call. Pairs apart along two axes
get twice the penalty instead of once; at -100 either weight is below 1e-43.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

Triple = tuple[int, int, int]
Grid = tuple[int, int, int, int]  # (n, t, h, w)


@dataclass(frozen=True, eq=False)
class WindowLayout:
    """Rows in window order for one (grid, window, shift); compared by identity (cached)."""

    padded: Grid  # the grid rounded up to whole windows
    window_tokens: int
    source: Tensor  # (rows,) int64: each row's token, as a flat index into the padded grid
    valid: Tensor | None  # (rows, 1) float: 0 for padding tokens; None when there are none
    first_edge: int  # windows from here on hold tokens from both sides of a shift
    sides: Tensor | None  # (edge windows, N, split axes) 0/1 per token; None: no split

    @property
    def split_axes(self) -> int:
        return 0 if self.sides is None else self.sides.shape[-1]


def _sides(window: Triple, shift: Triple, last: tuple[bool, ...], splits: list[bool]) -> Tensor:
    """(N, split axes) side of each token of a window along each split axis: 1 for the
    tokens that wrapped around (the last ``shift`` positions of a last window)."""
    columns = []
    for axis, (win, is_split, is_last) in enumerate(zip(window, splits, last)):
        if is_split:
            side = torch.zeros(win) if not is_last else (torch.arange(win) >= win - shift[axis])
            shape = [1, 1, 1]
            shape[axis] = win
            columns.append(side.float().view(shape).expand(window).flatten())
    return torch.stack(columns, 1)


def build_layout(grid: Grid, window: Triple, shift: Triple, device: torch.device) -> WindowLayout:
    """The rows of ``grid`` (n, t, h, w) padded to whole windows, rolled back by ``shift``
    (as the authors' ``torch.roll(x, -shift)``) and cut into windows."""
    n, *size = grid
    padded = tuple(-(-s // win) * win for s, win in zip(size, window))
    counts = tuple(p // win for p, win in zip(padded, window))
    wt, wh, ww = window
    flat = torch.arange(n * padded[0] * padded[1] * padded[2]).view(n, *padded)
    flat = torch.roll(flat, shifts=tuple(-s for s in shift), dims=(1, 2, 3))
    windows = flat.view(n, counts[0], wt, counts[1], wh, counts[2], ww)
    windows = windows.permute(1, 3, 5, 0, 2, 4, 6).reshape(*counts, n, wt * wh * ww)

    # Along an axis whose shift splits the last window into two regions, that window is
    # an edge window; interior windows go first, edge windows after them.
    splits = [0 < s < win for s, win in zip(shift, window)]
    interior, edge, sides = [], [], []
    for index in itertools.product(*(range(c) for c in counts)):
        last = tuple(split and i == c - 1 for split, i, c in zip(splits, index, counts))
        if any(last):
            edge.append(windows[index])  # (n, N)
            sides.append(_sides(window, shift, last, splits)[None].expand(n, -1, -1))
        else:
            interior.append(windows[index])
    by_window = [torch.stack(w, 1).flatten(0, 1) for w in (interior, edge) if w]
    source = torch.cat(by_window).flatten()  # windows n-major within each kind

    inside = _on_padded_grid(torch.ones(n, *size), (n, *padded))[source]  # type: ignore[arg-type]
    return WindowLayout(
        padded=(n, *padded),
        window_tokens=wt * wh * ww,
        source=source.to(device),
        valid=None if bool(inside.all()) else inside[:, None].to(device),
        first_edge=n * len(interior),
        sides=torch.stack(sides, 1).flatten(0, 1).to(device) if sides else None,
    )


def _on_padded_grid(values: Tensor, padded: Grid) -> Tensor:
    """(n, t, h, w) values -> flat over the ``padded`` grid, 0 on the padding."""
    pads = [0, 0, 0, 0, 0, 0]
    for axis in range(3):
        pads[5 - 2 * axis] = padded[axis + 1] - values.shape[axis + 1]
    return F.pad(values, pads).flatten()


def _row_of(layout: WindowLayout) -> Tensor:
    """(padded tokens,) the row of ``layout`` that holds each token of the padded grid."""
    row_of = torch.empty_like(layout.source)
    row_of[layout.source] = torch.arange(layout.source.numel(), device=layout.source.device)
    return row_of


def frame_to_layout(layout: WindowLayout, size: Triple) -> Tensor:
    """Row index into an unpadded (n, t, h, w) grid for each row of ``layout``; padding
    rows take token 0 (their values never reach a real token: see ``valid``)."""
    frame = torch.arange(
        layout.padded[0] * size[0] * size[1] * size[2], device=layout.source.device
    )
    return _on_padded_grid(frame.view(layout.padded[0], *size), layout.padded)[layout.source]


def layout_to_layout(old: WindowLayout, new: WindowLayout) -> Tensor:
    """Row index into ``old`` for each row of ``new`` (the same padded grid)."""
    return _row_of(old)[new.source]


def layout_to_frame(layout: WindowLayout, size: Triple) -> Tensor:
    """Row index into ``layout`` for each token of the unpadded (n, t, h, w) grid."""
    rows = _row_of(layout).view(layout.padded)
    return rows[:, : size[0], : size[1], : size[2]].flatten()


# Every block, stage and branch of a model shares these; a video has a few tile shapes,
# a batch of videos a few more (block stacks' plans hold on to theirs: swin.PLANS_KEPT).
_CACHE_SIZE = 64


@functools.lru_cache(maxsize=_CACHE_SIZE)
def layout_for(grid: Grid, window: Triple, shift: Triple, device: torch.device) -> WindowLayout:
    """``build_layout``, cached."""
    return build_layout(grid, window, shift, device)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def gather_for(old: WindowLayout | None, new: WindowLayout | None, size: Triple) -> Tensor:
    """Row index taking tokens from ``old`` order to ``new`` (None: unpadded frame order)."""
    if old is None and new is not None:
        return frame_to_layout(new, size)
    if new is None and old is not None:
        return layout_to_frame(old, size)
    if old is not None and new is not None:
        return layout_to_layout(old, new)
    raise ValueError("frame order to frame order needs no gather")


@functools.lru_cache(maxsize=_CACHE_SIZE)
def sign_channels(
    layout: WindowLayout, head_dim: int, width: int, penalty: float, dtype: torch.dtype
) -> Tensor:
    """(edge windows, N, 3, 1, width) to add to the edge windows' q, k, v: channels
    ``head_dim`` onwards of q and k say each token's side (see the module docstring)."""
    assert layout.sides is not None
    sides = layout.sides.float()
    q = torch.stack((sides, 1 - sides), -1).flatten(-2)  # (edge windows, N, 2 * axes)
    k = torch.stack((1 - sides, sides), -1).flatten(-2) * penalty
    term = sides.new_zeros(*sides.shape[:2], 3, 1, width)
    term[:, :, 0, 0, head_dim : head_dim + q.shape[-1]] = q
    term[:, :, 1, 0, head_dim : head_dim + k.shape[-1]] = k
    return term.to(dtype)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def shift_regions(layout: WindowLayout) -> Tensor | None:
    """(windows, N) int32 label of each token's region in a shifted layout, for attention
    that masks by comparing labels (FlexAttention): tokens of one window with different
    labels came from different sides of the wrap-around. None: no axis is split."""
    if layout.sides is None:
        return None
    weights = 2 ** torch.arange(layout.split_axes, device=layout.sides.device)
    edge = (layout.sides * weights).sum(-1).to(torch.int32)  # (edge windows, N)
    interior = edge.new_zeros(layout.first_edge, layout.window_tokens)
    return torch.cat((interior, edge))
