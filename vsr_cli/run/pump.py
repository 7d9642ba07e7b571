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

from vsr_cli.config import Tiling, UpscaleConfig
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
    context: bool  # beside a span: for the model to see, not to write


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
    engine: Engine,
    writer: VideoWriter,
    config: UpscaleConfig,
    tiling: Tiling,
    context: RunContext,
    advance: Callable[[int], None],
) -> int:
    """Decode ``media``, upscale its frames as ``config`` says, cut as ``tiling`` (sizes
    given), encode them and mux the other streams' packets into ``writer``; context frames
    are seen, not written. Returns the frames written."""
    stop = threading.Event()
    errors: list[BaseException] = []
    decoded = _Pipe(stop, QUEUE_FRAMES)
    peak = 65535 if writer.rgb_depth > 8 else 255
    # Room for a whole chunk's output, bounded in bytes (4K frames are 25 MB each).
    frame_bytes = writer.size[0] * writer.size[1] * HostFrame.bytes_per_pixel(peak)
    room = max(QUEUE_FRAMES, tiling.chunk + 2 * tiling.chunk_overlap)
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
        for item in encoded.items():
            if isinstance(item, av.Packet):
                writer.mux_packet(item)
                continue
            frame, meta = item
            if meta.context:
                continue
            alpha = None
            if writer.keeps_alpha and meta.alpha is not None:
                alpha = upscale_alpha(meta.alpha, writer.size, peak)
            writer.write_frame(frame.array(), meta.pts, meta.time, alpha)
            advance(1)
        writer.finish()

    def infer() -> int:
        """The caller's thread: the model, chunk by chunk; finished frames to the encoder."""
        count = 0
        frames = upscale_frames(
            decoded.items(), engine, tiling, config.scale, config.scene_cuts, context
        )
        for item in frames:
            if isinstance(item, tuple):
                frame, meta = item
                item = (None if meta.context else to_host(frame), meta)
                count += not meta.context
            encoded.put(item)
        return count

    threads = [_thread(decode, stop, errors), _thread(encode, stop, errors)]
    count = 0
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
