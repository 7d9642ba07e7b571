"""Window layouts: the tokens of a padded, shifted frame stack as rows, window after window.

A Swin block only needs its tokens grouped by window; everything else it does
(LayerNorm, linear layers, MLP, residual adds) acts on each token alone. So the
step transformer keeps its tokens as a ``(rows, c)`` matrix in window order,
and going from one block's windows to the next block's (shifted) windows is a
single row gather with a precomputed index: padding, the cyclic shift and the
window partition cost one operation instead of a pad, two rolls and a copy per
window class.

With a shift, only the last window along a shifted axis mixes tokens from both
sides of the wrap-around, and those pairs must not attend to each other. Rows
are ordered so that the windows of the most common class (all of them
interior for any real frame size) come first, as one range that shares a single
mask; the other windows follow as a second range with a mask per window.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import Tensor

Triple = tuple[int, int, int]
Grid = tuple[int, int, int, int]  # (n, t, h, w)


@dataclass(frozen=True, eq=False)
class WindowGroup:
    """Windows ``start:stop`` of a layout, and which of their token pairs are apart.

    ``apart`` is None when no pair is; else a bool ``(1 or stop - start, 1, N, N)``:
    one pattern shared by the group, or one per window.
    """

    start: int
    stop: int
    apart: Tensor | None


@dataclass(frozen=True, eq=False)
class WindowLayout:
    """Rows in window order for one (grid, window, shift); compared by identity (cached)."""

    padded: Grid  # the grid rounded up to whole windows
    window_tokens: int
    source: Tensor  # (rows,) int64: each row's token, as a flat index into the padded grid
    valid: Tensor | None  # (rows, 1) float: 0 for padding tokens; None when there are none
    groups: tuple[WindowGroup, ...]


def _labels(window: Triple, shift: Triple, last: tuple[bool, ...]) -> Tensor:
    """Region of each token of a window (N,); tokens of different regions must not attend.

    Along a shifted axis the last window holds the first ``win - shift`` positions
    and, after them, tokens that wrapped around from the start.
    """
    labels = torch.zeros(window, dtype=torch.long)
    for axis, (win, is_last) in enumerate(zip(window, last)):
        if is_last:
            side = (torch.arange(win) >= win - shift[axis]).long()
            shape = [1, 1, 1]
            shape[axis] = win
            labels = labels * 2 + side.view(shape)
    return labels.flatten()


def _apart(window: Triple, shift: Triple, last: tuple[bool, ...]) -> Tensor | None:
    if not any(last):
        return None
    labels = _labels(window, shift, last)
    return labels[:, None] != labels[None, :]


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

    # Windows of one class share a mask: a window's class says along which axes it is
    # the last one and the shift splits it into two regions.
    splits = [0 < s < win for s, win in zip(shift, window)]
    by_class: dict[tuple[bool, ...], list[Tensor]] = {}
    for index in itertools.product(*(range(c) for c in counts)):
        last = tuple(split and i == c - 1 for split, i, c in zip(splits, index, counts))
        by_class.setdefault(last, []).append(windows[index])  # (n, N)
    main, *others = sorted(by_class, key=lambda last: (-len(by_class[last]), last))

    def rows_of(last: tuple[bool, ...]) -> Tensor:
        return torch.stack(by_class[last], 1).flatten(0, 1)  # (n * windows, N), n-major

    rows = [rows_of(main)]
    pattern = _apart(window, shift, main)
    groups = [WindowGroup(0, len(rows[0]), None if pattern is None else pattern[None, None])]
    if others:
        rows += [rows_of(last) for last in others]
        patterns = [
            _apart(window, shift, last)[None].expand(len(r), -1, -1)  # type: ignore[index]
            for last, r in zip(others, rows[1:])
        ]
        apart = torch.cat(patterns)[:, None]
        groups.append(WindowGroup(len(rows[0]), len(rows[0]) + len(apart), apart))
    source = torch.cat(rows).flatten()

    position = torch.stack(torch.unravel_index(source, (n, *padded)), 1)[:, 1:]
    inside = (position < torch.tensor(size)).all(1)
    return WindowLayout(
        padded=(n, *padded),
        window_tokens=wt * wh * ww,
        source=source.to(device),
        valid=None if bool(inside.all()) else inside.float()[:, None].to(device),
        groups=tuple(
            WindowGroup(g.start, g.stop, None if g.apart is None else g.apart.to(device))
            for g in groups
        ),
    )


def frame_to_layout(layout: WindowLayout, size: Triple) -> Tensor:
    """Row index into an unpadded (n, t, h, w) grid for each row of ``layout``; padding
    rows take token 0 (their values never reach a real token: see ``valid``)."""
    n, *padded = layout.padded
    position = torch.stack(torch.unravel_index(layout.source, (n, *padded)), 1)
    inside = (position[:, 1:] < torch.tensor(size, device=position.device)).all(1)
    index = ((position[:, 0] * size[0] + position[:, 1]) * size[1] + position[:, 2]) * size[
        2
    ] + position[:, 3]
    return torch.where(inside, index, 0)


def layout_to_layout(old: WindowLayout, new: WindowLayout) -> Tensor:
    """Row index into ``old`` for each row of ``new`` (the same padded grid)."""
    row_of = torch.empty_like(old.source)
    row_of[old.source] = torch.arange(old.source.numel(), device=old.source.device)
    return row_of[new.source]


def layout_to_frame(layout: WindowLayout, size: Triple) -> Tensor:
    """Row index into ``layout`` for each token of the unpadded (n, t, h, w) grid."""
    n, *padded = layout.padded
    row_of = torch.empty_like(layout.source)
    row_of[layout.source] = torch.arange(layout.source.numel(), device=layout.source.device)
    return row_of.view(n, *padded)[:, : size[0], : size[1], : size[2]].flatten()


_LAYOUTS: dict[tuple, WindowLayout] = {}
_GATHERS: dict[tuple, Tensor] = {}
_CACHE_LIMIT = 64  # entries; a video has a few tile shapes, a batch of videos a few more


def layout_for(grid: Grid, window: Triple, shift: Triple, device: torch.device) -> WindowLayout:
    """``build_layout``, cached: every block, stage and branch of a model shares them."""
    key = (grid, window, shift, device)
    if key not in _LAYOUTS:
        if len(_LAYOUTS) >= _CACHE_LIMIT:
            _LAYOUTS.clear()
            _GATHERS.clear()
        _LAYOUTS[key] = build_layout(grid, window, shift, device)
    return _LAYOUTS[key]


def gather_for(old: WindowLayout | None, new: WindowLayout | None, size: Triple) -> Tensor:
    """Row index taking tokens from ``old`` order to ``new`` (None: unpadded frame order)."""
    key = (old, new, size)
    if key not in _GATHERS:
        if old is None and new is not None:
            _GATHERS[key] = frame_to_layout(new, size)
        elif new is None and old is not None:
            _GATHERS[key] = layout_to_frame(old, size)
        elif old is not None and new is not None:
            _GATHERS[key] = layout_to_layout(old, new)
        else:
            raise ValueError("frame order to frame order needs no gather")
    return _GATHERS[key]
