"""A section of a video in time: ``--ss``/``-t``/``--to``, and the pieces of a resumable job.

Reading a span seeks to the keyframe before it (where the input can seek) and
decodes forward. Frames inside the span come out as they are; up to ``margin``
frames on each side come out marked as margin, for the recurrence to see but
not to be written. Packets of copied streams come out when they start inside
the span. Every timestamp is moved back so that the span starts at 0, as
ffmpeg's ``-ss`` does.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from typing import TypeVar

import av

from vsr_cli.config import Span
from vsr_cli.errors import InputError
from vsr_cli.video.probe import ATTACHED_PIC
from vsr_cli.video.reader import DecodedFrame, VideoReader

SAME_TIME = 1e-6  # seconds: times closer than this are one time (rounding of time bases)
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
        if at is None or at <= want + SAME_TIME or want - back <= 0:
            return itertools.chain(head, items)
        back *= 4


def read_span(
    reader: VideoReader,
    copy: set[int],
    span: Span,
    margin: int = 0,
    base: float | None = None,
    required: bool = True,
) -> Iterator[DecodedFrame | av.Packet]:
    """The span's frames (``margin`` ones on each side marked so) and packets, their
    timestamps less ``base`` seconds (default: the span's first frame's time), in demux
    order. ``reader.media`` must not have been started. A span without frames is an
    error when ``required`` (a piece past a video shorter than it claims is not)."""
    period = 1 / float(reader.info.average_rate or 25)
    items = _from_before(
        reader,
        span.start - (margin + 1) * period,
        lambda: reader.media(copy),
        lambda item: item.time - reader.origin if isinstance(item, DecodedFrame) else None,
    )
    cut = _Cut(reader, span, margin, base)
    for item in items:
        if isinstance(item, av.Packet):
            yield from cut.packet(item)
        elif not (yield from cut.frame(item)):
            return
    if cut.first is None and required:
        raise InputError(f"{reader.name}: no frames after {span.start:.3f} s")


class _Cut:
    """``read_span``'s state: frames held before the span (its leading margin), packets
    demuxed before its first frame, and the shift of every timestamp once that frame is
    known."""

    def __init__(self, reader: VideoReader, span: Span, margin: int, base: float | None):
        self.reader, self.span, self.margin, self.base = reader, span, margin, base
        self.before: deque[DecodedFrame] = deque(maxlen=margin)
        self.held: list[av.Packet] = []
        self.first: float | None = None  # the span's first frame's time
        self.origin, self.shift_pts, self.after = 0.0, 0, 0

    def _moved(self, frame: DecodedFrame, margin: bool = False) -> DecodedFrame:
        pts, time = frame.pts - self.shift_pts, frame.time - self.origin
        return replace(frame, pts=pts, time=time, margin=margin)

    def _inside(self, seconds: float) -> bool:
        """Whether ``seconds`` (after the video's first frame) lies in the span."""
        start, end = self.span.start - SAME_TIME, self.span.end
        return seconds >= start and (end is None or seconds < end - SAME_TIME)

    def packet(self, packet: av.Packet) -> Iterator[av.Packet]:
        t = _time(packet)
        if packet.stream.disposition & ATTACHED_PIC:
            yield packet  # cover art: untimed
        elif t is None or not self._inside(t - self.reader.origin):
            return
        elif self.first is None:
            self.held.append(packet)
        elif t >= self.first - SAME_TIME:
            yield _shifted(packet, self.origin)

    def frame(self, frame: DecodedFrame) -> Generator[DecodedFrame | av.Packet, None, bool]:
        """What ``frame`` lets out; False once nothing later can be in the span."""
        rel = frame.time - self.reader.origin
        if self.first is None:
            if rel < self.span.start - SAME_TIME:
                self.before.append(frame)
                return True
            yield from self._start(frame)
        end = self.span.end
        if end is None or rel < end - SAME_TIME:
            yield self._moved(frame)
            return True
        if self.after < self.margin:
            self.after += 1
            yield self._moved(frame, margin=True)
        return rel < end + AFTER_END

    def _start(self, frame: DecodedFrame) -> Iterator[DecodedFrame | av.Packet]:
        """The span's first frame: timestamps count from here (or ``base``), and what was
        held for it comes out."""
        self.first = frame.time
        self.origin = self.base if self.base is not None else self.first
        self.shift_pts = round(self.origin / self.reader.info.time_base)
        for held in self.before:
            yield self._moved(held, margin=True)
        for packet in self.held:
            if _time(packet) >= self.first - SAME_TIME:
                yield _shifted(packet, self.origin)


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
        elif t is None or (not span.whole and t < base - SAME_TIME):
            continue
        elif span.end is not None and t - reader.origin >= span.end - SAME_TIME:
            if t - reader.origin >= span.end + AFTER_END:
                return
        else:
            yield _shifted(packet, base)
