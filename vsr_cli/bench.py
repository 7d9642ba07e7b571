"""Measuring speed: model-only and end-to-end frames per second, FLOP rate, memory.

Random weights of the chosen configuration are as fast as trained ones, so a
benchmark needs no download. The first pass is a warm-up (kernel selection,
mask caches, compilation) and is reported separately.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from vsr_cli.config import Tiling, UpscaleConfig
from vsr_cli.context import RunContext
from vsr_cli.infer.engine import Engine
from vsr_cli.models.precision import Precision
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.run.upscale import upscale_video

# Dense fp16/bf16 tensor-core peaks (TFLOP/s), by device name, for the share of peak.
PEAK_TFLOPS = {
    "H200": 989.0,
    "H100 SXM": 989.0,
    "H100 PCIe": 756.0,
    "H100": 989.0,
    "A100": 312.0,
    "L40S": 362.0,
    "RTX 4090": 165.0,
    "RTX A5000": 111.0,
}


@dataclass(frozen=True)
class BenchSettings:
    """What ``vsr bench`` times: random frames of ``size`` (low-res width, height)."""

    size: tuple[int, int] = (320, 180)
    frames: int = 10
    repeats: int = 3
    pipeline: bool = False  # also the whole pipeline on a synthetic clip
    compile: bool = False  # compiled, against eager in the same run
    cuda_graphs: bool = False  # whole chunks replayed as CUDA graphs, against eager
    tile: int = 0
    tile_overlap: int = 16
    tile_batch: int = 1


@dataclass(frozen=True)
class BenchResult:
    device: str
    precision: str
    size: tuple[int, int]
    frames: int
    tile: int
    tile_batch: int
    compiled: bool
    cuda_graphs: bool
    warmup_seconds: float
    ms_per_frame: float
    tflops: float
    peak_share: float | None
    peak_memory_gib: float | None
    end_to_end_fps: float | None
    eager_ms_per_frame: float | None  # with --compile: the same run uncompiled
    compile_seconds: float | None  # with --compile: extra warm-up over the eager one
    break_even_frames: float | None  # with --compile: clip length where compiling pays

    @property
    def fps(self) -> float:
        return 1000.0 / self.ms_per_frame


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return device.type


def _peak(device: torch.device, precision: str) -> float | None:
    if device.type != "cuda" or precision == "fp32":
        return None
    name = device_name(device)
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def write_synthetic_clip(path: Path, frames: int, width: int, height: int) -> None:
    """A drifting pattern with some noise, H.264 at 25 fps: cheap to make, not trivial to code."""
    rng = np.random.default_rng(0)
    x = np.arange(width)[None, :]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            wave = np.sin((x + 2 * i) / 9.0)[..., None] * np.array([60.0, 36.0, -48.0])
            base = np.broadcast_to(128 + wave, (height, width, 3))
            rgb = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a timer read next measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class _Timing:
    warmup: float  # seconds of the first call
    per_frame: float  # seconds per frame, best of the timed calls


def _time(
    engine: Engine, lq: torch.Tensor, tile: int, overlap: int, repeats: int, warm_calls: int = 1
) -> _Timing:
    device = engine.device
    synchronize(device)
    start = time.perf_counter()
    for _ in range(warm_calls):
        engine.upscale(lq, engine.fit(tile), overlap)
    synchronize(device)
    warmup = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        engine.upscale(lq, engine.fit(tile), overlap)
        synchronize(device)
        times.append(time.perf_counter() - start)
    return _Timing(warmup, min(times) / len(lq))


def _end_to_end(engine: Engine, s: BenchSettings, context: RunContext) -> float:
    """Frames per second through the whole pipeline, on a synthetic clip of the size."""
    width, height = s.size
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.mkv", Path(tmp) / "out.mkv"
        write_synthetic_clip(src, s.frames, width, height)
        config = UpscaleConfig(tiling=Tiling(s.tile, s.tile_overlap, 0), overwrite=True)
        result = upscale_video(src, dst, engine, config, context)
    return result.frames / result.seconds


def run_bench(
    model: PSRTRecurrent,
    device: torch.device,
    precision: Precision,
    settings: BenchSettings,
    context: RunContext,
) -> BenchResult:
    """Model-only timing on random frames (best of ``repeats`` after a warm-up), and
    optionally the whole pipeline on a synthetic clip of the same size and length.

    With ``compile`` or ``cuda_graphs`` (whole chunks replayed as CUDA graphs), the plain
    eager model is timed first in the same run, so that the speed-up, the extra warm-up
    (compiling, capturing) and the clip length where it pays are measured rather than
    guessed.
    """
    s = settings
    width, height = s.size
    tuned = s.compile or s.cuda_graphs
    lq = torch.rand(s.frames, 3, height, width)
    engine = Engine(model, device, precision, tile_batch=s.tile_batch)
    eager = _time(engine, lq, s.tile, s.tile_overlap, s.repeats)
    timing, compile_seconds, break_even = eager, None, None
    if tuned:
        engine = Engine(
            model,
            device,
            precision,
            compile=s.compile,
            tile_batch=s.tile_batch,
            cuda_graphs=s.cuda_graphs,
        )
        # A graph is captured on a shape's second call: both calls are warm-up.
        warm_calls = 2 if s.cuda_graphs and device.type == "cuda" else 1
        timing = _time(engine, lq, s.tile, s.tile_overlap, s.repeats, warm_calls)
        compile_seconds = max(0.0, timing.warmup - eager.warmup)
        saved = eager.per_frame - timing.per_frame
        break_even = compile_seconds / saved if saved > 0 else None
    tflops = model.flops_per_frame(height, width) / timing.per_frame / 1e12
    peak = _peak(device, precision)
    memory = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    e2e = _end_to_end(engine, s, context) if s.pipeline else None
    return BenchResult(
        device=device_name(device),
        precision=precision,
        size=(width, height),
        frames=s.frames,
        tile=s.tile,
        tile_batch=s.tile_batch,
        compiled=s.compile,
        cuda_graphs=s.cuda_graphs,
        warmup_seconds=timing.warmup,
        ms_per_frame=timing.per_frame * 1000,
        tflops=tflops,
        peak_share=tflops / peak if peak else None,
        peak_memory_gib=memory,
        end_to_end_fps=e2e,
        eager_ms_per_frame=eager.per_frame * 1000 if tuned else None,
        compile_seconds=compile_seconds,
        break_even_frames=break_even,
    )
