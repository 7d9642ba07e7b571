"""read -> plan -> infer -> stitch -> write, for one video.

Three threads overlap the work: one decodes, the caller's thread runs the
model, one encodes. Bounded queues between them keep memory flat however long
the clip is: only the frames of the chunk in hand (plus its overlap) are held.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vsr_cli.engine import Engine
from vsr_cli.errors import InputError, OutputError
from vsr_cli.job import (
    PIECE_SECONDS,
    Job,
    input_fingerprint,
    job_folder,
    plan_pieces,
    read_job,
    start_job,
)
from vsr_cli.job import share as job_share
from vsr_cli.progress import Reporter
from vsr_cli.sequence import pick_sizes, upscale_frames
from vsr_cli.video.join import join_pieces
from vsr_cli.video.reader import DecodedFrame, VideoInfo, VideoReader
from vsr_cli.video.span import Span, read_span
from vsr_cli.video.writer import EncodeSettings, VideoWriter

QUEUE_FRAMES = 32  # decoded frames waiting for the model, and finished ones for the encoder
FINISHED_BYTES = 512 * 2**20  # at most this much of finished frames waits (pinned on CUDA)
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
    scene_cuts: bool = True  # each scene upscaled as if the video began and ended there
    resume: bool = True  # False: an earlier partial job of this output is discarded
    segment: tuple[int, int] | None = None  # (K, N): compute only the K-th of N shares
    piece_seconds: float = PIECE_SECONDS
    overwrite: bool = False


@dataclass(frozen=True)
class Result:
    frames: int  # computed by this run
    seconds: float
    pieces_left: int | None = None  # of a --segment run: pieces still to make (not joined)


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
    src: Path | BinaryIO,
    dst: Path | BinaryIO,
    engine: Engine,
    options: UpscaleOptions,
    reporter: Reporter,
    container_format: str | None = None,
) -> Result:
    """Upscale ``src`` into ``dst``: paths (``-``: stdin / stdout) or binary file objects.
    A file appears only when complete; a long one is made in resumable pieces."""
    source = sys.stdin.buffer if src == STDIO else src
    target = sys.stdout.buffer if dst == STDIO else dst
    if isinstance(target, Path):
        check_paths(source if isinstance(source, Path) else STDIO, target, options.overwrite)
    started = time.perf_counter()
    name = str(source) if isinstance(source, Path) else getattr(source, "name", "stream")
    name = "stdin" if src == STDIO else str(name)

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
            options.scale,
        )
        job = None
        if isinstance(source, Path) and isinstance(target, Path):
            job = _job_for(
                reader, source, target, engine, options, tile, chunk, container_format, warn
            )
        elif options.segment:
            raise InputError("--segment works on files, not pipes or streams")
        if job is None:
            span = options.span
            size = (info.width * options.scale, info.height * options.scale)
            with VideoWriter(
                target,
                reader,
                options.encode,
                size,
                warn,
                container_format,
                span=span,
            ) as writer:
                reporter.start(name, expected_frames(info, span))
                try:
                    frames = _run(
                        writer,
                        _media(reader, writer.copied_streams, options),
                        engine.with_warnings(warn),
                        options,
                        tile,
                        chunk,
                        lambda n: reporter.advance(name, n),
                    )
                finally:
                    reporter.finish(name)
            return Result(frames, time.perf_counter() - started)
    return _upscale_in_pieces(
        src,
        dst,
        job,
        engine,
        options,
        reporter,
        container_format,
        warn,
        started,
    )


def _media(
    reader: VideoReader,
    copy: set[int],
    options: UpscaleOptions,
    base: float | None = None,
    required: bool = True,
) -> Iterator[DecodedFrame | av.Packet]:
    """The frames (and ``copy`` streams' packets) to work on: the whole input, or a span
    with context frames around it."""
    if options.span.whole and base is None:
        return reader.media(copy)
    return read_span(
        reader, copy, options.span, context=options.chunk_overlap, base=base, required=required
    )


def _job_for(
    reader: VideoReader,
    src: Path,
    dst: Path,
    engine: Engine,
    options: UpscaleOptions,
    tile: int,
    chunk: int,
    container_format: str | None,
    warn: Callable[[str], None],
) -> Job | None:
    """The resumable job for this output (begun now, or found from an earlier run), or
    None where the video is written directly: a pipe, an input that can't seek or has no
    stated duration, or a span shorter than two pieces (nothing worth resuming)."""
    info, span = reader.info, options.span
    ends = [e for e in (span.end, info.duration) if e is not None]
    # Planned up to a frame before the end the file states, so that no piece lies past
    # the last frame (a piece that still does comes out empty).
    period = 1 / float(info.average_rate or 25)
    end = min(ends) - period if ends else None
    folder_fits = len(os.fsencode(job_folder(dst).name)) <= _name_max(dst.parent)
    if not reader.can_seek or end is None or end <= span.start or not folder_fits:
        if options.segment:
            raise InputError(f"{src}: --segment needs a file that can seek, of known length")
        return None
    pieces = plan_pieces(span, end, options.piece_seconds)
    if len(pieces) < 2 and not options.segment:
        return None
    identity = json.loads(json.dumps({"input": input_fingerprint(src), "settings": {
        "scale": options.scale,
        "tile": options.tile,
        "tile_overlap": options.tile_overlap,
        "chunk": options.chunk,
        "chunk_overlap": options.chunk_overlap,
        "encode": asdict(options.encode),
        "deinterlace": options.deinterlace,
        "scene_cuts": options.scene_cuts,
        "span": [span.start, span.end],
        "piece_seconds": options.piece_seconds,
        "format": container_format,
        "precision": engine.precision,
        "model": engine.fingerprint,
    }}))  # fmt: skip
    found = read_job(dst)
    if found is not None and (found[1] != identity or not options.resume):
        if options.segment:
            raise OutputError(
                f"{found[0].folder}: holds pieces made from another input or with other "
                "settings; run every segment with the same command, or delete the folder"
            )
        if options.resume:
            warn("the input or the settings changed since the last run: starting over")
        found[0].remove()
        found = None
    if found is not None:
        return found[0]
    # The output's timestamps: the input's for a whole video (as a direct run keeps them),
    # from 0 for a section (as --ss makes them).
    base = 0.0
    if not span.whole:
        base = next(f.time for f in read_span(reader, set(), span, base=0.0) if not f.context)
    proposed = Job(job_folder(dst), pieces, base, tile, chunk, dst.suffix)
    return start_job(dst, proposed, identity, src)


def _upscale_in_pieces(
    src: Path,
    dst: Path,
    job: Job,
    engine: Engine,
    options: UpscaleOptions,
    reporter: Reporter,
    container_format: str | None,
    warn: Callable[[str], None],
    started: float,
) -> Result:
    """Compute the job's missing pieces (of this segment's share); then, unless this is a
    segment, join them all into ``dst`` and remove the job."""
    name = str(src)
    count = len(job.pieces)
    share = job_share(count, *options.segment) if options.segment else range(count)
    todo = job.missing(share)
    frames = 0
    once = _once(warn)
    engine = engine.with_warnings(once)
    reporter.start(name, None)
    try:
        for index in todo:
            if CANCEL.is_set():
                raise Cancelled
            with VideoReader(src, name, once, count_frames=False) as reader:
                reader.deinterlace(options.deinterlace)
                piece = replace(options, span=job.pieces[index])
                size = (reader.info.width * options.scale, reader.info.height * options.scale)
                with VideoWriter(
                    job.piece_path(index),
                    reader,
                    options.encode,
                    size,
                    once,
                    container_format,
                    copy_streams=False,
                ) as writer:
                    frames += _run(
                        writer,
                        _media(reader, set(), piece, base=job.base, required=index == 0),
                        engine,
                        piece,
                        job.tile,
                        job.chunk,
                        lambda n: reporter.advance(name, n),
                    )
    finally:
        reporter.finish(name)
    if options.segment:  # joined by `vsr join` or a plain run: never by two segments at once
        return Result(frames, time.perf_counter() - started, pieces_left=len(job.missing()))
    whole = Span(job.pieces[0].start, job.pieces[-1].end)
    join_pieces(
        src,
        [job.piece_path(i) for i in range(len(job.pieces))],
        dst,
        whole,
        job.base,
        options.encode,
        options.scale,
        options.deinterlace,
        once,
        container_format,
    )
    job.remove()
    return Result(frames, time.perf_counter() - started)


def _once(warn: Callable[[str], None]) -> Callable[[str], None]:
    """``warn``, each message once: every piece opens the input and an encoder again."""
    said: set[str] = set()

    def say(message: str) -> None:
        if message not in said:
            said.add(message)
            warn(message)

    return say


def _run(
    writer: VideoWriter,
    media: Iterator[DecodedFrame | av.Packet],
    engine: Engine,
    options: UpscaleOptions,
    tile: int,
    chunk: int,
    advance: Callable[[int], None],
) -> int:
    stop = threading.Event()
    errors: list[BaseException] = []
    decoded = _Pipe(stop, QUEUE_FRAMES)
    peak = 65535 if writer.rgb_depth > 8 else 255
    # Room for a whole chunk's output, so that the model never waits for the encoder while
    # it could compute the next chunk; bounded in bytes (4K frames are 25 MB each).
    frame_bytes = writer.size[0] * writer.size[1] * 3 * (1 if peak == 255 else 4)
    room = max(QUEUE_FRAMES, chunk + 2 * options.chunk_overlap)
    encoded = _Pipe(stop, max(2, min(room, FINISHED_BYTES // frame_bytes)))
    to_host = functools.partial(HostFrame, peak=peak, size=writer.size)

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
                frame, meta = item
                if meta.context:
                    continue
                rgb = frame.array()
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
            scene_cuts=options.scene_cuts,
            scale=options.scale,
        ):
            if isinstance(item, tuple):
                frame, meta = item
                item = (None if meta.context else to_host(frame), meta)
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
    """(h, w, 3) as decoded -> (3, h, w), the engine's input: 8-bit frames stay uint8
    (the engine converts them on the device, from a quarter of the bytes), deeper ones
    become float32 in [0, 1]."""
    if rgb.dtype == np.uint8:
        return torch.from_numpy(rgb).permute(2, 0, 1)
    return torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1) / np.iinfo(rgb.dtype).max


def output_pixels(frame: Tensor, peak: int, size: tuple[int, int]) -> np.ndarray:
    """(3, H, W) float -> (height, width, 3) uint8/uint16 on the host, cropped to the
    encoder's ``size`` (width, height)."""
    return HostFrame(frame, peak, size).array()


class HostFrame:
    """An output frame on its way to host memory, as the encoder will take it.

    On CUDA the conversion to integers runs on the device and the copy into pinned
    memory is queued behind the model's work: the model's thread goes on to the next
    chunk at once, and only the encoder's thread waits, for this frame alone.
    """

    def __init__(self, frame: Tensor, peak: int, size: tuple[int, int]) -> None:
        values = (frame[:, : size[1], : size[0]].clamp(0, 1) * peak).round().permute(1, 2, 0)
        self.peak = peak
        values = values.to(torch.uint8 if peak == 255 else torch.int32)
        self._copied: torch.cuda.Event | None = None
        if values.is_cuda:
            self._host = torch.empty(values.shape, dtype=values.dtype, pin_memory=True)
            self._host.copy_(values, non_blocking=True)  # on values' device's current stream
            self._copied = torch.cuda.Event(blocking=True)  # a waiting encoder sleeps
            self._copied.record(torch.cuda.current_stream(values.device))
        else:
            self._host = values.cpu()

    def array(self) -> np.ndarray:
        if self._copied is not None:
            self._copied.synchronize()
        pixels = self._host.numpy()
        return pixels if self.peak == 255 else pixels.astype(np.uint16)


def upscale_alpha(alpha: np.ndarray, size: tuple[int, int], peak: int) -> np.ndarray:
    """A low-res alpha plane (uint8/uint16) -> (height, width) at ``peak``, bilinear: edges of
    transparency need no model, and a smooth ramp is what compositors expect."""
    plane = torch.from_numpy(alpha.astype(np.float32) / np.iinfo(alpha.dtype).max)
    up = F.interpolate(plane[None, None], size=(size[1], size[0]), mode="bilinear")[0, 0]
    values = (up.clamp(0, 1) * peak).round()
    return values.numpy().astype(np.uint8 if peak == 255 else np.uint16)
