"""read -> plan -> infer -> stitch -> write, for one video.

Three threads overlap the work: one decodes, the caller's thread runs the
model, one encodes. Bounded queues between them keep memory flat however long
the clip is: only the frames of the chunk in hand (plus its overlap) are held.
"""

from __future__ import annotations

import functools
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vsr_cli.engine import Engine
from vsr_cli.errors import OutputError
from vsr_cli.models.psrt import SCALE
from vsr_cli.progress import Reporter
from vsr_cli.sequence import pick_sizes, upscale_frames
from vsr_cli.video.reader import DecodedFrame, VideoInfo, VideoReader
from vsr_cli.video.span import Span, read_span
from vsr_cli.video.writer import EncodeSettings, VideoWriter

QUEUE_FRAMES = 32  # decoded frames waiting for the model, and finished ones for the encoder
# Set when the process is interrupted: workers on other threads (one per device) stop at
# their next chunk and clean up their output, as the interrupted main thread does.
CANCEL = threading.Event()


class Cancelled(Exception):
    """This run was stopped because the process is being interrupted."""


@dataclass(frozen=True)
class UpscaleOptions:
    scale: int = 4
    tile: int | None = None  # low-res pixels; 0: whole frame; None: from free memory
    tile_overlap: int = 16
    chunk: int | None = None  # frames; 0: whole clip; None: from free memory
    chunk_overlap: int = 4
    encode: EncodeSettings = field(default_factory=EncodeSettings)
    deinterlace: str = "auto"  # auto (when the input is interlaced), off, frame, field
    span: Span = field(default_factory=Span)  # --ss / -t / --to
    overwrite: bool = False


@dataclass(frozen=True)
class Result:
    frames: int
    seconds: float


@dataclass(frozen=True)
class _Meta:
    pts: int
    time: float
    alpha: np.ndarray | None  # low-res; upscaled plainly (bilinear) beside the model
    context: bool  # beside a span: for the model to see, not to write


_END = object()


class _Pipe:
    """A bounded queue between two threads that gives up when the other side has failed."""

    def __init__(self, stop: threading.Event, size: int) -> None:
        self._queue: queue.Queue = queue.Queue(size)
        self._stop = stop

    def put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped

    def get(self) -> object:
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    raise _Stopped from None
                continue
            return item


class _Stopped(Exception):
    """The other side of a pipe stopped; its own error is what gets reported."""


def _thread(target: Callable[[], None], stop: threading.Event, errors: list) -> threading.Thread:
    def run() -> None:
        try:
            target()
        except _Stopped:
            pass
        except BaseException as e:  # handed to the caller's thread, which re-raises it
            errors.append(e)
            stop.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


STDIO = Path("-")


def check_paths(src: Path, dst: Path, overwrite: bool) -> None:
    """Refuse what would lose data: writing over the input, or over a file without -y."""
    if dst == STDIO:
        return
    if not dst.parent.is_dir():
        raise OutputError(f"{dst.parent}: no such folder")
    limit = _name_max(dst.parent)
    if len(os.fsencode(dst.name)) > limit:
        raise OutputError(f"{dst.name[:40]}...: file name longer than {limit} bytes")
    if dst.exists() and src.exists() and dst.resolve() == src.resolve():
        raise OutputError(f"{dst}: the output is the input")
    if dst.is_dir():
        raise OutputError(f"{dst}: is a folder")
    if dst.exists() and not overwrite:
        raise OutputError(f"{dst}: exists; pass --overwrite (-y) to replace it")
    if not os.access(dst.parent, os.W_OK):
        raise OutputError(f"{dst.parent}: permission denied (cannot write there)")


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def upscale_video(
    src: Path,
    dst: Path,
    engine: Engine,
    options: UpscaleOptions,
    reporter: Reporter,
    container_format: str | None = None,
) -> Result:
    """Upscale ``src`` into ``dst`` (``-``: stdin / stdout); a file appears only when complete."""
    check_paths(src, dst, options.overwrite)
    started = time.perf_counter()
    name = "stdin" if src == STDIO else str(src)
    source = sys.stdin.buffer if src == STDIO else src
    target = sys.stdout.buffer if dst == STDIO else dst

    def warn(message: str) -> None:
        reporter.warn(message, name)

    with VideoReader(source, name, warn) as reader:
        done = reader.deinterlace(options.deinterlace)
        if done:
            warn(done)
        info = reader.info
        tile, chunk = pick_sizes(
            engine,
            info.width,
            info.height,
            options.tile,
            options.chunk,
            options.tile_overlap,
            options.chunk_overlap,
        )
        size = (info.width * options.scale, info.height * options.scale)
        span = options.span
        with VideoWriter(
            target,
            reader,
            options.encode,
            size,
            warn,
            container_format,
            span=None if span.whole else (span.start, span.end and span.end - span.start),
        ) as writer:
            reporter.start(name, expected_frames(info, span))
            try:
                frames = _run(
                    reader,
                    writer,
                    engine.with_warnings(warn),
                    options,
                    tile,
                    chunk,
                    lambda n: reporter.advance(name, n),
                )
            finally:
                reporter.finish(name)
    return Result(frames, time.perf_counter() - started)


def _run(
    reader: VideoReader,
    writer: VideoWriter,
    engine: Engine,
    options: UpscaleOptions,
    tile: int,
    chunk: int,
    advance: Callable[[int], None],
) -> int:
    stop = threading.Event()
    errors: list[BaseException] = []
    decoded = _Pipe(stop, QUEUE_FRAMES)
    encoded = _Pipe(stop, QUEUE_FRAMES)
    copy = writer.copied_streams
    peak = 65535 if writer.rgb_depth > 8 else 255
    to_rgb = functools.partial(output_pixels, scale=options.scale, peak=peak, size=writer.size)

    span = options.span
    media = (
        reader.media(copy)
        if span.whole
        else read_span(reader, copy, span, context=options.chunk_overlap)
    )

    def decode() -> None:
        for item in media:
            if isinstance(item, DecodedFrame):
                meta = _Meta(item.pts, item.time, item.alpha, item.context)
                decoded.put((input_pixels(item.rgb), meta))
            else:
                decoded.put(item)
        decoded.put(_END)

    def encode() -> None:
        while (item := encoded.get()) is not _END:
            if isinstance(item, av.Packet):
                writer.mux_packet(item)
            else:
                rgb, meta = item
                if meta.context:
                    continue
                alpha = None
                if writer.keeps_alpha and meta.alpha is not None:
                    alpha = upscale_alpha(meta.alpha, writer.size, peak)
                writer.write_frame(rgb, meta.pts, meta.time, alpha)
                advance(1)
        writer.finish()

    def check_cancel() -> None:
        if CANCEL.is_set():
            raise Cancelled

    def infer() -> int:
        """The caller's thread: the model, chunk by chunk; finished frames to the encoder."""
        count = 0
        for item in upscale_frames(
            _items(decoded),
            engine,
            tile,
            options.tile_overlap,
            chunk,
            options.chunk_overlap,
            before_chunk=check_cancel,
        ):
            if isinstance(item, tuple):
                frame, meta = item
                item = (to_rgb(frame), meta)
                count += not meta.context
            encoded.put(item)
        return count

    threads = [_thread(decode, stop, errors), _thread(encode, stop, errors)]
    try:
        count = infer()
        encoded.put(_END)
        for t in threads:
            t.join()
    except _Stopped:
        pass
    finally:
        stop.set()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    return count


def expected_frames(info: VideoInfo, span: Span) -> int | None:
    """For the progress bar: the input's frames, or an estimate of the span's."""
    if span.whole:
        return info.frame_count
    end = span.end if span.end is not None else info.duration
    if end is None or not info.average_rate:
        return None
    return max(0, round((end - span.start) * float(info.average_rate)))


def _items(pipe: _Pipe) -> Iterator[object]:
    while (item := pipe.get()) is not _END:
        yield item


def input_pixels(rgb: np.ndarray) -> Tensor:
    """(h, w, 3) uint8/uint16 as decoded -> (3, h, w) float32 in [0, 1], the model's input."""
    peak = np.iinfo(rgb.dtype).max
    return torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1) / peak


def output_pixels(frame: Tensor, scale: int, peak: int, size: tuple[int, int]) -> np.ndarray:
    """(3, 4h, 4w) float -> (height, width, 3) uint8/uint16 on the host, resized to ``scale``
    and cropped to the encoder's ``size`` (width, height)."""
    if scale != SCALE:
        h, w = frame.shape[-2] // SCALE, frame.shape[-1] // SCALE
        frame = F.interpolate(
            frame[None],
            size=(h * scale, w * scale),
            mode="bicubic",
            antialias=True,
            align_corners=False,
        )[0]
    values = (frame[:, : size[1], : size[0]].clamp(0, 1) * peak).round().permute(1, 2, 0)
    if peak == 255:
        return values.to(torch.uint8).cpu().numpy()
    return values.to(torch.int32).cpu().numpy().astype(np.uint16)


def upscale_alpha(alpha: np.ndarray, size: tuple[int, int], peak: int) -> np.ndarray:
    """A low-res alpha plane (uint8/uint16) -> (height, width) at ``peak``, bilinear: edges of
    transparency need no model, and a smooth ramp is what compositors expect."""
    plane = torch.from_numpy(alpha.astype(np.float32) / np.iinfo(alpha.dtype).max)
    up = F.interpolate(plane[None, None], size=(size[1], size[0]), mode="bilinear")[0, 0]
    values = (up.clamp(0, 1) * peak).round()
    return values.numpy().astype(np.uint8 if peak == 255 else np.uint16)
