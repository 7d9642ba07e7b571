"""``vsr-upscale`` (and ``vsr upscale``): options in, one file or a batch out."""

from __future__ import annotations

import typer

from vsr_cli import api
from vsr_cli.cli import options as o
from vsr_cli.cli.render import DownloadBar, reporter
from vsr_cli.config import PIECE_SECONDS, EngineConfig, UpscaleConfig
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
    fps: o.Fps = "25",
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
    config = UpscaleConfig.build(
        scale=scale,
        tile=tile,
        tile_overlap=tile_overlap,
        chunk=chunk,
        chunk_overlap=chunk_overlap,
        chunk_batch=chunk_batch,
        codec=codec,
        crf=crf,
        preset=preset,
        pix_fmt=pix_fmt,
        encoder_options=encoder_options,
        format=format,
        deinterlace=deinterlace,
        ss=ss,
        duration=duration,
        to=to,
        scene_cuts=scene_cuts,
        resume=resume,
        segment=segment,
        piece_seconds=piece_seconds,
        overwrite=overwrite,
        fps=fps,
    )
    engine_config = EngineConfig(
        model=model,
        weights=weights,
        device=device,
        precision=precision,
        compile=compile,
        tile_batch=tile_batch,
        cuda_graphs=cuda_graphs,
    )
    work = api.plan_work(inputs, output, config, recursive, ext, shard, skip_existing)
    if _run(work, engine_config, reporter(json_events, quiet), skip_existing, not json_events):
        raise typer.Exit(1)


def _run(
    work: api.Work,
    engine_config: EngineConfig,
    report: Reporter,
    skip_existing: bool,
    show_download: bool,
) -> bool:
    """The engines (none when there is nothing to do), then the work: whether any failed."""
    engines = [] if work.skipped else engines_with_bar(engine_config, report, show_download)
    outcomes = api.run_work(work, engines, report, skip_existing)
    return any(o.status == "failed" for o in outcomes)


def engines_with_bar(
    settings: EngineConfig, report: Reporter, show_download: bool
) -> list[api.Engine]:
    """The engines ``settings`` ask for, a download shown as it goes."""
    bar = DownloadBar() if show_download else None
    try:
        return api.engines_for(settings, report.warn, bar)
    finally:
        if bar is not None:
            bar.close()
