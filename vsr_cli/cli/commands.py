"""``vsr models``, ``vsr download``, ``vsr info``, ``vsr bench``, ``vsr join`` and
``vsr clean``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from vsr_cli import api
from vsr_cli.cli import options as o
from vsr_cli.cli import render
from vsr_cli.config import parse_size
from vsr_cli.events import QuietReporter

BENCH = "What to time"


def models(json_output: o.JsonOutput = False) -> None:
    """List the models of weights.toml: downloaded or not, from where, and their sha256."""
    listing = api.models()
    rows = render.model_rows(listing)
    if json_output:
        default = next(m.name for m in listing if m.default)
        print(json.dumps({"default": default, "models": rows}))
        return
    render.models_text(rows)


def download(
    name: Annotated[str | None, typer.Argument(show_default="the default model")] = None,
    all_models: Annotated[
        bool, o.option("--all", panel="Models", help="Every model of weights.toml.")
    ] = False,
    from_file: Annotated[
        Path | None,
        o.option(
            "--from",
            panel="Models",
            value="FILE",
            help="Weights fetched by hand (the authors' .pth): checked and cached as NAME.",
        ),
    ] = None,
) -> None:
    """Fetch model weights into the local cache, for machines that go offline later."""
    bar = render.DownloadBar()
    try:
        fetched = api.download(name, all_models, bar, from_file)
    finally:
        bar.close()
    for model, found in fetched:
        render.stderr.print(
            f"{model}: {found.size / 2**20:.1f} MiB from {found.source}, "
            f"sha256 {found.sha256}\n  {found.path}",
            markup=False,
        )


def info(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="A video file, or image frames (frames/%04d.png, or a folder of them).",
            show_default=False,
        ),
    ],
    fps: o.Fps = "25",
    json_output: o.JsonOutput = False,
) -> None:
    """What vsr-cli sees in a video: streams, codec, size, rate, frames, colors, rotation."""
    facts = api.info(file, fps)
    if json_output:
        print(json.dumps(facts))
        return
    render.info_table(facts)


def bench(
    size: Annotated[
        str, o.option(panel=BENCH, value="WxH", help="Low-res frame size.")
    ] = "320x180",
    frames: Annotated[int, o.option(panel=BENCH, value="N", min=2, help="Frames per run.")] = 10,
    device: o.Device = "auto",
    precision: o.Precision = "auto",
    repeats: Annotated[int, o.option(panel=BENCH, value="N", min=1, help="Timed runs.")] = 3,
    pipeline: Annotated[
        bool, o.option(panel=BENCH, help="Also time the whole pipeline on a clip.")
    ] = False,
    compile: Annotated[
        bool, o.option("--compile", panel=BENCH, help="Compiled, against eager, in one run.")
    ] = False,
    cuda_graphs: Annotated[
        bool,
        o.option(
            "--cuda-graphs",
            panel=BENCH,
            help="Whole chunks replayed as CUDA graphs (CUDA only), against eager.",
        ),
    ] = False,
    tile: Annotated[
        int, o.option(panel=o.TILES, value="PX", help="Low-res tile side; 0: whole frame.")
    ] = 0,
    tile_overlap: o.TileOverlap = 16,
    tile_batch: o.TileBatch = 1,
    weights: o.Weights = None,
    json_output: o.JsonOutput = False,
) -> None:
    """Frames per second, ms per frame, TFLOP/s and peak memory of the model (random weights
    of the released configuration unless --weights)."""
    settings = api.BenchSettings(
        parse_size(size),
        frames,
        repeats,
        pipeline,
        compile,
        cuda_graphs,
        tile,
        tile_overlap,
        tile_batch,
    )
    result = api.bench(settings, device, precision, weights, QuietReporter(render.stderr))
    if json_output:
        print(json.dumps(render.bench_dict(result)))
        return
    render.bench_table(result)


def join(
    output: Annotated[
        Path, typer.Argument(help="The output a --segment run was writing.", show_default=False)
    ],
    overwrite: o.Overwrite = False,
) -> None:
    """Write OUTPUT from the pieces that --segment runs left beside it (stream copy)."""
    count = api.join(output, overwrite, QuietReporter(render.stderr))
    render.stderr.print(f"{output}: joined {count} pieces", markup=False)


def clean(
    folder: Annotated[Path, typer.Argument(help="Where outputs were written.", show_default=False)],
    dry_run: Annotated[
        bool, o.option("--dry-run", panel=o.FILES, help="List them; remove nothing.")
    ] = False,
) -> None:
    """Remove the hidden part files (.NAME.*.part.EXT) that killed runs left under FOLDER;
    those of runs still writing are left alone. Prints each, then a total."""
    found = api.clean(folder, dry_run)
    for leftover in found:
        print(leftover.path)
    size = sum(leftover.size for leftover in found) / 2**20
    verb = "would remove" if dry_run else "removed"
    render.stderr.print(f"{verb} {len(found)} leftover part files ({size:.1f} MiB)", markup=False)


def doctor(
    device: o.Device = "auto",
    check: Annotated[
        bool,
        o.option(
            "--check",
            panel=o.MODEL,
            help="Run each speed lever on a tiny model against plain fp32 (seconds).",
        ),
    ] = False,
    forget: Annotated[
        bool,
        o.option("--forget", panel=o.MODEL, help="Clear the levers remembered as failing here."),
    ] = False,
    json_output: o.JsonOutput = False,
) -> None:
    """Versions, devices, compilers, and which speed levers run here and why: what to paste
    into a bug report, and how to learn why a run is slow."""
    found = api.doctor(device, check, forget)
    if json_output:
        print(json.dumps(found))
        return
    render.doctor_text(found)
