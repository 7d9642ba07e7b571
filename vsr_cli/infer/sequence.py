"""plan -> infer -> stitch over a stream of frames: the one place chunks are cut and joined.

The video pipeline and ``vsr eval`` both feed frames through here, so what eval
measures is exactly what ``vsr-upscale`` computes (same chunks, tiles, fades).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor

from vsr_cli.context import RunContext
from vsr_cli.infer.backend import free_memory
from vsr_cli.infer.engine import Engine
from vsr_cli.infer.pixels import unit_range
from vsr_cli.infer.plan import ChunkPlan, Tiling, auto_sizes, default_fade
from vsr_cli.infer.stitch import ChunkStitcher

Tag = TypeVar("Tag")


def pick_sizes(engine: Engine, width: int, height: int, tiling: Tiling, scale: int) -> Tiling:
    """``tiling`` with its tile and chunk given, those left to ``None`` sized from the
    device's free memory."""
    if tiling.tile is not None and tiling.chunk is not None:
        return tiling
    budget = free_memory(engine.device) // engine.tile_batch
    tile, chunk = auto_sizes(
        width, height, budget, tiling.tile_overlap, tiling.chunk_overlap, scale
    )
    return replace(
        tiling,
        tile=tile if tiling.tile is None else tiling.tile,
        chunk=chunk if tiling.chunk is None else tiling.chunk,
    )


class _Scene:
    """The chunks of one run of frames that the recurrence may cross (a clip, or a scene
    between two cuts): frames come in, finished frames go out."""

    def __init__(self, run: _Runner) -> None:
        self.run = run
        self.plan = run.plan
        self.stitcher = ChunkStitcher(self.plan.fade)
        self.frames: dict[int, Tensor] = {}
        self.tags: dict[int, object] = {}
        self.count = self.k = 0

    def add(self, pixels: Tensor, tag: object) -> Iterator[tuple[Tensor, object]]:
        self.frames[self.count], self.tags[self.count] = pixels, tag
        self.count += 1
        chunk, needed = self.plan.size, self.plan.needed(self.k)
        # Run a chunk once its context has arrived and at least one frame lies past it,
        # so it is known not to be the last.
        while needed is not None and self.count >= max(needed, (self.k + 1) * chunk + 1):
            yield from self._chunk(last=False)
            self.k += 1
            needed = self.plan.needed(self.k)

    def finish(self) -> Iterator[tuple[Tensor, object]]:
        chunk = self.plan.size
        while self.count and (self.k == 0 or (chunk > 0 and self.k * chunk < self.count)):
            yield from self._chunk(last=chunk <= 0 or (self.k + 1) * chunk >= self.count)
            self.k += 1

    def _chunk(self, last: bool) -> Iterator[tuple[Tensor, object]]:
        window = self.plan.window(self.k, self.count)
        lq = torch.stack([self.frames[i] for i in range(window.start, window.stop)])
        for index, frame in self.stitcher.add(window, self.run.upscale(lq), last):
            yield frame, self.tags.pop(index)
        keep_from = self.plan.window(self.k + 1, self.count).start if not last else self.count
        for i in [i for i in self.frames if i < keep_from]:
            del self.frames[i]


class _Runner:
    """The engine with the tile size that fits: one that had to shrink (out of memory)
    stays shrunk for the following chunks."""

    def __init__(
        self, engine: Engine, tiling: Tiling, plan: ChunkPlan, scale: int, context: RunContext
    ) -> None:
        self.engine, self.tile, self.tile_overlap = engine, tiling.tile, tiling.tile_overlap
        self.plan, self.scale, self.context = plan, scale, context

    def upscale(self, lq: Tensor) -> Tensor:
        self.context.check_cancel()
        out, self.tile = self.engine.upscale(
            lq, self.tile, self.tile_overlap, self.scale, self.context.warn
        )
        return out


def upscale_frames(
    items: Iterable[tuple[Tensor, Tag] | object],
    engine: Engine,
    tiling: Tiling,
    scale: int | None = None,
    scene_cuts: bool = False,
    context: RunContext | None = None,
) -> Iterator[tuple[Tensor, Tag] | object]:
    """Low-res frames ``((3, h, w) uint8 or float in [0, 1], tag)`` in, ``((3, scale*h,
    scale*w) float on the device, tag)`` out, in order, cut as ``tiling`` says (sizes
    given: see ``pick_sizes``). Anything that is not such a pair (a packet of another
    stream) is handed back as soon as it arrives. Before each chunk, a cancelled
    ``context`` stops the run; warnings go to it. With ``scene_cuts``, each scene is run as
    if the video began and ended there: chunks start at the cut and the recurrence never
    carries one scene's features into another.
    """
    if tiling.tile is None or tiling.chunk is None:
        raise ValueError("upscale_frames needs a tile and chunk size (see pick_sizes)")
    plan = ChunkPlan(tiling.chunk, tiling.chunk_overlap, default_fade(tiling.chunk_overlap))
    scale = scale or engine.descriptor.scale
    runner = _Runner(engine, tiling, plan, scale, context or RunContext())
    detector = CutDetector() if scene_cuts else None
    scene = _Scene(runner)
    for item in items:
        if not isinstance(item, tuple):
            yield item
            continue
        pixels, tag = item
        if detector is not None and detector.is_cut(pixels):
            yield from scene.finish()
            scene = _Scene(runner)
        yield from scene.add(pixels, tag)
    yield from scene.finish()


class CutDetector:
    """Scene cuts from the low-res frames, cheaply: each frame shrunk to a 32x18 thumbnail.
    A cut is a frame whose thumbnail differs from the previous one by more than
    ``MIN_CHANGE`` (mean absolute difference, on [0, 1]) and by ``OVER_RECENT`` times the
    recent frames' mean change (a fast pan changes a lot every frame; a cut, once)."""

    MIN_CHANGE = 0.1
    OVER_RECENT = 3.0
    RECENT = 8

    def __init__(self) -> None:
        self._previous: Tensor | None = None
        self._recent: list[float] = []

    def is_cut(self, pixels: Tensor) -> bool:
        """Whether ``pixels`` (the next frame, (3, h, w) as the engine takes it) begins a
        new scene."""
        thumb = F.adaptive_avg_pool2d(unit_range(pixels)[None], (18, 32))[0]
        previous, self._previous = self._previous, thumb
        if previous is None:
            return False
        change = float((thumb - previous).abs().mean())
        # Judged against at least two earlier changes (the cut's own stays in the history,
        # so fast motion or a strobe right after a cut is not a cut at every frame).
        usual = sum(self._recent) / len(self._recent) if len(self._recent) >= 2 else math.inf
        self._recent = [*self._recent[-(self.RECENT - 1) :], change]
        return change > self.MIN_CHANGE and change > self.OVER_RECENT * usual
