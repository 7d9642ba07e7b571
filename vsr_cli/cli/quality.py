"""``vsr eval`` and ``vsr compare``: how good the output is, in numbers and to the eye."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from vsr_cli import api
from vsr_cli.cli import options as o
from vsr_cli.cli import render
from vsr_cli.cli.upscale import engines_with_bar
from vsr_cli.config import EngineConfig, UpscaleConfig, parse_time
from vsr_cli.errors import UsageError

DATASET = "Dataset"
COMPARE = "What to show"


def evaluate(
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
        o.option(
            "--lr",
            panel=DATASET,
            value="DIR",
            show_default="made with MATLAB bicubic",
            help="The dataset's own low-res frames, in the same layout.",
        ),
    ] = None,
    list_file: Annotated[
        Path | None,
        o.option("--list", panel=DATASET, value="FILE", help="A Vimeo-90K-style list of clips."),
    ] = None,
    crop_border: Annotated[
        int, o.option(panel=DATASET, value="PX", min=0, help="Pixels ignored at each border.")
    ] = 0,
    model: o.ModelName = None,
    weights: o.Weights = None,
    device: o.Device = "auto",
    precision: o.Precision = "auto",
    tile: o.Tile = None,
    tile_overlap: o.TileOverlap = 16,
    tile_batch: o.TileBatch = 1,
    chunk: o.Chunk = None,
    chunk_overlap: o.ChunkOverlap = 4,
    scene_cuts: o.SceneCuts = "auto",
    compile: o.Compile = None,
    json_output: o.JsonOutput = False,
    csv_output: Annotated[bool, o.option("--csv", panel=o.MESSAGES, help="CSV on stdout.")] = False,
    quiet: o.Quiet = False,
) -> None:
    """PSNR, SSIM and temporal error of the model on a benchmark dataset (x4), beside bicubic.

    The paper's protocols: REDS4 on RGB, Vid4 and Vimeo-90K-T on Y (Vimeo also on its
    center frame), no border cropped; every protocol is computed, per clip and on average.
    """
    if json_output and csv_output:
        raise UsageError("--json, --csv: choose one")
    if "," in device or device == "all":
        raise UsageError("--device: vsr eval runs on one device")
    config = UpscaleConfig.build(
        tile=tile,
        tile_overlap=tile_overlap,
        chunk=chunk,
        chunk_overlap=chunk_overlap,
        scene_cuts=scene_cuts,
    )
    engine_config = EngineConfig(
        model=model,
        weights=weights,
        device=device,
        precision=precision,
        compile=compile,
        tile_batch=tile_batch,
    )
    clips = api.find_dataset(dataset, lr, list_file)  # before the weights and the device
    machine = json_output or csv_output
    report_to = render.reporter(False, quiet or machine)
    engine = engines_with_bar(engine_config, report_to, show_download=not machine)[0]
    report = api.evaluate_clips(clips, engine, config, report_to, crop_border)
    where = (str(engine.device), engine.precision)
    if json_output:
        print(json.dumps(render.eval_dict(report, *where, crop_border)))
    elif csv_output:
        render.eval_csv(report)
    else:
        render.eval_table(report, *where, crop_border)


def compare(
    first: Annotated[
        Path, typer.Argument(help="The input (scaled up plainly).", show_default=False)
    ],
    second: Annotated[Path, typer.Argument(help="The output.", show_default=False)],
    at: Annotated[
        list[str] | None,
        o.option(
            "--at",
            panel=COMPARE,
            value="TIME",
            show_default="1/6, 1/2 and 5/6 of the duration",
            help="A time (seconds or HH:MM:SS.mmm from the first frame); repeatable.",
        ),
    ] = None,
    output_dir: Annotated[
        Path, o.option("--output-dir", "-o", panel=COMPARE, value="DIR", help="For the PNGs.")
    ] = Path("."),
    video: Annotated[
        Path | None,
        o.option(
            panel=COMPARE,
            value="PATH",
            help="Write a video of a section (from the first --at) instead of PNGs.",
        ),
    ] = None,
    duration: Annotated[
        float,
        o.option("--duration", "-t", panel=COMPARE, value="S", min=0.001, help="Of --video."),
    ] = 5.0,
    wipe: Annotated[
        bool, o.option("--wipe", panel=COMPARE, help="--video: a moving wipe, not side by side.")
    ] = False,
    overwrite: o.Overwrite = False,
    json_output: o.JsonOutput = False,
) -> None:
    """The input scaled up plainly beside the output, with a zoomed detail: PNGs, or a video."""
    times = [parse_time(t, "--at") for t in at or []]
    if video is not None:
        if len(times) > 1:
            raise UsageError("--video takes one --at (where the section starts)")
        start = times[0] if times else 0.0
        count = api.compare_as_video(first, second, video, start, duration, wipe, overwrite)
        if json_output:
            print(json.dumps({"video": str(video), "frames": count}))
        else:
            print(f"{video}: {count} frames")
        return
    pictures = api.compare(first, second, times, output_dir, overwrite)
    if json_output:
        shown = [
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
        print(json.dumps({"pictures": shown}))
    else:
        for picture in pictures:
            print(picture.path)
