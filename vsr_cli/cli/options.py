"""The command line's options, each declared once and shared by the commands that take it.

Typer only parses here; every value is checked where the settings are built
(``vsr_cli.config``), so the CLI and the Python API refuse the same things with
the same words. ``rich_help_panel`` names the heading an option is listed under in
``--help`` (``help.SectionedCommand``); ``metavar`` is the value it takes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

FILES = "Input and output"
MODEL = "Model and device"
TILES = "Tiles and chunks"
ENCODING = "Encoding"
LONG = "Sections and long jobs"
BATCH = "Batches"
MESSAGES = "Progress and messages"


def option(*names: str, panel: str, value: str | None = None, **settings: object):
    return typer.Option(*names, rich_help_panel=panel, metavar=value, **settings)


Inputs = Annotated[
    list[Path],
    typer.Argument(
        metavar="INPUT",
        help="Video(s) or folder(s) to upscale; - reads stdin.",
        show_default=False,
    ),
]
Output = Annotated[
    str,
    typer.Argument(
        metavar="OUTPUT",
        help="Output file, or folder for several inputs (a name ending in / is one); "
        "- writes stdout.",
        show_default=False,
    ),
]
Scale = Annotated[
    int,
    option(panel=FILES, value="2|3|4", help="4 is the network's; 2 and 3 resize its output."),
]
Format = Annotated[
    str | None,
    option(
        "--format",
        "-f",
        panel=FILES,
        value="FMT",
        help="Output container, needed for stdout (matroska, mp4, nut, mpegts).",
    ),
]
Deinterlace = Annotated[
    str,
    option(
        panel=FILES,
        value="MODE",
        help="auto: bwdif when the input is interlaced; frame: always, one frame per frame; "
        "field: one frame per field (double rate); off.",
    ),
]
Fps = Annotated[
    str,
    option(
        "--fps",
        panel=FILES,
        value="RATE",
        help="Frame rate of an image sequence input (24, 23.976, 30000/1001); as ffmpeg: 25.",
    ),
]
Overwrite = Annotated[
    bool, option("--overwrite", "-y", panel=FILES, help="Replace an existing output.")
]
ModelName = Annotated[
    str | None,
    option(
        "--model",
        "-m",
        panel=MODEL,
        value="NAME",
        show_default="weights.toml's default",
        help="Model to download and use (see `vsr models`).",
    ),
]
Weights = Annotated[
    Path | None,
    option(panel=MODEL, value="PATH", help="A local checkpoint (.pth or .safetensors)."),
]
Device = Annotated[
    str,
    option(
        panel=MODEL,
        value="DEV",
        help="auto, cpu, cuda, cuda:N, mps, a list (cuda:0,cuda:1) or all.",
    ),
]
Precision = Annotated[
    str,
    option(
        panel=MODEL,
        value="P",
        help="auto (fp16 on CUDA, else fp32), fp32 (TF32 matrix products on CUDA), fp16, bf16.",
    ),
]
Compile = Annotated[
    bool | None,
    option(
        "--compile/--no-compile",
        panel=MODEL,
        show_default="on a GPU for 300 frames or more",
        help="torch.compile the model: a slow start (cached), faster frames.",
    ),
]
CudaGraphs = Annotated[
    bool | None,
    option(
        "--cuda-graphs/--no-cuda-graphs",
        panel=MODEL,
        show_default="on CUDA",
        help="Replay each chunk as a captured CUDA graph (falls back to eager if it can't).",
    ),
]
Tile = Annotated[
    int | None,
    option(panel=TILES, value="PX", show_default="auto", help="Low-res tile side; 0: whole frame."),
]
TileOverlap = Annotated[
    int,
    option(panel=TILES, value="PX", help="Context on each side of a tile that borders another."),
]
TileBatch = Annotated[
    int,
    option(panel=TILES, value="N", help="Tiles per pass (more memory, a fuller GPU)."),
]
Chunk = Annotated[
    int | None,
    option(panel=TILES, value="FRAMES", show_default="auto", help="Per chunk; 0: whole clip."),
]
ChunkOverlap = Annotated[
    int, option(panel=TILES, value="FRAMES", help="Context on each side of a chunk.")
]
ChunkBatch = Annotated[
    int | None,
    option(
        panel=TILES,
        value="N",
        show_default="auto: up to 4 that fit, on a GPU",
        help="Chunks per pass (the same output; the first frame waits for them all).",
    ),
]
SceneCuts = Annotated[
    str,
    option(
        panel=TILES,
        value="auto|off",
        help="auto: find scene cuts; the recurrence never crosses one. off: ignore them.",
    ),
]
Codec = Annotated[
    str | None,
    option(
        panel=ENCODING,
        value="NAME",
        show_default="libx264; libvpx-vp9 for .webm, gif for .gif",
        help="Video encoder (libx264, libx265, libsvtav1, libvpx-vp9, ffv1, ...).",
    ),
]
Crf = Annotated[int | None, option(panel=ENCODING, value="N", help="Quality (lower is better).")]
Preset = Annotated[str | None, option(panel=ENCODING, value="NAME", help="Encoder preset.")]
PixFmt = Annotated[
    str | None,
    option(
        "--pix-fmt",
        panel=ENCODING,
        value="FMT",
        show_default="input's",
        help="Output pixel format.",
    ),
]
EncoderOpt = Annotated[
    list[str] | None,
    option(
        "--encoder-opt", panel=ENCODING, value="KEY=VALUE", help="An encoder option; repeatable."
    ),
]
Start = Annotated[
    str | None,
    option(
        "--ss",
        panel=LONG,
        value="TIME",
        help="Start here (seconds or [HH:]MM:SS[.mmm]); the output starts at 0.",
    ),
]
Length = Annotated[
    str | None,
    option("--duration", "-t", panel=LONG, value="TIME", help="This long (ffmpeg's -t)."),
]
Stop = Annotated[
    str | None, option("--to", panel=LONG, value="TIME", help="Stop here (a time of the input).")
]
Resume = Annotated[
    bool,
    option(
        "--resume/--no-resume",
        panel=LONG,
        help="Go on from an interrupted run's finished pieces (kept beside the output).",
    ),
]
Segment = Annotated[
    str | None,
    option(panel=LONG, value="K/N", help="Compute only the K-th of N shares of one video."),
]
PieceSeconds = Annotated[
    float, option(panel=LONG, value="S", help="Seconds of video per resumable piece.")
]
Recursive = Annotated[
    bool, option("--recursive", "-r", panel=BATCH, help="Search folders' subfolders too.")
]
Ext = Annotated[
    str | None,
    option(panel=BATCH, value="EXT", show_default="the input's", help="Outputs' extension."),
]
SkipExisting = Annotated[
    bool,
    option("--skip-existing", panel=BATCH, help="Skip inputs whose output exists (resume)."),
]
Shard = Annotated[
    str | None,
    option(panel=BATCH, value="K/N", help="Only every N-th input from the K-th (1-based)."),
]
JsonEvents = Annotated[
    bool,
    option("--json", panel=MESSAGES, help="JSON events on stderr, one a line, nothing else."),
]
JsonOutput = Annotated[bool, option("--json", panel=MESSAGES, help="One JSON object on stdout.")]
Quiet = Annotated[
    bool, option("--quiet", "-q", panel=MESSAGES, help="No progress; warnings and errors only.")
]
