"""The command line: options in, one job out; errors out as one line and an exit code.

The only module that talks to the terminal. Exit codes: 0 done, 1 failed,
2 usage error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM); either way no
output file or temporary file is left. ``VSR_DEBUG=1`` shows tracebacks.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import re
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import torch
import typer
from huggingface_hub.utils import disable_progress_bars
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from vsr_cli.api import devices, load_engines, make_options
from vsr_cli.api import upscale as api_upscale
from vsr_cli.batch import collect, parse_shard, run_batch, take_shard
from vsr_cli.bench import bench_rows, run_bench
from vsr_cli.engine import Engine
from vsr_cli.errors import EncoderOptionError, InputError, OutputError, VsrError
from vsr_cli.job import PIECE_SECONDS, input_fingerprint, job_folder, read_job
from vsr_cli.model_store import StoredModel, fetch, stored
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.pipeline import STDIO, check_paths
from vsr_cli.plan import MIN_TILE
from vsr_cli.precision import PRECISIONS, resolve_precision
from vsr_cli.progress import JsonReporter, Outcome, QuietReporter, Reporter, RichReporter
from vsr_cli.quality.compare import compare_frames, compare_video, default_times
from vsr_cli.quality.dataset import find_clips
from vsr_cli.quality.evaluate import EvalReport, evaluate
from vsr_cli.registry import ModelEntry, load_registry
from vsr_cli.video.join import join_pieces
from vsr_cli.video.reader import DEINTERLACE_MODES, VideoReader, describe
from vsr_cli.video.span import Span
from vsr_cli.video.writer import EncodeSettings, check_encoder, remove_unfinished
from vsr_cli.weights import read_checkpoint

stderr = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 2, 130, 143


class _Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's time limit, ``kill``), cleaned up like Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _tile_size(value: int | None) -> int | None:
    if value is not None and 0 < value < MIN_TILE:
        raise typer.BadParameter(f"tiles must be 0 (whole frame) or at least {MIN_TILE} px")
    return value


def _choice(value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise typer.BadParameter(f"choose one of {', '.join(choices)}")
    return value


def _precision(value: str) -> str:
    if value not in PRECISIONS:
        raise typer.BadParameter(f"choose one of {', '.join(PRECISIONS)}")
    return value


def _encoder_options(values: list[str]) -> dict[str, str]:
    options = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--encoder-opt")
        options[key] = value
    return options


Inputs = Annotated[
    list[Path],
    typer.Argument(help="Video(s) or folder(s) to upscale; - reads stdin.", show_default=False),
]
Output = Annotated[
    Path,
    typer.Argument(
        help="Output file, or folder for several inputs; - writes stdout.", show_default=False
    ),
]
Scale = Annotated[
    int,
    typer.Option(min=2, max=4, help="Output scale: 4 is the network's; 2 and 3 resize its output."),
]
ModelName = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        show_default="weights.toml's default",
        help="Model to download and use (see `vsr models`).",
    ),
]
Weights = Annotated[Path | None, typer.Option(help="A local checkpoint (.pth or .safetensors).")]
Device = Annotated[
    str, typer.Option(help="auto, cpu, cuda, cuda:N, mps, a list (cuda:0,cuda:1) or all.")
]
PrecisionOpt = Annotated[
    str,
    typer.Option(
        callback=_precision,
        help="auto (fp16 on CUDA, else fp32), fp32 (TF32 matrix products on CUDA), fp16 or bf16.",
    ),
]
Tile = Annotated[
    int | None,
    typer.Option(
        callback=_tile_size, show_default="auto", help="Tile size in low-res px; 0: whole frame."
    ),
]
TileBatch = Annotated[
    int,
    typer.Option(
        min=1, help="Tiles per forward pass (same-size tiles batch; more memory, fuller GPU)."
    ),
]
TileOverlap = Annotated[
    int, typer.Option(min=0, help="Context px on each side of a tile that borders another.")
]
Chunk = Annotated[
    int | None, typer.Option(min=0, show_default="auto", help="Frames per chunk; 0: whole clip.")
]
ChunkOverlap = Annotated[int, typer.Option(min=0, help="Context frames on each side of a chunk.")]
Codec = Annotated[
    str | None,
    typer.Option(
        show_default="libx264; libvpx-vp9 for .webm, gif for .gif",
        help="Video encoder (libx264, libx265, libsvtav1, libvpx-vp9, ffv1, ...).",
    ),
]
Deinterlace = Annotated[
    str,
    typer.Option(
        callback=lambda v: _choice(v, DEINTERLACE_MODES),
        help="auto: bwdif when the input is interlaced; frame: always, one frame per frame; "
        "field: one frame per field (double rate); off.",
    ),
]
Crf = Annotated[int | None, typer.Option(help="Encoder quality (lower is better).")]
Preset = Annotated[str | None, typer.Option(help="Encoder preset.")]
PixFmt = Annotated[
    str | None, typer.Option("--pix-fmt", show_default="input's", help="Output pixel format.")
]
EncoderOpt = Annotated[
    list[str] | None, typer.Option("--encoder-opt", help="KEY=VALUE for the encoder; repeatable.")
]
Format = Annotated[
    str | None,
    typer.Option(
        "--format", "-f", help="Output container, needed for stdout (matroska, mp4, nut, mpegts)."
    ),
]
Recursive = Annotated[
    bool, typer.Option("--recursive", "-r", help="Search folders' subfolders too.")
]
Ext = Annotated[
    str | None, typer.Option(help="Output extension for folder/batch mode (default: the input's).")
]
SkipExisting = Annotated[
    bool, typer.Option("--skip-existing", help="Skip inputs whose output exists (resume).")
]
Shard = Annotated[
    str | None, typer.Option(help="K/N: only every N-th input from the K-th (1-based).")
]
Compile = Annotated[
    bool,
    typer.Option(
        "--compile", help="torch.compile the model: slow start, pays on long clips (vsr bench)."
    ),
]
JsonEvents = Annotated[
    bool, typer.Option("--json", help="JSON events, one per line, on stderr (and nothing else).")
]
Overwrite = Annotated[bool, typer.Option("--overwrite", "-y", help="Replace an existing output.")]
Start = Annotated[
    str | None,
    typer.Option("--ss", help="Start here (seconds or [HH:]MM:SS[.mmm]); output starts at 0."),
]
Length = Annotated[
    str | None, typer.Option("--duration", "-t", help="Upscale this long (ffmpeg's -t).")
]
Stop = Annotated[str | None, typer.Option("--to", help="Stop here (a time of the input).")]
SceneCuts = Annotated[
    str,
    typer.Option(
        callback=lambda v: _choice(v, ("auto", "off")),
        help="auto: find scene cuts; the recurrence never crosses one. off: ignore them.",
    ),
]
Resume = Annotated[
    bool,
    typer.Option(
        "--resume/--no-resume",
        help="Go on from an interrupted run's finished pieces (kept beside the output).",
    ),
]
Segment = Annotated[
    str | None,
    typer.Option(help="K/N: compute only the K-th of N shares of one video's pieces."),
]
PieceSeconds = Annotated[float, typer.Option(min=0.1, help="Seconds of video per resumable piece.")]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar; warnings and errors only.")
]


def upscale(
    inputs: Inputs,
    output: Output,
    scale: Scale = 4,
    model: ModelName = None,
    weights: Weights = None,
    device: Device = "auto",
    precision: PrecisionOpt = "auto",
    tile: Tile = None,
    tile_overlap: TileOverlap = 16,
    tile_batch: TileBatch = 1,
    chunk: Chunk = None,
    chunk_overlap: ChunkOverlap = 4,
    codec: Codec = None,
    crf: Crf = None,
    preset: Preset = None,
    pix_fmt: PixFmt = None,
    encoder_opt: EncoderOpt = None,
    container_format: Format = None,
    deinterlace: Deinterlace = "auto",
    ss: Start = None,
    duration: Length = None,
    to: Stop = None,
    scene_cuts: SceneCuts = "auto",
    resume: Resume = True,
    segment: Segment = None,
    piece_seconds: PieceSeconds = PIECE_SECONDS,
    recursive: Recursive = False,
    ext: Ext = None,
    skip_existing: SkipExisting = False,
    shard: Shard = None,
    json_events: JsonEvents = False,
    compile: Compile = False,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Upscale videos with PSRT-recurrent, keeping audio, subtitles, timestamps and colors.

    One input and an output file: that file. Several inputs, or a folder: every
    video into the output folder, under the same relative paths.
    """
    shard_k_n = _k_of_n(shard, "--shard")
    reporter = _reporter(json_events, quiet)
    options = make_options(
        scale=scale,
        tile=tile,
        tile_overlap=tile_overlap,
        chunk=chunk,
        chunk_overlap=chunk_overlap,
        codec=codec,
        crf=crf,
        preset=preset,
        pix_fmt=pix_fmt,
        encoder_options=_encoder_options(encoder_opt or []),
        deinterlace=deinterlace,
        **_span(ss, duration, to),
        scene_cuts=scene_cuts == "auto",
        resume=resume,
        segment=_k_of_n(segment, "--segment"),
        piece_seconds=piece_seconds,
        overwrite=overwrite,
    )
    single = len(inputs) == 1 and not _is_dir(inputs[0]) and not _is_dir(output)
    if not single and (STDIO in inputs or output == STDIO):
        raise typer.BadParameter("stdin/stdout (-) take one input and one output")
    if output == STDIO and not container_format:
        raise typer.BadParameter("writing to stdout needs --format (e.g. matroska)")
    if segment and not single:
        raise typer.BadParameter("--segment splits one video; for many, use --shard")
    with _errors_as_messages(reporter):
        if single:  # refuse bad paths before loading (or downloading) any weights
            check_paths(inputs[0], output, overwrite)
            if inputs[0] != STDIO and not inputs[0].exists():
                raise InputError(f"{inputs[0]}: no such file")
        if not single:  # the work list, and its collisions, before loading any weights
            tasks = collect(inputs, output, recursive, ext)
            if shard_k_n:
                tasks = take_shard(tasks, *shard_k_n)
        suffixes = {output.suffix} if single else {t.dst.suffix for t in tasks}
        for suffix in sorted(suffixes):  # each output container's encoder, with your options
            check_encoder(options.encode, container_format or suffix.lstrip(".").lower())
        engines = _engines(device, precision, weights, model, reporter, json_events, compile,
                           tile_batch)  # fmt: skip
        if single:
            result = api_upscale(
                inputs[0],
                output,
                engine=engines[0],
                options=options,
                reporter=reporter,
                format=container_format,
            )
            note = ""
            if result.pieces_left is not None:
                k, n = options.segment or (1, 1)
                left = (
                    f"{result.pieces_left} pieces of other segments still to make; then "
                    if result.pieces_left
                    else "every piece is made: "
                )
                note = (
                    f"segment {k}/{n} done; {left}`vsr join {output}` (or this command "
                    "without --segment) writes the output"
                )
                if not json_events:
                    stderr.print(note, markup=False)
            reporter.outcome(
                Outcome(
                    str(inputs[0]),
                    "done",
                    result.frames,
                    result.seconds,
                    message=note,
                    output=str(output) if result.pieces_left is None else "",
                )
            )
            return
        output.mkdir(parents=True, exist_ok=True)
        outcomes = run_batch(tasks, engines, options, reporter, skip_existing)
        reporter.summary(outcomes)
        if any(o.status == "failed" for o in outcomes):
            raise typer.Exit(EXIT_FAILED)


def _span(ss: str | None, duration: str | None, to: str | None) -> dict[str, float | None]:
    """ffmpeg's input options: -ss start, -t length, --to end (-t wins over --to)."""
    start = parse_time(ss) if ss is not None else 0.0
    length = parse_time(duration) if duration is not None else None
    end = parse_time(to) if to is not None else None
    if length is not None and length <= 0:
        raise typer.BadParameter("a duration above 0", param_hint="-t")
    if length is None and end is not None and end <= start:
        raise typer.BadParameter("--to must come after --ss", param_hint="--to")
    return {"ss": start, "duration": length, "to": end}


def _is_dir(path: Path) -> bool:
    """A name too long for the file system is no folder (and is refused later, in one line)."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _k_of_n(text: str | None, option: str) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        return parse_shard(text)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint=option) from None


def _reporter(json_events: bool, quiet: bool) -> Reporter:
    if json_events:
        disable_progress_bars()  # the Hub's bars would break the one-object-per-line stream
        return JsonReporter()
    # Bars only on a terminal: in logs and pipes they would be noise.
    return RichReporter(stderr) if stderr.is_terminal and not quiet else QuietReporter(stderr)


def _engines(
    device: str,
    precision: str,
    weights: Path | None,
    model: str | None,
    reporter: Reporter,
    quiet_download: bool,
    compile: bool,
    tile_batch: int,
) -> list[Engine]:
    """``load_engines``, downloading with a progress line and bar unless ``quiet_download``."""
    return load_engines(
        model=model,
        weights=weights,
        device=device,
        precision=precision,
        compile=compile,
        tile_batch=tile_batch,
        warn=reporter.warn,
        download=lambda entry: _download(entry, announce=not quiet_download).path,
    )


def _download(entry: ModelEntry, announce: bool) -> StoredModel:
    """``fetch`` with each source tried announced and a byte-count bar on a terminal."""
    if not announce:
        return fetch(entry)
    if not stderr.is_terminal:

        def say(label: str) -> None:
            stderr.print(f"downloading model {entry.name} from {label}", markup=False)

        return fetch(entry, on_source=say)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as bar:
        task = bar.add_task(entry.name, total=None)

        def on_source(label: str) -> None:
            bar.console.print(f"downloading model {entry.name} from {label}", markup=False)
            bar.reset(task, total=None)

        return fetch(
            entry,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            on_source=on_source,
        )


class _errors_as_messages:
    """Known errors -> one reported line (or JSON event) and an exit code; no traceback."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None or os.environ.get("VSR_DEBUG") == "1":
            return False
        if isinstance(exc, KeyboardInterrupt):
            remove_unfinished()  # workers on other devices do not unwind before exit
            terminated = isinstance(exc, _Terminated)
            message = "terminated" if terminated else "interrupted"
            self.reporter.outcome(Outcome("", "failed", message=message))
            raise typer.Exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
        if isinstance(exc, EncoderOptionError):  # a usage error, found before any work
            self.reporter.outcome(Outcome("", "failed", message=str(exc)))
            raise typer.Exit(EXIT_USAGE)
        if isinstance(exc, BrokenPipeError):
            _silence_stdout()
            message = "the output pipe was closed before the video was complete"
        elif isinstance(exc, VsrError):
            message = str(exc)
        elif isinstance(exc, MemoryError | torch.OutOfMemoryError):
            message = "out of memory even with the smallest tiles; try a smaller --chunk"
        else:
            return False
        self.reporter.outcome(Outcome("", "failed", message=message))
        raise typer.Exit(EXIT_FAILED)


vsr_app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Video super-resolution with PSRT-recurrent.",
)
vsr_app.command("upscale")(upscale)


@vsr_app.command("models")
def models(
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """List the models of weights.toml: downloaded or not, from where, and their sha256."""
    with _errors_as_messages(QuietReporter(stderr)):
        registry = load_registry()
        rows = []
        for entry in registry.models.values():
            found = stored(entry, check=False)
            rows.append(
                {
                    "name": entry.name,
                    "default": entry.name == registry.default,
                    "description": entry.description,
                    "scale": entry.scale,
                    "cached": found is not None,
                    "size": found.size if found else None,
                    "source": found.source if found else None,
                    "sha256": found.sha256 if found else None,
                    "path": str(found.path) if found else None,
                    "license": entry.license,
                }
            )
    if json_output:
        print(json.dumps({"default": registry.default, "models": rows}))
        return
    out = Console(highlight=False)
    for row in rows:
        name = row["name"] + (" (default)" if row["default"] else "")
        size = f", {row['size'] / 2**20:.1f} MiB" if row["size"] else ""
        state = f"cached{size}" if row["cached"] else "not downloaded"
        out.print(f"{name}  x{row['scale']}  {state}", markup=False)
        out.print(f"  {row['description']}", markup=False)
        if row["cached"]:
            out.print(f"  from {row['source']}\n  sha256 {row['sha256']}", markup=False)


@vsr_app.command("download")
def download(
    name: Annotated[str | None, typer.Argument(show_default="the default model")] = None,
    all_models: Annotated[bool, typer.Option("--all", help="Every model of weights.toml.")] = False,
) -> None:
    """Fetch model weights into the local cache, for machines that go offline later."""
    with _errors_as_messages(QuietReporter(stderr)):
        registry = load_registry()
        entries = list(registry.models.values()) if all_models else [registry.get(name)]
        for entry in entries:
            found = _download(entry, announce=True)
            stderr.print(
                f"{entry.name}: {found.size / 2**20:.1f} MiB from {found.source}, "
                f"sha256 {found.sha256}\n  {found.path}",
                markup=False,
            )


@vsr_app.command("info")
def info(
    file: Annotated[Path, typer.Argument(help="A video file.", show_default=False)],
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """What vsr-cli sees in a video: streams, codec, size, rate, frames, colors, rotation."""
    with _errors_as_messages(QuietReporter(stderr)):
        with VideoReader(file) as reader:
            facts = describe(reader)
    if json_output:
        print(json.dumps(facts))
        return
    table = Table("", "", show_header=False, box=None)
    for key, value in facts.items():
        if key != "streams":
            table.add_row(key, str(value))
    for stream in facts["streams"]:
        table.add_row(
            f"stream #{stream['index']}",
            " ".join(str(v) for k, v in stream.items() if k != "index" and v),
        )
    Console().print(table)


@vsr_app.command("bench")
def bench_command(
    size: Annotated[str, typer.Option(help="Low-res WIDTHxHEIGHT.")] = "320x180",
    frames: Annotated[int, typer.Option(min=2, help="Frames per run.")] = 10,
    device: Device = "auto",
    precision: PrecisionOpt = "auto",
    repeats: Annotated[int, typer.Option(min=1)] = 3,
    pipeline: Annotated[bool, typer.Option(help="Also time the whole pipeline on a clip.")] = False,
    compile: Annotated[
        bool, typer.Option("--compile", help="Time torch.compile too, against eager, same run.")
    ] = False,
    cuda_graphs: Annotated[
        bool,
        typer.Option(
            "--cuda-graphs",
            help="Like --compile, with each step replayed as a CUDA graph (experimental).",
        ),
    ] = False,
    tile: Annotated[
        int, typer.Option(callback=_tile_size, help="Tile size in low-res px; 0: whole frame.")
    ] = 0,
    tile_overlap: TileOverlap = 16,
    tile_batch: TileBatch = 1,
    weights: Weights = None,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Frames per second, ms per frame, TFLOP/s and peak memory of the model (random weights
    of the released configuration unless --weights)."""
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(
            "expected WIDTHxHEIGHT, e.g. 320x180", param_hint="--size"
        ) from None
    with _errors_as_messages(QuietReporter(stderr)):
        torch_device = devices(device)[0]
        network = (
            PSRTRecurrent.from_state_dict(read_checkpoint(weights)) if weights else PSRTRecurrent()
        )
        r = run_bench(
            network,
            torch_device,
            resolve_precision(precision, torch_device),
            width,
            height,
            frames,
            repeats,
            pipeline,
            compile,
            tile,
            tile_batch,
            tile_overlap,
            QuietReporter(stderr).warn,
            cuda_graphs,
        )
    if json_output:
        print(json.dumps(asdict(r) | {"fps": r.fps}))
        return
    rows = bench_rows(r, frames, width, height)
    table = Table("", "", show_header=False, box=None)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


@vsr_app.command("join")
def join_command(
    output: Annotated[
        Path, typer.Argument(help="The output a --segment run was writing.", show_default=False)
    ],
    overwrite: Overwrite = False,
) -> None:
    """Write OUTPUT from the pieces that --segment runs left beside it (stream copy)."""
    with _errors_as_messages(QuietReporter(stderr)):
        found = read_job(output)
        if found is None:
            raise InputError(f"{output}: no pieces beside it ({job_folder(output)} is missing)")
        job, identity, source = found
        if not source.is_file() or input_fingerprint(source) != identity["input"]:
            raise InputError(f"{source}: the input is missing or changed since the pieces")
        missing = job.missing()
        if missing:
            raise InputError(
                f"{output}: {len(missing)} of {len(job.pieces)} pieces are not made yet "
                f"(the first: {missing[0] + 1}); run the remaining segments"
            )
        check_paths(source, output, overwrite)
        settings = identity["settings"]
        try:
            encode = EncodeSettings(**settings["encode"])
            span = Span(*settings["span"])
        except (TypeError, KeyError, ValueError):
            raise InputError(f"{job.folder}: pieces of another version of vsr-cli") from None
        join_pieces(
            source,
            [job.piece_path(i) for i in range(len(job.pieces))],
            output,
            span,
            job.base,
            encode,
            settings["scale"],
            settings["deinterlace"],
            QuietReporter(stderr).warn,
            settings.get("format"),
        )
        job.remove()
    stderr.print(f"{output}: joined {len(job.pieces)} pieces", markup=False)


EVAL_COLUMNS = (
    ("PSNR RGB", "sr_psnr_rgb"),
    ("SSIM RGB", "sr_ssim_rgb"),
    ("PSNR Y", "sr_psnr_y"),
    ("SSIM Y", "sr_ssim_y"),
    ("bicubic PSNR RGB", "bicubic_psnr_rgb"),
    ("bicubic PSNR Y", "bicubic_psnr_y"),
    ("temporal error", "sr_temporal_error"),
    ("bicubic t. error", "bicubic_temporal_error"),
)


@vsr_app.command("eval")
def eval_command(
    dataset: Annotated[
        Path,
        typer.Argument(
            help="Ground truth: a folder of clip folders of frames (REDS4, Vid4), a Vimeo-90K "
            "folder with sep_testlist.txt, or one folder of frames.",
            show_default=False,
        ),
    ],
    lr: Annotated[
        Path | None,
        typer.Option(
            "--lr",
            show_default="made with MATLAB bicubic",
            help="The dataset's own low-res frames, in the same layout.",
        ),
    ] = None,
    list_file: Annotated[
        Path | None, typer.Option("--list", help="A Vimeo-90K-style list of clips.")
    ] = None,
    crop_border: Annotated[int, typer.Option(min=0, help="Pixels ignored at each border.")] = 0,
    model: ModelName = None,
    weights: Weights = None,
    device: Device = "auto",
    precision: PrecisionOpt = "auto",
    tile: Tile = None,
    tile_overlap: TileOverlap = 16,
    tile_batch: TileBatch = 1,
    chunk: Chunk = None,
    chunk_overlap: ChunkOverlap = 4,
    scene_cuts: SceneCuts = "auto",
    compile: Compile = False,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="CSV on stdout.")] = False,
    quiet: Quiet = False,
) -> None:
    """PSNR, SSIM and temporal error of the model on a benchmark dataset (x4), beside bicubic.

    The paper's protocols: REDS4 on RGB, Vid4 and Vimeo-90K-T on Y (Vimeo also on its
    center frame), no border cropped; every protocol is computed, per clip and on average.
    """
    if json_output and csv_output:
        raise typer.BadParameter("choose one of --json and --csv")
    if "," in device or device == "all":
        raise typer.BadParameter("vsr eval runs on one device", param_hint="--device")
    reporter = _reporter(False, quiet or json_output or csv_output)
    options = make_options(
        tile=tile,
        tile_overlap=tile_overlap,
        chunk=chunk,
        chunk_overlap=chunk_overlap,
        scene_cuts=scene_cuts == "auto",
    )
    with _errors_as_messages(reporter):
        clips = find_clips(dataset, lr, list_file)
        engine = _engines(
            device,
            precision,
            weights,
            model,
            reporter,
            json_output or csv_output,
            compile,
            tile_batch,
        )[0]
        report = evaluate(
            clips,
            engine,
            options,
            crop_border,
            on_start=lambda name, total: reporter.start(name, total),
            on_frame=lambda name: reporter.advance(name, 1),
            on_end=reporter.finish,
        )
    if json_output:
        print(json.dumps(_report_dict(report, engine, crop_border)))
        return
    if csv_output:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        keys = sorted(report.mean)
        writer.writerow(["clip", "frames", *keys])
        for clip in report.clips:
            writer.writerow([clip.name, clip.frames, *(clip.scores.get(k, "") for k in keys)])
        writer.writerow(
            ["mean", sum(c.frames for c in report.clips), *(report.mean[k] for k in keys)]
        )
        return
    table = Table("clip", "frames", *(title for title, _ in EVAL_COLUMNS), box=None)
    rows = [(c.name, str(c.frames), c.scores) for c in report.clips]
    rows.append(("mean", str(sum(c.frames for c in report.clips)), report.mean))
    for name, frames, scores in rows:
        table.add_row(name, frames, *(_score(scores, key) for _, key in EVAL_COLUMNS))
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    out.print(table)
    if "center_sr_psnr_y" in report.mean:
        m = report.mean
        out.print(
            f"center frames (Vimeo-90K-T): PSNR Y {m['center_sr_psnr_y']:.2f} dB, SSIM Y "
            f"{m['center_sr_ssim_y']:.4f}; bicubic {m['center_bicubic_psnr_y']:.2f} dB",
            markup=False,
        )
    out.print(
        f"{engine.device} {engine.precision}, tiles {report.tile or 'whole frame'}, "
        f"chunks {report.chunk or 'whole clip'}, border crop {crop_border}",
        markup=False,
    )


def _score(scores: dict[str, float], key: str) -> str:
    if key not in scores:
        return "-"
    return f"{scores[key]:.4f}" if "ssim" in key else f"{scores[key]:.2f}"


def _report_dict(report: EvalReport, engine: Engine, crop_border: int) -> dict:
    def clean(scores: dict[str, float]) -> dict[str, float | None]:
        """JSON has no infinity: an identical frame's PSNR becomes null."""
        return {k: v if math.isfinite(v) else None for k, v in scores.items()}

    return {
        "clips": [{"name": c.name, "frames": c.frames, **clean(c.scores)} for c in report.clips],
        "mean": clean(report.mean),
        "settings": {
            "device": str(engine.device),
            "precision": engine.precision,
            "tile": report.tile,
            "chunk": report.chunk,
            "crop_border": crop_border,
            "scale": 4,
        },
    }


def parse_time(text: str) -> float:
    """ffmpeg's time syntax: seconds (``12.5``) or ``[HH:]MM:SS[.mmm]``."""
    pattern = r"(?:(?:(\d+):)?([0-5]?\d):)?(\d+(?:\.\d*)?|\.\d+)"
    match = re.fullmatch(pattern, text.strip())
    if match is None or (match.group(2) is not None and float(match.group(3)) >= 60):
        raise typer.BadParameter(f"{text!r}: expected seconds or [HH:]MM:SS[.mmm]")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


@vsr_app.command("compare")
def compare_command(
    first: Annotated[
        Path, typer.Argument(help="The input (scaled up plainly).", show_default=False)
    ],
    second: Annotated[Path, typer.Argument(help="The output.", show_default=False)],
    at: Annotated[
        list[str] | None,
        typer.Option(
            "--at",
            show_default="1/6, 1/2 and 5/6 of the duration",
            help="A time (seconds or HH:MM:SS.mmm from the first frame); repeatable.",
        ),
    ] = None,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Folder for the PNGs.")
    ] = Path("."),
    video: Annotated[
        Path | None,
        typer.Option(help="Write a video of a section (from the first --at) instead of PNGs."),
    ] = None,
    duration: Annotated[
        float, typer.Option("--duration", "-t", min=0.001, help="Seconds of --video.")
    ] = 5.0,
    wipe: Annotated[
        bool, typer.Option("--wipe", help="--video: a moving wipe instead of side by side.")
    ] = False,
    overwrite: Overwrite = False,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """The input scaled up plainly beside the output, with a zoomed detail: PNGs, or a video."""
    times = [parse_time(t) for t in at or []]
    if video is not None and len(times) > 1:
        raise typer.BadParameter("--video takes one --at (where the section starts)")
    with _errors_as_messages(QuietReporter(stderr)):
        for path in (first, second):
            if not path.is_file():
                raise InputError(f"{path}: no such file")
        if video is not None:
            check_paths(first, video, overwrite)
            check_paths(second, video, overwrite)
            count = compare_video(first, second, video, times[0] if times else 0.0, duration, wipe)
            result = {"video": str(video), "frames": count}
        else:
            try:
                output_dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise OutputError(
                    f"{output_dir}: cannot create the folder ({e.strerror})"
                ) from None
            pictures = compare_frames(
                first, second, times or default_times(second), output_dir, overwrite
            )
            result = {
                "pictures": [
                    {
                        "path": str(p.path),
                        "at": p.at,
                        "first_time": p.first_time,
                        "second_time": p.second_time,
                        "region": asdict(p.region),
                        "labels": list(p.labels),
                    }
                    for p in pictures
                ]
            }
    if json_output:
        print(json.dumps(result))
    elif video is not None:
        print(f"{video}: {result['frames']} frames")
    else:
        for picture in result["pictures"]:
            print(picture["path"])


def _silence_stdout() -> None:
    """After the reader of stdout went away: point it at /dev/null, so that Python's own
    flush at exit does not print a traceback about the broken pipe."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _run_app(app: typer.Typer, prog_name: str) -> None:
    """Run a Typer app; with ``--json``, usage errors too become one JSON line on stderr."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    if "--json" not in sys.argv[1:]:
        app(prog_name=prog_name)
        return
    try:
        code = app(prog_name=prog_name, standalone_mode=False)
    except Exception as e:  # Typer's (vendored Click's) usage errors carry an exit code
        if not hasattr(e, "format_message"):
            raise
        JsonReporter().outcome(Outcome("", "failed", message=e.format_message()))
        code = getattr(e, "exit_code", EXIT_USAGE)
    raise SystemExit(code if isinstance(code, int) else 0)


def upscale_main() -> None:
    """Entry point of ``vsr-upscale``."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(upscale)
    _run_app(app, "vsr-upscale")


def vsr_main() -> None:
    """Entry point of ``vsr``."""
    _run_app(vsr_app, "vsr")
