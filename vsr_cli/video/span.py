"""A section of a video in time: ``--ss``/``-t``/``--to``, and the pieces of a resumable job.

Reading a span seeks to the keyframe before it (where the input can seek) and
decodes forward. Frames inside the span come out as they are; up to ``context``
frames on each side come out marked as context, for the recurrence to see but
not to be written. Packets of copied streams come out when they start inside
the span. Every timestamp is moved back so that the span starts at 0, as
ffmpeg's ``-ss`` does.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TypeVar

import av

from vsr_cli.config import Span
from vsr_cli.errors import InputError
from vsr_cli.video.reader import ATTACHED_PIC, DecodedFrame, VideoReader

SEEK_BACK = 1.0  # seconds before the context to seek to (more if the demuxer lands late)
AFTER_END = 1.0  # seconds read past the end for packets demuxed behind the video
T = TypeVar("T")


def _time(packet: av.Packet) -> float | None:
    ts = packet.pts if packet.pts is not None else packet.dts
    return None if ts is None or not packet.time_base else float(ts * packet.time_base)


def _shifted(packet: av.Packet, base: float) -> av.Packet:
    shift = round(base / packet.time_base)
    if packet.pts is not None:
        packet.pts -= shift
    if packet.dts is not None:
        packet.dts -= shift
    return packet


def _from_before(
    reader: VideoReader,
    want: float,
    start: Callable[[], Iterator[T]],
    landed: Callable[[T], float | None],
) -> Iterator[T]:
    """``start()`` (``reader.media`` or ``reader.packets``) from a keyframe at or before
    ``want`` seconds after the first frame: a demuxer that lands later than asked (the
    first item with a time, ``landed``) is asked again, further back."""
    if want <= 0 or not reader.can_seek:
        return start()
    back = SEEK_BACK
    while True:
        reader.seek(want - back)
        items = start()
        head = []
        for item in items:
            head.append(item)
            if landed(item) is not None:
                break
        at = landed(head[-1]) if head else None
        if at is None or at <= want + 1e-6 or want - back <= 0:
            return itertools.chain(head, items)
        back *= 4


def read_span(
    reader: VideoReader,
    copy: set[int],
    span: Span,
    context: int = 0,
    base: float | None = None,
    required: bool = True,
) -> Iterator[DecodedFrame | av.Packet]:
    """The span's frames (``context`` ones on each side marked so) and packets, their
    timestamps less ``base`` seconds (default: the span's first frame's time), in demux
    order. ``reader.media`` must not have been started. A span without frames is an
    error when ``required`` (a piece past a video shorter than it claims is not)."""
    period = 1 / float(reader.info.average_rate or 25)
    items = _from_before(
        reader,
        span.start - (context + 1) * period,
        lambda: reader.media(copy),
        lambda item: item.time - reader.origin if isinstance(item, DecodedFrame) else None,
    )
    before: deque[DecodedFrame] = deque(maxlen=context)
    held: list[av.Packet] = []  # packets inside the span demuxed before its first frame
    first: float | None = None  # the span's first frame's time
    origin, shift_pts, after = 0.0, 0, 0

    def moved(frame: DecodedFrame, context: bool = False) -> DecodedFrame:
        return replace(frame, pts=frame.pts - shift_pts, time=frame.time - origin, context=context)

    for item in items:
        if isinstance(item, av.Packet):
            t = _time(item)
            if item.stream.disposition & ATTACHED_PIC:
                yield item  # cover art: untimed
            elif t is None or t - reader.origin < span.start - 1e-6:
                continue
            elif span.end is not None and t - reader.origin >= span.end - 1e-6:
                continue
            elif first is None:
                held.append(item)
            elif t >= first - 1e-6:
                yield _shifted(item, origin)
            continue
        rel = item.time - reader.origin
        if first is None:
            if rel < span.start - 1e-6:
                before.append(item)
                continue
            first = item.time
            origin = base if base is not None else first
            shift_pts = round(origin / reader.info.time_base)
            for frame in before:
                yield moved(frame, context=True)
            for packet in held:
                if _time(packet) >= first - 1e-6:
                    yield _shifted(packet, origin)
        if span.end is not None and rel >= span.end - 1e-6:
            if after < context:
                after += 1
                yield moved(item, context=True)
            if rel >= span.end + AFTER_END:
                return
            continue
        yield moved(item)
    if first is None and required:
        raise InputError(f"{reader.name}: no frames after {span.start:.3f} s")


def read_packets(
    reader: VideoReader, copy: set[int], span: Span, base: float
) -> Iterator[av.Packet]:
    """The ``copy`` streams' packets that start inside ``span``, less ``base`` seconds, as
    ``read_span`` gives them, decoding no video; for the whole video, all of them (an
    audio encoder's priming packets are timed before the first frame), as a direct
    run copies them."""
    packets = _from_before(
        reader,
        span.start,
        lambda: reader.packets(copy),
        lambda packet: None if _time(packet) is None else _time(packet) - reader.origin,
    )
    for packet in packets:
        t = _time(packet)
        if packet.stream.disposition & ATTACHED_PIC:
            yield packet
        elif t is None or (not span.whole and t < base - 1e-6):
            continue
        elif span.end is not None and t - reader.origin >= span.end - 1e-6:
            if t - reader.origin >= span.end + AFTER_END:
                return
        else:
            yield _shifted(packet, base)
