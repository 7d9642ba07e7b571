"""plan -> infer -> stitch over a stream of frames: the one place chunks are cut and joined.

The video pipeline and ``vsr eval`` both feed frames through here, so what eval
measures is exactly what ``vsr-upscale`` computes (same chunks, tiles, fades).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor

from vsr_cli.config import UpscaleConfig
from vsr_cli.context import RunContext
from vsr_cli.infer.backend import free_memory
from vsr_cli.infer.engine import Engine, Fit
from vsr_cli.infer.pixels import unit_range
from vsr_cli.infer.plan import ChunkPlan, auto_chunk_batch, auto_sizes, default_fade
from vsr_cli.infer.stitch import ChunkStitcher

Tag = TypeVar("Tag")


def pick_sizes(engine: Engine, width: int, height: int, config: UpscaleConfig) -> UpscaleConfig:
    """``config`` with its tile, chunk and chunk batch given: those left to ``None`` sized
    from the device's free memory (side-by-side chunks only on a GPU: a CPU gains nothing).
    From here on the sizes are read, never decided again."""
    tiling, scale = config.tiling, config.scale
    if None not in (tiling.tile, tiling.chunk, tiling.chunk_batch):
        return config
    budget = free_memory(engine.device) // engine.tile_batch
    overlaps = (tiling.tile_overlap, tiling.chunk_overlap)
    tile, chunk = auto_sizes(width, height, budget, *overlaps, scale)
    sized = replace(
        tiling,
        tile=tile if tiling.tile is None else tiling.tile,
        chunk=chunk if tiling.chunk is None else tiling.chunk,
    )
    if sized.chunk_batch is None:
        fits = auto_chunk_batch(width, height, sized, budget, scale)
        sized = replace(sized, chunk_batch=fits if engine.device.type == "cuda" else 1)
    return replace(config, tiling=sized)


class _Scene:
    """The chunks of one run of frames that the recurrence may cross (a clip, or a scene
    between two cuts): frames come in, finished frames go out. Chunks known not to be the
    last wait until ``chunk_batch`` of them are ready, then run side by side."""

    def __init__(self, runner: _Runner) -> None:
        self.runner = runner
        self.plan = runner.plan
        self.stitcher = ChunkStitcher(self.plan.fade)
        self.frames: dict[int, Tensor] = {}
        self.tags: dict[int, object] = {}
        self.count = self.k = 0  # frames arrived; the first chunk not yet run
        self.ready = 0  # chunks from k on that can run

    def add(self, pixels: Tensor, tag: object) -> Iterator[tuple[Tensor, object]]:
        self.frames[self.count], self.tags[self.count] = pixels, tag
        self.count += 1
        # A chunk can run once its context has arrived and at least one frame lies past
        # it, so it is known not to be the last.
        size = self.plan.size
        while (needed := self.plan.needed(self.k + self.ready)) is not None and (
            self.count >= max(needed, (self.k + self.ready + 1) * size + 1)
        ):
            self.ready += 1
            if self.ready == self.runner.chunk_batch:
                yield from self._run(self.ready, last=None)

    def finish(self) -> Iterator[tuple[Tensor, object]]:
        size = self.plan.size
        left = (1 if size <= 0 else math.ceil(self.count / size)) - self.k
        last = self.k + left - 1
        while self.count and left > 0:
            batch = min(left, self.runner.chunk_batch)
            yield from self._run(batch, last)
            left -= batch

    def _run(self, batch: int, last: int | None) -> Iterator[tuple[Tensor, object]]:
        """Chunks ``k`` to ``k + batch - 1`` side by side (``last``: the scene's last)."""
        ks = range(self.k, self.k + batch)
        windows = [self.plan.window(k, self.count) for k in ks]
        clips = [torch.stack([self.frames[i] for i in range(w.start, w.stop)]) for w in windows]
        for k, window, out in zip(ks, windows, self.runner.run(clips), strict=True):
            for index, frame in self.stitcher.add(window, out, k == last):
                yield frame, self.tags.pop(index)
        if self.runner.on_chunk is not None:
            self.runner.on_chunk()
        self.k += batch
        self.ready = max(0, self.ready - batch)
        keep_from = self.count if ks[-1] == last else self.plan.keep_from(ks[-1])
        for i in [i for i in self.frames if i < keep_from]:
            del self.frames[i]


class _Runner:
    """The engine, with what fits (``Fit``: sizes that had to shrink when memory ran out
    stay shrunk for the following chunks of this run)."""

    def __init__(
        self,
        engine: Engine,
        config: UpscaleConfig,
        plan: ChunkPlan,
        context: RunContext,
        on_chunk: Callable[[], None] | None,
    ) -> None:
        tiling = config.tiling
        self.on_chunk = on_chunk
        self.engine, self.tile_overlap = engine, tiling.tile_overlap
        self.plan, self.scale, self.context = plan, config.scale, context
        self.fit: Fit = engine.fit(tiling.tile or 0, tiling.chunk_batch or 1)
        self._said = False  # the first pass is announced: nothing comes out before it ends

    @property
    def chunk_batch(self) -> int:
        return self.fit.chunk_batch

    def run(self, clips: list[Tensor]) -> list[Tensor]:
        """Each clip's output; clips of one length run side by side."""
        self.context.check_cancel()
        if len({len(c) for c in clips}) > 1:  # a scene shorter than a chunk's reach
            return [out for clip in clips for out in self.run([clip])]
        lq = torch.stack(clips)
        if not self._said:
            self._said = True
            self.context.status(self._first_pass(lq))
        out = self.engine.upscale(lq, self.fit, self.tile_overlap, self.scale, self.context)
        return list(out.unbind(0))

    def _first_pass(self, lq: Tensor) -> str:
        n, t = lq.shape[:2]
        what = (
            f"the first chunk ({t} frames)"
            if n == 1
            else (f"the first {n} chunks side by side ({n} x {t} frames)")
        )
        extra = self.engine.first_time(tuple(lq.shape))
        return f"computing {what}" + (f"; {extra}" if extra else "")


def upscale_frames(
    items: Iterable[tuple[Tensor, Tag] | object],
    config: UpscaleConfig,
    engine: Engine,
    context: RunContext | None = None,
    on_chunk: Callable[[], None] | None = None,
) -> Iterator[tuple[Tensor, Tag] | object]:
    """Low-res frames ``((3, h, w) uint8 or float in [0, 1], tag)`` in, ``((3, scale*h,
    scale*w) float on the device, tag)`` out, in order, cut as ``config.tiling`` says (sizes
    given: see ``pick_sizes``). Anything that is not such a pair (a packet of another
    stream) is handed back as soon as it arrives. Before each chunk, a cancelled
    ``context`` stops the run; warnings go to it. With ``config.scene_cuts``, each scene is
    run as if the video began and ended there: chunks start at the cut and the recurrence
    never carries one scene's features into another. ``on_chunk`` is called once a pass's
    frames have all been handed out: progress counts them then, a burst at a time.
    """
    tiling = config.tiling
    if None in (tiling.tile, tiling.chunk):
        raise ValueError("upscale_frames needs a tile and chunk size (see pick_sizes)")
    fade = default_fade(tiling.chunk_overlap)
    plan = ChunkPlan(tiling.chunk, tiling.chunk_overlap, fade, uniform=True)
    runner = _Runner(engine, config, plan, context or RunContext(), on_chunk)
    detector = CutDetector() if config.scene_cuts else None
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
