"""Three threads over one span of video: one decodes, the caller's runs the model, one
encodes. Bounded queues between them keep memory flat however long the clip is: only
the frames of the chunk in hand (plus its overlap) are held, and the model never waits
for the encoder while it could compute the next chunk.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import av
import numpy as np

from vsr_cli.config import UpscaleConfig
from vsr_cli.context import RunContext
from vsr_cli.infer.engine import Engine
from vsr_cli.infer.pixels import HostFrame, input_pixels, upscale_alpha
from vsr_cli.infer.sequence import upscale_frames
from vsr_cli.video.reader import DecodedFrame
from vsr_cli.video.writer import VideoWriter

QUEUE_FRAMES = 32  # decoded frames waiting for the model, and finished ones for the encoder
FINISHED_BYTES = 512 * 2**20  # at most this much of finished frames waits (pinned on CUDA)


@dataclass(frozen=True)
class _Meta:
    pts: int
    time: float
    alpha: np.ndarray | None  # low-res; upscaled plainly (bilinear) beside the model
    margin: bool  # beside a span: for the model to see, not to write


_END = object()


class _Stopped(Exception):
    """The other side of a pipe stopped; its own error is what gets reported."""


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
                return self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set():
                    raise _Stopped from None

    def items(self) -> Iterator[object]:
        while (item := self.get()) is not _END:
            yield item


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


def pump(
    media: Iterator[DecodedFrame | av.Packet],
    writer: VideoWriter,
    config: UpscaleConfig,
    engine: Engine,
    context: RunContext,
    advance: Callable[[int], None],
) -> int:
    """Decode ``media``, upscale its frames as ``config`` says (sizes given), encode them
    and mux the other streams' packets into ``writer``; margin frames are seen, not
    written. Returns the frames written."""
    tiling = config.tiling
    stop = threading.Event()
    errors: list[BaseException] = []
    decoded = _Pipe(stop, QUEUE_FRAMES)
    peak = 65535 if writer.rgb_depth > 8 else 255
    # Room for a whole chunk's output, bounded in bytes (4K frames are 25 MB each).
    frame_bytes = writer.size[0] * writer.size[1] * HostFrame.bytes_per_pixel(peak)
    room = max(QUEUE_FRAMES, tiling.chunk + 2 * tiling.chunk_overlap)
    encoded = _Pipe(stop, max(2, min(room, FINISHED_BYTES // frame_bytes)))
    threads = [
        _thread(functools.partial(_decode, media, decoded), stop, errors),
        _thread(functools.partial(_encode, encoded, writer, peak), stop, errors),
    ]
    made = _Made(advance)
    try:
        frames = upscale_frames(decoded.items(), config, engine, context, made.report)
        _hand_over(frames, encoded, functools.partial(HostFrame, peak=peak, size=writer.size), made)
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
    return made.count


def _decode(media: Iterator[DecodedFrame | av.Packet], decoded: _Pipe) -> None:
    """The decoding thread: frames as model input (with what the encoder will need of
    them), other streams' packets as they are."""
    for item in media:
        if isinstance(item, DecodedFrame):
            meta = _Meta(item.pts, item.time, item.alpha, item.margin)
            decoded.put((input_pixels(item.rgb), meta))
        else:
            decoded.put(item)
    decoded.put(_END)


class _Made:
    """Frames to write that the model has made, told to ``advance`` a pass at a time: a
    rate read from part of a burst (one frame of a chunk of twelve) would be far off."""

    def __init__(self, advance: Callable[[int], None]) -> None:
        self._advance = advance
        self.count = self._told = 0

    def report(self) -> None:
        if self.count > self._told:
            self._advance(self.count - self._told)
            self._told = self.count


def _hand_over(
    frames: Iterator[object], encoded: _Pipe, to_host: Callable[[object], HostFrame], made: _Made
) -> None:
    """The caller's thread, running the model chunk by chunk: finished frames copied to
    the host for the encoder (margin frames only as a marker), counted in ``made``."""
    for item in frames:
        if isinstance(item, tuple):
            frame, meta = item
            item = (None if meta.margin else to_host(frame), meta)
            made.count += not meta.margin
        encoded.put(item)
    made.report()


def _encode(encoded: _Pipe, writer: VideoWriter, peak: int) -> None:
    """The encoding thread: frames (with their alpha, upscaled plainly) and packets into
    the output, in order."""
    for item in encoded.items():
        if isinstance(item, av.Packet):
            writer.mux_packet(item)
            continue
        frame, meta = item
        if meta.margin:
            continue
        alpha = None
        if writer.keeps_alpha and meta.alpha is not None:
            alpha = upscale_alpha(meta.alpha, writer.size, peak)
        writer.write_frame(frame.array(), meta.pts, meta.time, alpha)
    writer.finish()
