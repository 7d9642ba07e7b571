"""``vsr eval``: the model on a benchmark dataset, scored as the paper scores it.

Each clip's low-res frames go through ``sequence.upscale_frames`` with the
options ``vsr-upscale`` takes (tiles, chunks, precision), so the figures hold
for what the CLI produces. Beside the model, MATLAB-bicubic upsampling of the
same low-res frames is scored as the baseline every paper prints.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from vsr_cli.config import UpscaleConfig
from vsr_cli.context import RunContext
from vsr_cli.errors import InputError
from vsr_cli.infer.engine import Engine
from vsr_cli.infer.pixels import input_pixels, output_pixels
from vsr_cli.infer.sequence import pick_sizes, upscale_frames
from vsr_cli.models.descriptor import PSRT_RECURRENT
from vsr_cli.quality import metrics
from vsr_cli.quality.dataset import Clip, matched, read_image
from vsr_cli.quality.resize import imresize

SCALE = PSRT_RECURRENT.scale  # the benchmarks' (and the network's) x4


@dataclass(frozen=True)
class ClipScores:
    name: str
    frames: int
    scores: dict[str, float]  # e.g. sr_psnr_y, bicubic_ssim_rgb, sr_temporal_error


@dataclass(frozen=True)
class EvalReport:
    clips: list[ClipScores]
    mean: dict[str, float]  # each score averaged over the clips (each clip counts once)
    tile: int  # the last clip's (sizes chosen per clip from free memory when not given)
    chunk: int


class _Means:
    """Running per-key means."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, values: dict[str, float], prefix: str = "") -> None:
        for key, value in values.items():
            self.sums[prefix + key] = self.sums.get(prefix + key, 0.0) + value
            self.counts[prefix + key] = self.counts.get(prefix + key, 0) + 1

    def result(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] for k in self.sums}


def evaluate(
    clips: list[Clip],
    engine: Engine,
    config: UpscaleConfig,
    context: RunContext,
    crop_border: int = 0,
) -> EvalReport:
    """Score every clip, upscaled as ``config`` says (its tiling and scene cuts); each
    clip's frames are progress for ``context``'s reporter."""
    results, overall = [], _Means()
    tile = chunk = 0
    reporter = context.reporter
    engine.compile_for(sum(len(clip.truth) for clip in clips))
    for clip in clips:
        reporter.start(clip.name, len(clip.truth))
        try:
            scores, tile, chunk = _score_clip(
                clip, engine, config, context.for_file(clip.name), crop_border
            )
        finally:
            reporter.finish(clip.name)
        results.append(ClipScores(clip.name, len(clip.truth), scores))
        overall.add(scores)
    return EvalReport(results, overall.result(), tile, chunk)


def _score_clip(
    clip: Clip, engine: Engine, config: UpscaleConfig, context: RunContext, border: int
) -> tuple[dict[str, float], int, int]:
    pairs: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # index -> (truth, low-res) in flight

    def low_res_frames() -> Iterator[tuple]:
        shape = None
        for i, path in enumerate(clip.truth):
            lr = read_image(clip.low_res[i]) if clip.low_res else None
            pairs[i] = matched(read_image(path), lr, path)
            shape = shape or pairs[i][0].shape
            if pairs[i][0].shape != shape:
                raise InputError(f"{path}: not the size of the clip's first frame")
            yield input_pixels(pairs[i][1]), i

    frames = low_res_frames()
    first = next(frames)
    height, width = first[0].shape[-2:]
    side = SCALE * min(height, width) - 2 * border
    if side < metrics.SSIM_WINDOW:
        raise InputError(
            f"{clip.truth[0]}: {side} px left after the border crop; SSIM needs "
            f"{metrics.SSIM_WINDOW}"
        )
    config = pick_sizes(engine, width, height, replace(config, scale=SCALE))
    means = _Means()
    previous: dict[str, np.ndarray] = {}
    center = len(clip.truth) // 2
    stream = upscale_frames(itertools.chain([first], frames), config, engine, context)
    for sr_frame, index in stream:
        truth, lr = pairs.pop(index)
        size = (truth.shape[1], truth.shape[0])
        current = {
            "truth": truth,
            "sr": output_pixels(sr_frame, 255, size),
            "bicubic": imresize(lr, truth.shape[0], truth.shape[1]),
        }
        for kind in ("sr", "bicubic"):
            values = metrics.frame_scores(current[kind], truth, border)
            means.add(values, f"{kind}_")
            if clip.septuplet and index == center:
                means.add(values, f"center_{kind}_")
        if previous:
            _add_temporal(means, previous, current, border)
        previous = current
        context.reporter.advance(clip.name, 1)
    return means.result(), config.tiling.tile, config.tiling.chunk


def _add_temporal(
    means: _Means, previous: dict[str, np.ndarray], current: dict[str, np.ndarray], border: int
) -> None:
    cut = {k: metrics.crop(v, border) for k, v in current.items()}
    before = {k: metrics.crop(v, border) for k, v in previous.items()}
    for kind in ("sr", "bicubic"):
        means.add(
            {
                f"{kind}_frame_change": metrics.frame_change(before[kind], cut[kind]),
                f"{kind}_temporal_error": metrics.temporal_error(
                    before[kind], cut[kind], before["truth"], cut["truth"]
                ),
            }
        )
    means.add({"truth_frame_change": metrics.frame_change(before["truth"], cut["truth"])})
