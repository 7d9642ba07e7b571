"""One video, start to end: where it comes from and goes, the sizes that fit, and whether
it is written directly or as a resumable job of pieces."""

from __future__ import annotations

import functools
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from vsr_cli.config import Span, UpscaleConfig
from vsr_cli.context import RunContext
from vsr_cli.errors import InputError
from vsr_cli.infer.engine import Engine
from vsr_cli.infer.sequence import pick_sizes
from vsr_cli.run.assemble import join_job
from vsr_cli.run.image_files import write_frames
from vsr_cli.run.paths import STDIO, check_paths, make_folder
from vsr_cli.run.pieces import job_for, make_pieces
from vsr_cli.run.write import open_input, write_span
from vsr_cli.video.image_input import FrameSequence
from vsr_cli.video.image_output import SequenceTarget
from vsr_cli.video.probe import VideoInfo
from vsr_cli.video.publish import is_special


@dataclass(frozen=True)
class Result:
    frames: int  # computed by this run
    seconds: float
    video_seconds: float | None = None  # the output's length, where known
    pieces_left: int | None = None  # of a --segment run: pieces still to make (not joined)


def upscale_video(
    src: Path | FrameSequence | BinaryIO,
    dst: Path | SequenceTarget | BinaryIO,
    engine: Engine,
    config: UpscaleConfig,
    context: RunContext,
) -> Result:
    """Upscale ``src`` into ``dst``: paths (``-``: stdin / stdout), binary file objects,
    or image files (a ``FrameSequence`` in, a ``SequenceTarget`` out). A file appears only
    when complete; a long one is made in resumable pieces; image files one by one."""
    source = sys.stdin.buffer if src == STDIO else src
    target = sys.stdout.buffer if dst == STDIO else dst
    if isinstance(target, Path):
        check_paths(source if isinstance(source, Path) else STDIO, target, config.overwrite)
        if not is_special(target):
            make_folder(target.parent)
    started = time.perf_counter()
    name = str(source) if isinstance(source, Path) else getattr(source, "name", "stream")
    name = "stdin" if src == STDIO else str(name)
    # Each warning once for the file: a job's pieces open the input and an encoder again.
    context = context.for_file(name).once()
    reporter = context.reporter
    with open_input(source, name, config, context) as reader:
        info = reader.info
        config = pick_sizes(engine, info.width, info.height, config)
        expected = expected_frames(info, config.span)
        engine.compile_for(expected)
        if isinstance(target, SequenceTarget):
            reporter.start(name, expected, levers=engine.levers())
            try:
                advance = functools.partial(reporter.advance, name)
                frames = write_frames(reader, source, target, config, engine, context, advance)
            finally:
                reporter.finish(name)
            return Result(frames, time.perf_counter() - started, _seconds(frames, info))
        job = None
        if (
            isinstance(source, Path | FrameSequence)
            and isinstance(target, Path)
            and not (is_special(target))
        ):
            job = job_for(reader, source, target, engine, config, context)
        elif config.pieces.segment:
            raise InputError("--segment works on files, not pipes or streams")
        if job is None:
            reporter.start(name, expected, levers=engine.levers())
            try:
                frames = write_span(
                    reader,
                    target,
                    config,
                    engine,
                    context,
                    lambda n: reporter.advance(name, n),
                    config.span,
                )
            finally:
                reporter.finish(name)
            return Result(frames, time.perf_counter() - started, _seconds(frames, info))
    frames = make_pieces(source, job, engine, config, context, expected)
    if config.pieces.segment:  # joined by `vsr join` or a plain run: never by two segments
        return Result(frames, time.perf_counter() - started, pieces_left=len(job.missing()))
    join_job(job, source, target, config, context)
    whole = expected if expected is not None else frames
    return Result(frames, time.perf_counter() - started, _seconds(whole, info))


def _seconds(frames: int, info: VideoInfo) -> float | None:
    """The output's length in seconds, at the input's average rate."""
    return frames / float(info.average_rate) if info.average_rate else None


def expected_frames(info: VideoInfo, span: Span) -> int | None:
    """For the progress bar: the input's frames, or an estimate of the span's."""
    if span.whole:
        return info.frame_count
    end = span.end if span.end is not None else info.duration
    if end is None or not info.average_rate:
        return None
    return max(0, round((end - span.start) * float(info.average_rate)))
