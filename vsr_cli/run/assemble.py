"""A job's output from its pieces: what ``vsr join`` does, and a long run at its end.

The pieces' video packets are copied, not computed again, and the input's other streams
join them (``video/join.py``); no model is involved, so none is loaded.
"""

from __future__ import annotations

from pathlib import Path

from vsr_cli.config import Span, UpscaleConfig
from vsr_cli.context import RunContext
from vsr_cli.errors import InputError
from vsr_cli.run.job import Job, input_fingerprint, job_folder, read_job
from vsr_cli.run.paths import check_paths
from vsr_cli.run.work import as_source
from vsr_cli.video.image_input import FrameSequence
from vsr_cli.video.join import mux_pieces, open_piece
from vsr_cli.video.reader import VideoReader
from vsr_cli.video.spec import OutputSpec
from vsr_cli.video.writer import VideoWriter


def join_job(
    job: Job, source: Path | FrameSequence, target: Path, config: UpscaleConfig, context: RunContext
) -> None:
    """Write ``target`` (atomically) from all the job's pieces, and remove the job."""
    pieces = [job.piece_path(i) for i in range(len(job.pieces))]
    whole = Span(job.pieces[0].start, job.pieces[-1].end)
    with open_piece(pieces[0]) as first:
        with VideoReader(source, str(source), context, False, config.deinterlace) as reader:
            spec = OutputSpec.from_source(reader, config.scale, whole)
            template = first.streams.video[0]
            with VideoWriter(
                target, spec, config.encode, context, config.format, video_template=template
            ) as writer:
                mux_pieces(writer, reader, pieces, whole, job.base)
    job.remove()


def join_output(output: Path, overwrite: bool, context: RunContext) -> int:
    """``vsr join``: the output of a job whose segments are all made; returns the pieces."""
    found = read_job(output)
    if found is None:
        raise InputError(f"{output}: no pieces beside it ({job_folder(output)} is missing)")
    job, identity, path = found
    try:
        config = UpscaleConfig.from_record(identity["settings"])
    except ValueError:
        raise InputError(f"{job.folder}: pieces of another version of vsr-cli") from None
    try:  # a video file, or image frames (a pattern or a folder) at the recorded rate
        source = as_source(path, config.fps)
        unchanged = input_fingerprint(source) == identity["input"]
    except (InputError, OSError):
        unchanged = False
    if not unchanged:
        raise InputError(f"{path}: the input is missing or changed since the pieces")
    missing = job.missing()
    if missing:
        raise InputError(
            f"{output}: {len(missing)} of {len(job.pieces)} pieces are not made yet "
            f"(the first: {missing[0] + 1}); run the remaining segments"
        )
    check_paths(path, output, overwrite)
    join_job(job, source, output, config, context.for_file(str(source)).once())
    return len(job.pieces)
