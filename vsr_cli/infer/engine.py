"""Runs the model over one chunk of frames, tile by tile, on a device and precision.

Out of GPU memory, it runs fewer tiles at a time, then halves the tile, and
tries the same chunk again (with a warning each time), down to the model's
64-pixel minimum: no frame is ever dropped. What it pads, aligns and scales by
comes from the model's descriptor.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from vsr_cli.errors import OutOfMemory
from vsr_cli.infer.graphs import ChunkGraphs
from vsr_cli.infer.pixels import unit_range
from vsr_cli.infer.plan import default_fade, split
from vsr_cli.infer.stitch import TileCanvas
from vsr_cli.models.descriptor import PSRT_RECURRENT
from vsr_cli.models.precision import Precision, for_precision
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.models.swin import Attention

COMPILE_MIN_FRAMES = 300  # compiling (10-50 s) pays after ~110-570 frames (H200, 320x180)


class Engine:
    """The model on its device, and how to feed it one chunk."""

    def __init__(
        self,
        model: PSRTRecurrent,
        device: torch.device,
        precision: Precision,
        warn: Callable[[str], None],
        compile: bool | None = False,
        tile_batch: int = 1,
        cuda_graphs: bool | None = False,
        *,
        attention: Attention = "sdpa",
        half_residual: bool | None = None,
    ) -> None:
        """``compile``: torch.compile the model's steps now (True), never (False), or when a
        job is long enough on a GPU (None: see ``compile_for``). ``cuda_graphs``: replay
        whole chunks as CUDA graphs (None: on CUDA). ``attention``: SDPA, or FlexAttention
        (fast only compiled, on a GPU). ``half_residual``: half precision through the
        residual stream too (None: on CUDA, where it was measured to keep the function:
        golden fp16 63.6 dB, released model 87.2 dB against fp32, docs/benchmarks.md)."""
        self.weights = model.eval().to(device)  # as loaded: what the fingerprint names
        if half_residual is None:
            half_residual = device.type == "cuda"
        self.model = for_precision(self.weights, precision, half_residual)  # what runs
        self.model.set_attention(attention)
        self.device = device
        self.precision = precision
        self.tile_batch = tile_batch  # tiles per forward; halved first when memory runs out
        self.chunk_batch: int | None = None  # chunks per forward, once memory ran out
        self.descriptor = PSRT_RECURRENT
        self._warn = warn  # out-of-memory retries, unless a call names its own
        self._compile = compile
        self.compiled = False
        graphs = device.type == "cuda" if cuda_graphs is None else cuda_graphs
        self._graphs = ChunkGraphs(self.model, warn) if graphs and device.type == "cuda" else None
        self._shapes: set[tuple[int, ...]] = set()  # input shapes run so far
        if compile:
            self._compile_steps()

    def _compile_steps(self) -> None:
        """The per-frame step is where the time goes; compiled in place so the module
        names (and state dict) stay the checkpoint's. Each new tile shape compiles anew."""
        for step in self.model.patch_align.values():
            step.compile(dynamic=False)
        self.compiled = True

    def compile_for(self, frames: int | None) -> None:
        """Left to the job (``compile=None``): compile on a GPU when the job has at least
        ``COMPILE_MIN_FRAMES`` frames, where the compiling time pays for itself."""
        long = frames is not None and frames >= COMPILE_MIN_FRAMES
        if self._compile is None and not self.compiled and self.device.type == "cuda" and long:
            self._compile_steps()

    def first_time(self, shape: tuple[int, ...]) -> str | None:
        """What the first chunk of ``shape`` costs beyond computing it (compiling, capturing
        a graph), for the progress display; None when it is warm."""
        if shape in self._shapes:
            return None
        if self.compiled:
            return "compiling the model for this size (once; cached for later runs)"
        if self._graphs is not None:
            return "warming up and capturing a CUDA graph for this size"
        return None

    @functools.cached_property
    def fingerprint(self) -> str:
        """sha256 of the weights (names, shapes, values): pieces of a resumable job are
        only ever joined with pieces from the same model."""
        digest = hashlib.sha256()
        for name, tensor in sorted(self.weights.state_dict().items()):
            digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
            digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
        return digest.hexdigest()

    @torch.inference_mode()
    def upscale(
        self,
        lq: Tensor,
        tile: int,
        overlap: int,
        scale: int | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> tuple[Tensor, int]:
        """(t, 3, h, w) float in [0, 1], or uint8 (a quarter of the bytes to the device,
        converted there) -> ((t, 3, scale*h, scale*w) float on the device, the tile size
        that fit). (n, t, 3, h, w): n independent chunks side by side, computed exactly as
        one at a time. ``scale``: the model's by default; ``warn``: where out-of-memory
        retries are said (the file's reporter), else the engine's own.

        Out of memory, it runs fewer tiles at a time, then fewer chunks at a time (and
        remembers both), then smaller tiles."""
        scale = scale or self.descriptor.scale
        warn = warn or self._warn
        minimum = self.descriptor.min_size
        chunks = lq if lq.dim() == 5 else lq[None]
        while True:
            try:
                out = self._upscale(chunks, tile, overlap, scale)
                return (out if lq.dim() == 5 else out[0]), tile
            except torch.OutOfMemoryError:
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                h, w = lq.shape[-2:]
                current = tile or max(h, w)
                if self.tile_batch > 1:
                    self.tile_batch //= 2
                    warn(f"out of memory; retrying with {self.tile_batch} tile(s) at a time")
                    continue
                if len(chunks) > 1:
                    self.chunk_batch = len(chunks) // 2
                    warn(f"out of memory; retrying with {self.chunk_batch} chunk(s) at a time")
                    outs, done = [], 0
                    while done < len(chunks):  # each group may lower chunk_batch again
                        group = chunks[done : done + self.chunk_batch]
                        out, tile = self.upscale(group, tile, overlap, scale, warn)
                        outs.append(out)
                        done += len(group)
                    out = torch.cat(outs)
                    return (out if lq.dim() == 5 else out[0]), tile
                if current <= minimum:
                    raise OutOfMemory(
                        "out of memory even with the smallest tiles; try a smaller --chunk"
                    ) from None
                smaller = max(minimum, current // 2)
                warn(f"out of memory with tiles of {current} px; retrying with {smaller} px")
                tile = smaller

    def _upscale(self, lq: Tensor, tile: int, overlap: int, scale: int) -> Tensor:
        """(n, t, 3, h, w) -> (n, t, 3, scale*h, scale*w)."""
        n, t, _, h, w = lq.shape
        if self.device.type == "cuda":
            lq = lq.pin_memory()  # so the copy below overlaps with work already queued
        lq = unit_range(lq.to(self.device, non_blocking=True))
        d = self.descriptor
        # Frames under 64 px are padded (edge pixels repeated) and cropped back.
        pad_h, pad_w = max(0, d.min_size - h), max(0, d.min_size - w)
        if pad_h or pad_w:
            lq = F.pad(lq.flatten(0, 1), (0, pad_w, 0, pad_h), mode="replicate").unflatten(
                0, (n, t)
            )
        hp, wp = lq.shape[-2:]
        # Tiles start on the 8-px grid of attention windows and flow patches, so that
        # inside a tile the windows are the whole frame's: off-grid tiles see other
        # windows everywhere (measured: 42.8 dB against whole-frame output instead of 55).
        # All tiles get one shape (grown into more context), so that they batch and compile once.
        rows = split(hp, tile, overlap, d.min_size, d.alignment, uniform=True)
        cols = split(wp, tile, overlap, d.min_size, d.alignment, uniform=True)
        forward = self._graphs or self.model
        self._shapes.add(tuple(lq.shape))
        if len(rows) == len(cols) == 1:
            out = forward(lq)[..., : h * d.scale, : w * d.scale]
            return to_scale(out.flatten(0, 1), scale).unflatten(0, (n, t))
        # Tiles are resized as they come, so no frame is ever held whole at x4 when the
        # output is x2 or x3: the canvas, the chunk stitcher and the copies to the host
        # all hold frames at the output scale.
        canvas = TileCanvas(n * t, hp, wp, scale, default_fade(overlap), self.device)
        tiles = list(itertools.product(rows, cols))
        for first in range(0, len(tiles), self.tile_batch):
            batch = tiles[first : first + self.tile_batch]
            crops = [lq[..., r.start : r.stop, c.start : c.stop] for r, c in batch]
            parts = forward(torch.cat(crops)).unflatten(0, (len(batch), n))
            for (r, c), part in zip(batch, parts):
                frames = part.flatten(0, 1)  # (n * t, 3, ...)
                canvas.add(r, c, _tile_to_scale(frames, r.stop - h, c.stop - w, scale))
        return canvas.pixels[..., : h * scale, : w * scale].unflatten(0, (n, t))


NATIVE = PSRT_RECURRENT.scale


def _tile_to_scale(part: Tensor, rows_past: int, cols_past: int, scale: int) -> Tensor:
    """A tile's x4 output at ``scale``. Rows and columns past the frame's end (the padding
    of frames under 64 px) are cut before resizing, as the whole-frame path cuts them, so
    that they do not bleed into the frame's last pixels; the canvas crops their place."""
    dh, dw = max(0, rows_past), max(0, cols_past)
    part = to_scale(
        part[..., : part.shape[-2] - dh * NATIVE, : part.shape[-1] - dw * NATIVE], scale
    )
    return F.pad(part, (0, dw * scale, 0, dh * scale)) if dh or dw else part


def to_scale(frames: Tensor, scale: int) -> Tensor:
    """(t, 3, 4h, 4w) model output -> (t, 3, scale*h, scale*w): bicubic with antialiasing
    (a plain bicubic shrink aliases fine detail), all frames in one call."""
    if scale == NATIVE:
        return frames
    h, w = frames.shape[-2] // NATIVE, frames.shape[-1] // NATIVE
    return F.interpolate(
        frames, size=(h * scale, w * scale), mode="bicubic", antialias=True, align_corners=False
    )
