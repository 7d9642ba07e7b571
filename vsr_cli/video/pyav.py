"""The reads whose PyAV API moved between releases, in one place, so the reader never meets
an ``AttributeError`` from a release it was not written on. ``tests/test_pyav.py`` pins
each behaviour we rely on, naming the release when one breaks.

- Frame side data: 18.1.0 iterates ``frame.side_data`` as its entries, 18.1.1 as their
  types; ``side_data.get(type)`` works on both.
- The floor is 18.1: 18.0 has neither ``VideoCodecContext.field_order`` nor
  ``VideoFrame.metadata`` (where idet's verdicts arrive), so interlacing can't be told.
"""

from __future__ import annotations

import struct

import av
from av.sidedata.sidedata import Type as SideDataType

# AVFieldOrder (libavcodec/defs.h) -> FFmpeg's name ("tt": top coded and shown first)
_FIELD_ORDERS = {0: "", 1: "progressive", 2: "tt", 3: "bb", 4: "tb", 5: "bt"}


def side_data(frame: av.VideoFrame, kind: str) -> bytes | None:
    """The bytes of the frame's side data of type ``kind`` (a ``Type`` member's name, e.g.
    ``"MASTERING_DISPLAY_METADATA"``), or None when the frame carries none."""
    entry = frame.side_data.get(SideDataType[kind])
    return None if entry is None else bytes(entry)


def display_matrix(frame: av.VideoFrame) -> tuple[int, ...] | None:
    """The frame's display matrix, FFmpeg's nine 32-bit integers (a rotation, a mirror or
    both), or None where it has none: kept whole, since a rotation angle can't tell a
    mirrored picture from a turned one."""
    data = side_data(frame, "DISPLAYMATRIX")
    return None if data is None or len(data) != 36 else struct.unpack("=9i", data)


def field_order(stream: av.video.stream.VideoStream) -> str:
    """FFmpeg's name for the field order the stream declares, "" where it declares none."""
    value = stream.codec_context.field_order
    if isinstance(value, int):
        return _FIELD_ORDERS.get(value, "")
    return "" if value in (None, "unknown") else str(value)
