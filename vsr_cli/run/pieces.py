"""A long video in resumable pieces: which job an output belongs to, computing the pieces
still missing (of this segment's share), and joining them into the output."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from vsr_cli.config import Span, UpscaleConfig
from vsr_cli.context import RunContext
from vsr_cli.errors import InputError, OutputError
from vsr_cli.infer.engine import Engine
from vsr_cli.run.job import (
    Job,
    input_fingerprint,
    job_folder,
    plan_pieces,
    read_job,
    share,
    start_job,
)
from vsr_cli.run.paths import name_max
from vsr_cli.run.write import open_input, write_span
from vsr_cli.video.image_input import FrameSequence
from vsr_cli.video.reader import VideoReader
from vsr_cli.video.span import SAME_TIME, read_span


def job_for(
    reader: VideoReader,
    src: Path | FrameSequence,
    dst: Path,
    engine: Engine,
    config: UpscaleConfig,
    context: RunContext,
) -> Job | None:
    """The resumable job for this output (begun now, or found from an earlier run), or
    None where the video is written directly: an input that can't seek, whose frames and
    length are unknown, or a span shorter than two pieces (nothing worth resuming).
    Pieces are planned by frames where the frames' times are known; ``config``'s sizes are
    given (``pick_sizes``), and the job keeps its tile and chunk for every later run."""
    info, span, pieces = reader.info, config.span, config.pieces
    period = 1 / float(info.average_rate or 25)
    planned: list[Span] = []
    if reader.scan is not None:  # where the frames are (timestamps may leave long gaps)
        times = [t - reader.origin for t in reader.scan.times]
        planned = _plan_by_frames(span, times, max(1, round(pieces.seconds / period)))
    elif info.duration is not None:
        # Planned up to a frame before the end the file states, so that no piece lies
        # past the last frame (a piece that still does comes out empty).
        end = min(e for e in (span.end, info.duration) if e is not None) - period
        planned = plan_pieces(span, end, pieces.seconds) if end > span.start else []
    folder_fits = len(os.fsencode(job_folder(dst).name)) <= name_max(dst.parent)
    if not reader.can_seek or not planned or not folder_fits:
        if pieces.segment:
            raise InputError(f"{src}: --segment needs a file that can seek, of known length")
        return None
    if len(planned) < 2 and not pieces.segment:
        return None
    identity = json.loads(
        json.dumps(
            {
                "input": input_fingerprint(src),
                "settings": config.record()
                | {"precision": engine.precision, "model": engine.fingerprint},
            }
        )
    )
    found = read_job(dst)
    if found is not None and (found[1] != identity or not pieces.resume):
        if pieces.segment:
            raise OutputError(
                f"{found[0].folder}: holds pieces made from another input or with other "
                "settings; run every segment with the same command, or delete the folder"
            )
        if pieces.resume:
            context.warn("the input or the settings changed since the last run: starting over")
        found[0].remove()
        found = None
    if found is not None:
        return found[0]
    # The output's timestamps: the input's for a whole video (as a direct run keeps them),
    # from 0 for a section (as --ss makes them).
    base = 0.0
    if not span.whole:
        base = next(f.time for f in read_span(reader, set(), span, base=0.0) if not f.margin)
    tiling = config.tiling
    proposed = Job(job_folder(dst), planned, base, tiling.tile, tiling.chunk, dst.suffix)
    return start_job(dst, proposed, identity, Path(str(src)))


def _plan_by_frames(span: Span, times: list[float], per_piece: int) -> list[Span]:
    """``span`` cut into pieces of ``per_piece`` frames (``times``: every frame's, seconds
    after the first): a piece is where frames are, so a recording with a ten-minute gap in
    its timestamps is not planned as ten minutes of empty pieces."""
    inside = sorted(
        {t for t in times if t >= span.start - SAME_TIME and (span.end is None or t < span.end)}
    )
    starts = [span.start] + inside[per_piece::per_piece]
    return [
        Span(a, starts[i + 1] if i + 1 < len(starts) else span.end) for i, a in enumerate(starts)
    ]


def make_pieces(
    src: Path | FrameSequence,
    job: Job,
    engine: Engine,
    config: UpscaleConfig,
    context: RunContext,
    expected: int | None,
) -> int:
    """Compute the job's missing pieces (of this segment's share) with ``config``'s
    overlaps and chunk batch, and the job's own tile and chunk sizes; returns the frames.
    Every piece opens the input and an encoder again: give a ``context.once()``.
    ``expected``: the frames of the whole job, for a progress bar over all of it."""
    name = str(src)
    count = len(job.pieces)
    segment = config.pieces.segment
    mine = share(count, *segment) if segment else range(count)
    todo = job.missing(mine)
    config = replace(config, tiling=replace(config.tiling, tile=job.tile, chunk=job.chunk))
    reporter = context.reporter
    frames = 0
    # Pieces are of one length but the last: the frames of n of them, near enough.
    part = (lambda n: round(expected * n / count)) if expected is not None else (lambda n: 0)
    total = part(len(mine)) if expected is not None else None
    reporter.start(name, total, part(len(mine) - len(todo)), levers=engine.levers())
    if todo and len(todo) < len(mine):
        what = f"segment {segment[0]}/{segment[1]}: " if segment else ""
        context.status(
            f"resuming: {what}{len(mine) - len(todo)} of {len(mine)} pieces already done"
        )
    try:
        for index in todo:
            context.check_cancel()
            with open_input(src, name, config, context, count_frames=False) as reader:
                frames += write_span(
                    reader,
                    job.piece_path(index),
                    config,
                    engine,
                    context,
                    lambda n: reporter.advance(name, n),
                    job.pieces[index],
                    base=job.base,
                    copy_streams=False,
                    required=index == 0,
                )
    finally:
        reporter.finish(name)
    return frames


def segment_note(segment: tuple[int, int], left: int, output: Path) -> str:
    """What a ``--segment`` run says when its share is done."""
    k, n = segment
    todo = (
        f"{left} pieces of other segments still to make; then " if left else "every piece is made: "
    )
    return (
        f"segment {k}/{n} done; {todo}`vsr join {output}` (or this command without "
        "--segment) writes the output"
    )
