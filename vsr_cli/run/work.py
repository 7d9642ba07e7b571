"""What a command line asks to upscale, checked before any weights load: the paths, the
work list of a batch and its shard, and the encoder of each output container.

The work list is sorted, so ``--shard K/N`` (every N-th item from the K-th) gives N
machines disjoint, stable shares with no coordinator.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from vsr_cli.config import UpscaleConfig, parse_k_of_n
from vsr_cli.errors import InputError, UsageError
from vsr_cli.run.paths import STDIO, check_paths, concat_parts, is_dir
from vsr_cli.video.encoder import check_encoder
from vsr_cli.video.image_input import FrameSequence, find_frames, is_frame_folder, is_pattern
from vsr_cli.video.image_output import SequenceTarget, encoder_for
from vsr_cli.video.probe import VIDEO_EXTENSIONS
from vsr_cli.video.writer import muxer_for

Source = Path | FrameSequence
Target = Path | SequenceTarget


@dataclass(frozen=True)
class Task:
    src: Source
    dst: Target


def collect(
    inputs: list[Path],
    out_dir: Path,
    recursive: bool,
    ext: str | None,
    fps: Fraction = Fraction(25),
) -> list[Task]:
    """Every video among ``inputs`` (files, or folders searched by extension), sorted,
    each with its output path under ``out_dir`` (same relative path and name).

    A folder of image frames is one clip, written as frames of the same names into a
    folder of its name. The output folder is never searched (it may sit inside an input
    folder, holding an earlier run's outputs), and two inputs bound for one output are
    refused before any work rather than one overwriting the other; so is a folder with
    nothing to upscale in it.
    """
    out_root = out_dir.resolve()
    tasks: list[Task] = []
    for item in inputs:
        source = as_source(item, fps)
        if isinstance(source, FrameSequence):
            names = tuple(f.name for f in source.files)
            tasks.append(Task(source, SequenceTarget(out_dir / item.name, names=names)))
        elif item.is_dir():
            found = item.rglob("*") if recursive else item.iterdir()
            videos = [
                p
                for p in found
                if p.is_file()
                and p.suffix.lower() in VIDEO_EXTENSIONS
                and out_root not in p.resolve().parents
                # not hidden: vsr-cli's own job folders and partial files are
                and not any(part.startswith(".") for part in p.relative_to(item).parts)
            ]
            if not videos and not recursive:
                raise UsageError(f"{item}: no videos or image frames in the folder")
            tasks += [Task(p, out_dir / p.relative_to(item)) for p in videos]
        else:
            tasks.append(Task(item, out_dir / item.name))
    if ext:
        suffix = ext if ext.startswith(".") else f".{ext}"
        tasks = [Task(t.src, _with_suffix(t.dst, suffix)) for t in tasks]
    tasks.sort(key=lambda t: str(t.src))
    seen: dict[str, Source] = {}
    for task in tasks:
        first = seen.setdefault(str(task.dst), task.src)
        if first != task.src:
            raise InputError(f"{first} and {task.src} would both be written to {task.dst}")
    return tasks


def _with_suffix(target: Target, suffix: str) -> Target:
    """``--ext``: a frame folder becomes a video of the folder's name."""
    if isinstance(target, SequenceTarget):
        return target.folder.with_name(target.folder.name + suffix)
    return target.with_suffix(suffix)


def take_shard(tasks: list[Task], k: int, n: int) -> list[Task]:
    return tasks[k - 1 :: n]


@dataclass(frozen=True)
class Work:
    """One clip (``tasks`` None: ``source`` into ``target``), or a batch's work list into
    the ``output`` folder; ``skipped``: one file whose output exists, with
    ``skip_existing`` (nothing to load, nothing to do)."""

    inputs: list[Path]
    output: Path
    config: UpscaleConfig
    tasks: list[Task] | None
    skipped: bool = False
    source: Source | None = None
    target: Target | None = None


def plan_work(
    inputs: list[Path],
    output: str | Path,
    config: UpscaleConfig,
    recursive: bool = False,
    ext: str | None = None,
    shard: str | None = None,
    skip_existing: bool = False,
) -> Work:
    """Refuse what can't work before any weights load (or download): pipes among many,
    stdout without a container, a missing input, an output that must not be written, two
    inputs bound for one output, a container or encoder that can't take the output.
    ``output`` naming a folder (one that exists, or a name ending in /) takes the inputs
    under their own names; an image sequence in (a pattern, or a folder of frames) is one
    clip, and a pattern out (``out/%06d.png``) writes frames."""
    as_folder = isinstance(output, str) and output.endswith(("/", os.sep))
    output = Path(output)
    clip = _clip(inputs, config)
    into_folder = as_folder or is_dir(output)
    single = len(inputs) == 1 and (clip is not None or not (is_dir(inputs[0]) or into_folder))
    if not single and (STDIO in inputs or output == STDIO):
        raise UsageError("stdin/stdout (-) take one input and one output")
    if output == STDIO and not config.format:
        raise UsageError("--format: writing to stdout needs one (e.g. matroska)")
    if output == STDIO and sys.stdout.isatty():  # as gzip does
        raise UsageError("-: stdout is a terminal; redirect it (> out.mkv) or pipe it on")
    if config.pieces.segment and not single:
        raise UsageError("--segment splits one video; for many, use --shard")
    if not single:
        tasks = collect(inputs, output, recursive, ext, config.fps)
        if shard:
            tasks = take_shard(tasks, *parse_k_of_n(shard, "--shard"))
        check_outputs([t.dst for t in tasks], config)
        return Work(inputs, output, config, tasks)
    source = clip if clip is not None else inputs[0]
    target = as_target(output, source, into_folder)
    if isinstance(target, Path):
        if skip_existing and target != STDIO and target.exists():
            return Work(inputs, output, config, None, skipped=True)
        check_paths(source if isinstance(source, Path) else STDIO, target, config.overwrite)
    if isinstance(source, Path) and source != STDIO:
        _check_exists(source)
    check_outputs([target], config)
    return Work(inputs, output, config, None, source=source, target=target)


def _check_exists(source: Path) -> None:
    """The input file, or each file of a ``concat:`` input."""
    for path in concat_parts(source) or [source]:
        if not path.exists():
            where = f" (in {source})" if path != source else ""
            raise InputError(f"{path}: no such file{where}")


def _clip(inputs: list[Path], config: UpscaleConfig) -> FrameSequence | None:
    """The one input, where it is an image sequence (a pattern or a folder of frames)."""
    if len(inputs) != 1:
        return None
    found = as_source(inputs[0], config.fps)
    return found if isinstance(found, FrameSequence) else None


def as_source(path: Path, fps: Fraction) -> Source:
    """An image sequence where ``path`` is a pattern or a folder of frames, else a file."""
    if is_pattern(path) or is_frame_folder(path):
        return find_frames(path, fps)
    return path


def existing_clip(path: str | os.PathLike) -> Source:
    """A video file, or image frames (a pattern or a folder of them, at 25 fps)."""
    found = as_source(Path(path), Fraction(25))
    if isinstance(found, Path) and not found.is_file():
        raise InputError(f"{path}: no such file")
    return found


def as_target(output: Path, source: Source, into_folder: bool) -> Target:
    """A pattern writes frames; a folder takes a sequence's frames under their names."""
    if is_pattern(output):
        return SequenceTarget(output.parent, output.name)
    if isinstance(source, FrameSequence) and into_folder:
        return SequenceTarget(output, names=tuple(f.name for f in source.files))
    return output


def check_outputs(targets: list[Target], config: UpscaleConfig) -> None:
    """Each output's encoder, with the options given, before any work."""
    frames = [t for t in targets if isinstance(t, SequenceTarget)]
    for target in frames:
        encoder_for(target)
    if frames and config.encode.codec:
        raise UsageError(
            f"--codec: image files take their encoder from the extension "
            f"({frames[0].suffix}); leave --codec out"
        )
    videos = [t for t in targets if isinstance(t, Path) and (t != STDIO or config.format)]
    for container in sorted({muxer_for(t, config.format) for t in videos}):
        check_encoder(config.encode, container)
