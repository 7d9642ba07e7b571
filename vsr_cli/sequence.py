"""plan -> infer -> stitch over a stream of frames: the one place chunks are cut and joined.

The video pipeline and ``vsr eval`` both feed frames through here, so what eval
measures is exactly what ``vsr-upscale`` computes (same chunks, tiles, fades).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import torch
from torch import Tensor

from vsr_cli.engine import Engine, free_memory
from vsr_cli.plan import ChunkPlan, auto_sizes, default_fade
from vsr_cli.stitch import ChunkStitcher

Tag = TypeVar("Tag")


def pick_sizes(
    engine: Engine,
    width: int,
    height: int,
    tile: int | None,
    chunk: int | None,
    tile_overlap: int,
    chunk_overlap: int,
) -> tuple[int, int]:
    """(tile, chunk): the ones given, the rest sized from the device's free memory."""
    if tile is not None and chunk is not None:
        return tile, chunk
    auto_tile, auto_chunk = auto_sizes(
        width, height, free_memory(engine.device) // engine.tile_batch, tile_overlap, chunk_overlap
    )
    return (auto_tile if tile is None else tile), (auto_chunk if chunk is None else chunk)


def upscale_frames(
    items: Iterable[tuple[Tensor, Tag] | object],
    engine: Engine,
    tile: int,
    tile_overlap: int,
    chunk: int,
    chunk_overlap: int,
    before_chunk: Callable[[], None] = lambda: None,
) -> Iterator[tuple[Tensor, Tag] | object]:
    """Low-res frames ``((3, h, w) in [0, 1], tag)`` in, ``((3, 4h, 4w) on the device, tag)``
    out, in order. Anything that is not such a pair (a packet of another stream) is handed
    back as soon as it arrives. A tile size that had to shrink (out of memory) stays shrunk
    for the following chunks. ``before_chunk`` may raise to stop before the next chunk.
    """
    plan = ChunkPlan(chunk, chunk_overlap, default_fade(chunk_overlap))
    stitcher = ChunkStitcher(plan.fade)
    frames: dict[int, Tensor] = {}
    tags: dict[int, Tag] = {}
    count, k = 0, 0

    def run_chunk(last: bool) -> Iterator[tuple[Tensor, Tag]]:
        nonlocal tile
        before_chunk()
        window = plan.window(k, count)
        lq = torch.stack([frames[i] for i in range(window.start, window.stop)])
        out, tile = engine.upscale(lq, tile, tile_overlap)
        for index, frame in stitcher.add(window, out, last):
            yield frame, tags.pop(index)
        keep_from = plan.window(k + 1, count).start if not last else count
        for i in [i for i in frames if i < keep_from]:
            del frames[i]

    for item in items:  # (a clip has at least one frame: the reader decodes it at open)
        if not isinstance(item, tuple):
            yield item
            continue
        frames[count], tags[count] = item
        count += 1
        needed = plan.needed(k)
        # Run a chunk once its context has arrived and at least one frame lies past it,
        # so it is known not to be the last.
        while needed is not None and count >= max(needed, (k + 1) * chunk + 1):
            yield from run_chunk(last=False)
            k += 1
            needed = plan.needed(k)
    while k == 0 or (chunk > 0 and k * chunk < count):
        yield from run_chunk(last=chunk <= 0 or (k + 1) * chunk >= count)
        k += 1
