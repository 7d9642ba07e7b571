"""A run whose output is image files: made in pieces of ``--piece-seconds`` of frames, as a
long video is, so that a killed run's rerun keeps the pieces already written and makes the
rest exactly as an uninterrupted run would (a piece reads a few frames before it for the
recurrence to see, whether or not the run was interrupted).

A record beside the frames (``.vsr-frames.json``: the input, the settings, the model and
how many frames are complete) says which frames are whole and still wanted: existence
alone does not (a frame of another input or model has the same name).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from vsr_cli.config import Span, UpscaleConfig
from vsr_cli.context import RunContext
from vsr_cli.errors import OutputError
from vsr_cli.infer.engine import Engine
from vsr_cli.run.job import input_fingerprint
from vsr_cli.run.write import open_input, write_span
from vsr_cli.video.image_input import FrameSequence
from vsr_cli.video.image_output import SequenceTarget
from vsr_cli.video.reader import VideoReader

RECORD = ".vsr-frames.json"


def write_frames(
    reader: VideoReader,
    source: Path | FrameSequence,
    target: SequenceTarget,
    config: UpscaleConfig,
    engine: Engine,
    context: RunContext,
    advance: Callable[[int], None],
) -> int:
    """Upscale ``reader``'s span into image files, piece by piece (a whole span that the
    input can seek in); returns the frames this run wrote."""
    identity = {
        "input": _fingerprint(source),
        "settings": config.record(),
        "model": engine.fingerprint,
        "target": str(target),
    }
    record = target.folder / RECORD
    done = _complete(record, identity, target, config)
    target.make_folder()
    _write_record(record, identity | {"done": done})  # this run's, from its first frame on
    times = [t - reader.origin for t in reader.scan.times] if reader.scan else []
    if not (config.span.whole and reader.can_seek and times):  # one go
        written = write_span(reader, target, config, engine, context, advance, config.span)
        _write_record(record, identity | {"done": written})
        return written
    per_piece = max(1, round(config.pieces.seconds * float(reader.info.average_rate or 25)))
    starts = list(range(done - done % per_piece, len(times), per_piece))
    if done:
        context.status(f"resuming: {done} of {len(times)} frames already written")
        advance(done - done % per_piece)
    written = 0
    for start in starts:
        context.check_cancel()
        stop = start + per_piece
        span = Span(times[start], times[stop] if stop < len(times) else None)
        piece = replace(target, first=start)
        with open_input(source, str(source), config, context, count_frames=False) as again:
            written += write_span(again, piece, config, engine, context, advance, span, base=0.0)
        _write_record(record, identity | {"done": min(stop, len(times))})
    return written


def _complete(record: Path, identity: dict, target: SequenceTarget, config: UpscaleConfig) -> int:
    """Frames an earlier run of this command left whole, from its record; 0 if none or
    if it was another command's. Frames of another run are replaced only with -y."""
    try:
        found = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        found = None
    if isinstance(found, dict) and config.span.whole and config.pieces.resume:
        done = found.pop("done", 0)
        if found == json.loads(json.dumps(identity)) and all(
            (target.folder / target.name_of(i)).is_file() for i in range(done)
        ):
            return done
    if not config.overwrite and (target.folder / target.name_of(0)).exists():
        raise OutputError(
            f"{target.folder / target.name_of(0)}: exists (frames of another run); pass "
            "--overwrite (-y) to replace them"
        )
    return 0


def _write_record(record: Path, content: dict) -> None:
    with contextlib.suppress(OSError):
        with tempfile.NamedTemporaryFile(
            "w", dir=record.parent, prefix=".vsr-", suffix=".tmp", delete=False
        ) as partial:
            json.dump(content, partial)
        os.replace(partial.name, record)


def _fingerprint(source: Path | FrameSequence | object) -> dict:
    if isinstance(source, Path | FrameSequence):
        return input_fingerprint(source)
    return {"stream": os.urandom(8).hex()}  # a pipe: nothing to resume from
