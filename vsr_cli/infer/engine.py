"""Runs the model over one chunk of frames, tile by tile, on a device and precision.

Out of GPU memory, it runs fewer tiles at a time, then fewer chunks at a time, then
halves the tile, and tries the same chunk again (with a warning each time), down to the
model's 64-pixel minimum: no frame is ever dropped. What fits is a ``Fit``, owned by
the caller: one per run of frames (a file, or one piece of a resumable job), so that a
batch's next file starts again from the settings. What it pads, aligns and scales by
comes from the model's descriptor.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vsr_cli.context import RunContext
from vsr_cli.errors import OutOfMemory
from vsr_cli.infer import fallback
from vsr_cli.infer.graphs import ChunkGraphs
from vsr_cli.infer.pixels import unit_range
from vsr_cli.infer.plan import default_fade, split
from vsr_cli.infer.stitch import TileCanvas
from vsr_cli.models.descriptor import PSRT_RECURRENT
from vsr_cli.models.precision import Precision, for_precision
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.models.swin import Attention

COMPILE_MIN_FRAMES = 300  # compiling (10-50 s) pays after ~110-570 frames (H200, 320x180)


@dataclass
class Fit:
    """What one run of frames is cut into on the device: the tile side (0: whole frames),
    tiles per forward and chunks per forward. It starts from the settings and only
    shrinks, when memory runs out, for the rest of the run."""

    tile: int
    tile_batch: int = 1
    chunk_batch: int = 1
    half_failures: int = 0  # chunks whose half-precision output was not finite


class Engine:
    """The model on its device, and how to feed it one chunk."""

    def __init__(
        self,
        model: PSRTRecurrent,
        device: torch.device,
        precision: Precision,
        *,
        compile: bool | None = False,
        tile_batch: int = 1,
        cuda_graphs: bool | None = False,
        attention: Attention = "sdpa",
        half_residual: bool | None = None,
        precision_reason: str = "asked for",
    ) -> None:
        """``compile``: torch.compile the model's steps now (True), never (False), or when a
        job is long enough on a GPU (None: see ``compile_for``). ``tile_batch``: tiles
        per forward that a ``fit`` starts from. ``cuda_graphs``: replay
        whole chunks as CUDA graphs (None: on CUDA). ``attention``: SDPA, or FlexAttention
        (fast only compiled, on a GPU). ``half_residual``: half precision through the
        residual stream too (None: on CUDA, where it was measured to keep the function:
        golden fp16 63.6 dB, released model 87.2 dB against fp32, docs/benchmarks.md)."""
        self.weights = model.eval().to(device)  # as loaded: what the fingerprint names
        if half_residual is None:
            half_residual = device.type == "cuda"
        self.model = for_precision(self.weights, precision, half_residual)  # what runs
        self.model.set_attention(attention)
        self.attention = attention
        self.half_residual = half_residual and precision != "fp32"
        self.device = device
        self.precision = precision
        self.precision_reason = precision_reason
        self.tile_batch = tile_batch
        self.descriptor = PSRT_RECURRENT
        self._compile = compile
        self.compiled = False
        graphs = device.type == "cuda" if cuda_graphs is None else cuda_graphs
        self._graphs = ChunkGraphs(self.model) if graphs and device.type == "cuda" else None
        self._shapes: set[tuple[int, ...]] = set()  # chunk shapes run so far
        self._forwarded: set[tuple[int, ...]] = set()  # forward input shapes (tiles or chunks)
        self._failed_before = fallback.remembered(device)
        self._notes: list[str] = []  # said through the first run's context
        if attention == "flex" and "flex" in self._failed_before:
            self._turn_off_flex()
            self._notes.append(
                f"FlexAttention is off here: it failed before ({self._failed_before['flex']}); "
                "`vsr doctor --forget` tries it again"
            )
        if compile:
            self._compile_steps()

    def _compile_steps(self) -> None:
        """The per-frame step is where the time goes; compiled in place so the module
        names (and state dict) stay the checkpoint's. Each new tile shape compiles anew.
        Not where compiling failed before (``fallback``)."""
        if "compile" in self._failed_before:
            self._notes.append(
                f"compiling is off here: it failed before ({self._failed_before['compile']}); "
                "`vsr doctor --forget` tries it again"
            )
            return
        for step in self.model.patch_align.values():
            step.compile(dynamic=False)
        self.compiled = True

    def _forward(self, lq: Tensor, context: RunContext) -> Tensor:
        """The fast path's forward. The first call of a shape is where compiling (or
        FlexAttention's kernels) can fail: any failure there but memory's turns those
        levers off, with one warning each, and the chunk runs plainly."""
        fresh = tuple(lq.shape) not in self._forwarded
        self._forwarded.add(tuple(lq.shape))
        forward = functools.partial(self._graphs, warn=context.warn) if self._graphs else self.model
        if not (fresh and (self.compiled or self.attention == "flex")):
            return forward(lq)
        try:
            return forward(lq)
        except torch.OutOfMemoryError:
            raise
        except Exception as e:  # noqa: BLE001 - any failure of a lever: the plain way
            self._fall_back(e, context)
            return self.model(lq)

    def _fall_back(self, error: Exception, context: RunContext) -> None:
        why = fallback.reason(error)
        if self.compiled:
            for step in self.model.patch_align.values():
                step._compiled_call_impl = None  # what Module.compile set: eager again
            self.compiled = False
            fallback.remember(self.device, "compile", why)
            context.warn(f"compiling failed: {why}; running without compiling")
        if self.attention == "flex":
            self._turn_off_flex()
            fallback.remember(self.device, "flex", why)
            context.warn(f"FlexAttention failed: {why}; running with SDPA attention")
        torch._dynamo.reset()

    def _turn_off_flex(self) -> None:
        self.model.set_attention("sdpa")
        self.attention = "sdpa"

    def compile_for(self, frames: int | None) -> None:
        """Left to the job (``compile=None``): compile on a GPU when the job has at least
        ``COMPILE_MIN_FRAMES`` frames, where the compiling time pays for itself."""
        long = frames is not None and frames >= COMPILE_MIN_FRAMES
        if self._compile is None and not self.compiled and self.device.type == "cuda" and long:
            self._compile_steps()

    def levers(self) -> dict[str, object]:
        """What runs, for ``--json``'s start event and ``vsr doctor``."""
        return {
            "device": str(self.device),
            "precision": self.precision,
            "precision_reason": self.precision_reason,
            "half_residual": self.half_residual,
            "compiled": self.compiled,
            "compile": {True: "on", False: "off", None: "auto"}[self._compile],
            "cuda_graphs": self._graphs is not None,
            "attention": self.attention,
            "tile_batch": self.tile_batch,
        }

    def fit(self, tile: int, chunk_batch: int = 1) -> Fit:
        """A fresh ``Fit`` for a run: ``tile`` and ``chunk_batch`` as sized, tiles per
        forward as this engine was set up with."""
        return Fit(tile, self.tile_batch, chunk_batch)

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
        fit: Fit,
        overlap: int,
        scale: int | None = None,
        context: RunContext | None = None,
    ) -> Tensor:
        """(t, 3, h, w) float in [0, 1], or uint8 (a quarter of the bytes to the device,
        converted there) -> (t, 3, scale*h, scale*w) float on the device. (n, t, 3, h, w):
        n independent chunks side by side, computed exactly as one at a time. ``scale``:
        the model's by default; ``context``: where warnings go (out-of-memory retries).

        Out of memory, it runs fewer tiles at a time, then fewer chunks at a time, then
        smaller tiles, and leaves ``fit`` as it had to make it."""
        context = context or RunContext()
        for note in self._notes:
            context.warn(note)
        self._notes.clear()
        scale = scale or self.descriptor.scale
        chunks = lq if lq.dim() == 5 else lq[None]
        out = self._guarded(chunks, fit, overlap, scale, context)
        return out if lq.dim() == 5 else out[0]

    def _guarded(
        self, chunks: Tensor, fit: Fit, overlap: int, scale: int, context: RunContext
    ) -> Tensor:
        """No frame computed from a non-finite value reaches the file: half precision that
        overflows (past fp16's 65504 in the residual stream, on some GPUs' broken fp16)
        gives inf, then NaN, then black frames. A chunk with any is computed again in
        fp32; after the second such chunk, the rest of the run is fp32. The check is one
        number per chunk, read when the chunk is done."""
        half = self.precision != "fp32"
        if half and fit.half_failures < 2:
            out = self._fitted(chunks, fit, overlap, scale, context, self.model)
            if bool(torch.isfinite(out).all()):
                return out
            fit.half_failures += 1
            rest = "; the rest of this run is fp32" if fit.half_failures == 2 else ""
            context.warn(
                f"{self.precision} gave values out of range (overflow) in a chunk: computed "
                f"it again in fp32{rest}"
            )
        model = self.weights if half else self.model
        return self._fitted(chunks, fit, overlap, scale, context, model)

    def _fitted(
        self,
        chunks: Tensor,
        fit: Fit,
        overlap: int,
        scale: int,
        context: RunContext,
        model: nn.Module,
    ) -> Tensor:
        """``model`` (the fast one, or the float32 weights) over ``chunks``, backing off
        in ``fit`` while memory runs out."""
        while True:
            try:
                return self._upscale(chunks, fit, overlap, scale, context, model)
            except torch.OutOfMemoryError:
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
            if fit.tile_batch > 1:
                fit.tile_batch //= 2
                context.warn(f"out of memory; retrying with {fit.tile_batch} tile(s) at a time")
            elif len(chunks) > 1:
                fit.chunk_batch = len(chunks) // 2
                context.warn(f"out of memory; retrying with {fit.chunk_batch} chunk(s) at a time")
                outs, done = [], 0
                while done < len(chunks):  # each group may lower the chunk batch again
                    group = chunks[done : done + fit.chunk_batch]
                    outs.append(self._fitted(group, fit, overlap, scale, context, model))
                    done += len(group)
                return torch.cat(outs)
            else:
                fit.tile = self._smaller_tile(fit.tile, chunks.shape[-2:], context)

    def _smaller_tile(self, tile: int, size: torch.Size, context: RunContext) -> int:
        minimum = self.descriptor.min_size
        current = tile or max(size)
        if current <= minimum:
            raise OutOfMemory("out of memory even with the smallest tiles; try a smaller --chunk")
        smaller = max(minimum, current // 2)
        context.warn(f"out of memory with tiles of {current} px; retrying with {smaller} px")
        return smaller

    def _upscale(
        self,
        lq: Tensor,
        fit: Fit,
        overlap: int,
        scale: int,
        context: RunContext,
        model: nn.Module,
    ) -> Tensor:
        """(n, t, 3, h, w) -> (n, t, 3, scale*h, scale*w)."""
        tile, tile_batch = fit.tile, fit.tile_batch
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
        self._shapes.add(tuple(lq.shape))
        if model is self.model:
            forward = functools.partial(self._forward, context=context)
        else:  # float32 after half precision overflowed: eager, no graphs
            forward = model
        if len(rows) == len(cols) == 1:
            out = forward(lq)[..., : h * d.scale, : w * d.scale]
            return to_scale(out.flatten(0, 1), scale).unflatten(0, (n, t))
        # Tiles are resized as they come, so no frame is ever held whole at x4 when the
        # output is x2 or x3: the canvas, the chunk stitcher and the copies to the host
        # all hold frames at the output scale.
        canvas = TileCanvas(n * t, hp, wp, scale, default_fade(overlap), self.device)
        tiles = list(itertools.product(rows, cols))
        for first in range(0, len(tiles), tile_batch):
            batch = tiles[first : first + tile_batch]
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
