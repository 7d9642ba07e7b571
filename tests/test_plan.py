"""Chunk and tile arithmetic, with plain numbers."""

from __future__ import annotations

import numpy as np
import pytest

from vsr_cli.infer.plan import ChunkPlan, Window, auto_sizes, blend_weights, split


@pytest.mark.parametrize("uniform", [False, True])
@pytest.mark.parametrize(
    ("length", "core", "overlap"),
    [(160, 64, 16), (1080, 256, 16), (180, 64, 16), (64, 64, 8), (70, 64, 0), (200, 0, 9)],
)
def test_cores_tile_the_axis_and_weights_sum_to_one(length, core, overlap, uniform):
    windows = split(length, core, overlap, minimum=64, align=8, uniform=uniform)
    if uniform:
        assert len({w.size for w in windows}) == 1 and windows[-1].stop == length
    assert windows[0].core_start == 0 and windows[-1].core_stop == length
    for a, b in zip(windows, windows[1:]):
        assert a.core_stop == b.core_start
    for w in windows:
        assert w.start % 8 == 0 and w.size >= min(64, length)
        assert w.start <= w.core_start - min(overlap, w.core_start) + 7
        assert w.stop >= min(length, w.core_stop + overlap)
        if core and w.size < length:  # (one window reading the whole axis owns all of it)
            assert w.core_stop - w.core_start <= core
    for fade in (0, overlap // 2, overlap):
        total = np.zeros(length * 4)
        for w in windows:
            total[w.start * 4 : w.stop * 4] += blend_weights(w, length, fade, scale=4)
        np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_interior_is_trusted_and_the_fade_sits_mid_overlap():
    left, right = split(128, 64, 16)
    w = blend_weights(left, 128, fade=8)
    # 1 up to 4 before the boundary at 64, 0 from 4 after it, linear between.
    assert min(w[:60]) == 1 and max(w[68 - left.start :]) == 0
    assert 0 < w[63] < 1 and abs(w[63] + blend_weights(right, 128, 8)[63 - right.start] - 1) < 1e-6


def test_chunks_stream_without_knowing_the_length():
    plan = ChunkPlan(size=8, overlap=4, fade=2)
    assert plan.window(0, 100) == Window(0, 12, 0, 8)
    assert plan.window(1, 100) == Window(4, 20, 8, 16)
    assert plan.window(2, 19) == Window(12, 19, 16, 19)
    assert plan.needed(0) == 12
    assert ChunkPlan(0, 4, 2).window(0, 50) == Window(0, 50, 0, 50)


def test_auto_sizes_prefer_context_and_shrink_to_fit():
    gib = 2**30
    assert auto_sizes(320, 180, 70 * gib, 16, 4) == (0, 60)  # whole frame, long chunks
    tile, chunk = auto_sizes(1920, 1080, 22 * gib, 16, 4)  # a 24 GB card with 1080p
    assert 0 < tile < 1920 and chunk >= 8
    # The chunk's full-frame buffers at x4 (input, canvas, stitched output: 396 bytes per
    # low-res pixel a frame) must fit beside the tile's model memory, not only the latter.
    canvas = (chunk + 8) * 1920 * 1080 * 396
    assert canvas < 22 * gib - (tile + 32) ** 2 * 16 * 1024
    assert auto_sizes(1920, 1080, gib // 4, 16, 4) == (64, 8)  # the floor
    # x2 output holds its full frames at x2 (tiles are resized as they come): a quarter
    # of those bytes, so the same card runs bigger tiles (more context) at 1080p -> 4K.
    assert (tile, chunk) == (256, 12)
    assert auto_sizes(1920, 1080, 22 * gib, 16, 4, scale=2) == (512, 8)
