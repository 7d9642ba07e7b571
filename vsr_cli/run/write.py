"""The one path from an input to an output file: reader -> model -> writer. Direct runs
and each piece of a resumable job write through ``write_span``; joining pieces opens the
same reader and output spec, and copies the pieces' video instead of computing it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import av

from vsr_cli.config import Span, UpscaleConfig
from vsr_cli.context import RunContext
from vsr_cli.infer.engine import Engine
from vsr_cli.run.pump import pump
from vsr_cli.video.image_output import FrameSequenceWriter, SequenceTarget
from vsr_cli.video.reader import DecodedFrame, VideoReader
from vsr_cli.video.span import read_span
from vsr_cli.video.spec import OutputSpec
from vsr_cli.video.writer import VideoWriter


def open_input(
    source: Path | BinaryIO,
    name: str,
    config: UpscaleConfig,
    context: RunContext,
    count_frames: bool = True,
) -> VideoReader:
    """The input, deinterlaced as ``config`` says."""
    return VideoReader(source, name, context, count_frames, config.deinterlace)


def write_span(
    reader: VideoReader,
    target: Path | BinaryIO | SequenceTarget,
    config: UpscaleConfig,
    engine: Engine,
    context: RunContext,
    advance: Callable[[int], None],
    span: Span,
    base: float | None = None,
    copy_streams: bool = True,
    required: bool = True,
) -> int:
    """Upscale ``span`` of ``reader`` into ``target`` as ``config`` says (sizes given:
    ``pick_sizes``); returns the frames written.

    ``base``: the input time the output's timestamps count from (default: the span's
    first frame, as ``--ss`` does). ``copy_streams``: False for the video alone (a piece
    of a resumable job: the other streams come in when the pieces are joined).
    ``required``: a span without frames is an error (not for a piece past the end of a
    video shorter than it said, which comes out empty).
    """
    spec = OutputSpec.from_source(reader, config.scale, span, copy_streams)
    writer: VideoWriter | FrameSequenceWriter
    if isinstance(target, SequenceTarget):
        writer = FrameSequenceWriter(target, spec, context)
    else:
        writer = VideoWriter(target, spec, config.encode, context, config.format)
    with writer:
        overlap = config.tiling.chunk_overlap
        media = _media(reader, writer.copied_streams, span, overlap, base, required)
        return pump(media, writer, config, engine, context, advance)


def _media(
    reader: VideoReader,
    copy: set[int],
    span: Span,
    margin: int,
    base: float | None,
    required: bool,
) -> Iterator[DecodedFrame | av.Packet]:
    """The frames (and ``copy`` streams' packets) to work on: the whole input, or a span
    with margin frames around it."""
    if span.whole and base is None:
        return reader.media(copy)
    return read_span(reader, copy, span, margin, base, required)
