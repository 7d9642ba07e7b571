"""Finished pieces -> one output: their video by stream copy, the input's other streams.

The output's video stream is the first piece's (which the writer made as for a
direct run: same encoder settings, colours, HDR, rotation, aspect ratio), and
every piece's packets are copied into it; audio, subtitles, chapters and tags
come from the input, cut to the job's span, as in a direct run. No frame is
decoded or encoded again.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from pathlib import Path

import av

from vsr_cli.config import Span
from vsr_cli.errors import InputError
from vsr_cli.video.ffmpeg import ffmpeg_reason
from vsr_cli.video.reader import VideoReader
from vsr_cli.video.span import read_packets
from vsr_cli.video.writer import VideoWriter


def open_piece(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path))
    except av.error.FFmpegError as e:
        raise InputError(f"{path}: a damaged piece ({ffmpeg_reason(e)}); delete it") from None


def _piece_packets(paths: list[Path]) -> Iterator[tuple[float, av.Packet]]:
    """(time to order by, packet) of every piece in turn. Matroska leaves some decode
    timestamps out (B-frames): those packets keep the previous packet's place."""
    last = -math.inf
    for path in paths:
        try:
            with av.open(str(path)) as piece:
                stream = piece.streams.video[0]
                for packet in piece.demux(stream):
                    if packet.size:
                        if packet.dts is not None:
                            last = max(last, _time(packet))
                        yield last, packet
        except (av.error.FFmpegError, IndexError) as e:
            raise InputError(f"{path}: a damaged piece ({ffmpeg_reason(e)}); delete it") from None


def _time(packet: av.Packet) -> float:
    ts = packet.dts if packet.dts is not None else packet.pts
    return float(ts * packet.time_base) if ts is not None and packet.time_base else 0.0


def mux_pieces(
    writer: VideoWriter, reader: VideoReader, pieces: list[Path], span: Span, base: float
) -> None:
    """Write the ``pieces``' video and ``reader``'s other streams over ``span`` (less
    ``base`` seconds) into ``writer``, in time order, and finish it."""
    copies = read_packets(reader, writer.copied_streams, span, base)
    merged = heapq.merge(
        ((t, True, p) for t, p in _piece_packets(pieces)),
        ((_time(p), False, p) for p in copies),
        key=lambda item: item[0],
    )
    for _, from_piece, packet in merged:
        if from_piece:
            writer.write_encoded(packet)
        else:
            writer.mux_packet(packet)
    writer.finish()
