"""What a command line asks to upscale, checked before any weights load: the paths, the
work list of a batch and its shard, and the encoder of each output container.

The work list is sorted, so ``--shard K/N`` (every N-th item from the K-th) gives N
machines disjoint, stable shares with no coordinator.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vsr_cli.config import UpscaleConfig, parse_k_of_n
from vsr_cli.errors import InputError, UsageError
from vsr_cli.run.paths import STDIO, check_paths, is_dir
from vsr_cli.video.encoder import check_encoder
from vsr_cli.video.writer import muxer_for

VIDEO_EXTENSIONS = frozenset(
    ".3g2 .3gp .asf .avi .divx .f4v .flv .m2t .m2ts .m2v .m4v .mkv .mod .mov .mp4 .mpeg .mpg "
    ".mts .mxf .nut .ogv .tod .ts .vob .webm .wmv .y4m".split()
)


@dataclass(frozen=True)
class Task:
    src: Path
    dst: Path


def collect(inputs: list[Path], out_dir: Path, recursive: bool, ext: str | None) -> list[Task]:
    """Every video among ``inputs`` (files, or folders searched by extension), sorted,
    each with its output path under ``out_dir`` (same relative path and name).

    The output folder is never searched (it may sit inside an input folder, holding an
    earlier run's outputs), and two inputs bound for one output are refused before any
    work rather than one overwriting the other.
    """
    out_root = out_dir.resolve()
    tasks = []
    for item in inputs:
        if item.is_dir():
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
            tasks += [Task(p, out_dir / p.relative_to(item)) for p in videos]
        else:
            tasks.append(Task(item, out_dir / item.name))
    if ext:
        suffix = ext if ext.startswith(".") else f".{ext}"
        tasks = [Task(t.src, t.dst.with_suffix(suffix)) for t in tasks]
    tasks.sort(key=lambda t: str(t.src))
    seen: dict[Path, Path] = {}
    for task in tasks:
        first = seen.setdefault(task.dst, task.src)
        if first != task.src:
            raise InputError(f"{first} and {task.src} would both be written to {task.dst}")
    return tasks


def take_shard(tasks: list[Task], k: int, n: int) -> list[Task]:
    return tasks[k - 1 :: n]


@dataclass(frozen=True)
class Work:
    """One file (``tasks`` None), or a batch's work list into the ``output`` folder;
    ``skipped``: one file whose output exists, with ``skip_existing`` (nothing to load,
    nothing to do)."""

    inputs: list[Path]
    output: Path
    config: UpscaleConfig
    tasks: list[Task] | None
    skipped: bool = False


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
    under their own names."""
    folder = isinstance(output, str) and output.endswith(("/", os.sep))
    output = Path(output)
    single = len(inputs) == 1 and not is_dir(inputs[0]) and not is_dir(output) and not folder
    if single and skip_existing and output != STDIO and output.exists():
        return Work(inputs, output, config, None, skipped=True)
    if not single and (STDIO in inputs or output == STDIO):
        raise UsageError("stdin/stdout (-) take one input and one output")
    if output == STDIO and not config.format:
        raise UsageError("--format: writing to stdout needs one (e.g. matroska)")
    if config.pieces.segment and not single:
        raise UsageError("--segment splits one video; for many, use --shard")
    tasks = None
    if single:
        check_paths(inputs[0], output, config.overwrite)
        if inputs[0] != STDIO and not inputs[0].exists():
            raise InputError(f"{inputs[0]}: no such file")
    else:
        tasks = collect(inputs, output, recursive, ext)
        if shard:
            tasks = take_shard(tasks, *parse_k_of_n(shard, "--shard"))
    targets = [output] if tasks is None else [t.dst for t in tasks]
    containers = {muxer_for(t, config.format) for t in targets if t != STDIO or config.format}
    for container in sorted(containers):  # each output container's encoder, with your options
        check_encoder(config.encode, container)
    return Work(inputs, output, config, tasks)
