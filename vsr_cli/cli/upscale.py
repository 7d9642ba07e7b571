"""``vsr-upscale`` (and ``vsr upscale``): options in, one file or a batch out."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import typer

from vsr_cli import api
from vsr_cli.cli import options as o
from vsr_cli.cli.render import DownloadBar, reporter
from vsr_cli.config import PIECE_SECONDS, UpscaleConfig
from vsr_cli.events import Reporter


def upscale(
    inputs: o.Inputs,
    output: o.Output,
    scale: o.Scale = 4,
    model: o.ModelName = None,
    weights: o.Weights = None,
    device: o.Device = "auto",
    precision: o.Precision = "auto",
    tile: o.Tile = None,
    tile_overlap: o.TileOverlap = 16,
    tile_batch: o.TileBatch = 1,
    chunk: o.Chunk = None,
    chunk_overlap: o.ChunkOverlap = 4,
    chunk_batch: o.ChunkBatch = None,
    codec: o.Codec = None,
    crf: o.Crf = None,
    preset: o.Preset = None,
    pix_fmt: o.PixFmt = None,
    encoder_options: o.EncoderOpt = None,
    format: o.Format = None,
    deinterlace: o.Deinterlace = "auto",
    ss: o.Start = None,
    duration: o.Length = None,
    to: o.Stop = None,
    scene_cuts: o.SceneCuts = "auto",
    resume: o.Resume = True,
    segment: o.Segment = None,
    piece_seconds: o.PieceSeconds = PIECE_SECONDS,
    recursive: o.Recursive = False,
    ext: o.Ext = None,
    skip_existing: o.SkipExisting = False,
    shard: o.Shard = None,
    json_events: o.JsonEvents = False,
    compile: o.Compile = None,
    cuda_graphs: o.CudaGraphs = None,
    overwrite: o.Overwrite = False,
    quiet: o.Quiet = False,
) -> None:
    """Upscale videos with PSRT-recurrent, keeping audio, subtitles, timestamps and colors.

    One input and an output file: that file. Several inputs, or a folder: every
    video into the output folder, under the same relative paths.
    """
    given = dict(locals())
    config = UpscaleConfig.build(**by_name(given, UpscaleConfig.build))
    work = api.plan_work(inputs, output, config, recursive, ext, shard, skip_existing)
    report = reporter(json_events, quiet)
    if work.skipped:  # nothing to do: no model to load
        api.run_work(work, [], report)
        return
    engines = load_engines(given, report, show_download=not json_events)
    outcomes = api.run_work(work, engines, report, skip_existing)
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(1)


def by_name(given: dict[str, Any], function: Callable[..., object]) -> dict[str, Any]:
    """The values among a command's arguments ``given`` that ``function`` takes by name:
    the CLI's names are the API's, so they pass through unchanged."""
    names = inspect.signature(function).parameters
    return {k: v for k, v in given.items() if k in names}


def load_engines(given: dict[str, Any], report: Reporter, show_download: bool) -> list[api.Engine]:
    """The engines a command's arguments ask for, a download shown as it goes."""
    bar = DownloadBar() if show_download else None
    try:
        return api.load_engines(**by_name(given, api.load_engines), warn=report.warn, download=bar)
    finally:
        if bar is not None:
            bar.close()
