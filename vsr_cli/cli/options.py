"""The command line's options, each declared once and shared by the commands that take it.

Typer only parses here; every value is checked where the settings are built
(``vsr_cli.config``), so the CLI and the Python API refuse the same things with
the same words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
    int, typer.Option(help="Output scale: 4 is the network's; 2 and 3 resize its output.")
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
Precision = Annotated[
    str,
    typer.Option(
        help="auto (fp16 on CUDA, else fp32), fp32 (TF32 matrix products on CUDA), fp16 or bf16."
    ),
]
Tile = Annotated[
    int | None,
    typer.Option(show_default="auto", help="Tile size in low-res px; 0: whole frame."),
]
TileBatch = Annotated[
    int,
    typer.Option(help="Tiles per forward pass (same-size tiles batch; more memory, fuller GPU)."),
]
TileOverlap = Annotated[
    int, typer.Option(help="Context px on each side of a tile that borders another.")
]
Chunk = Annotated[
    int | None, typer.Option(show_default="auto", help="Frames per chunk; 0: whole clip.")
]
ChunkOverlap = Annotated[int, typer.Option(help="Context frames on each side of a chunk.")]
ChunkBatch = Annotated[
    int | None,
    typer.Option(
        show_default="auto: up to 4 that fit, on a GPU",
        help="Chunks per forward pass (the same output; the first frame waits for them all).",
    ),
]
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
        help="auto: bwdif when the input is interlaced; frame: always, one frame per frame; "
        "field: one frame per field (double rate); off."
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
    bool | None,
    typer.Option(
        "--compile/--no-compile",
        show_default="on a GPU for 300 frames or more",
        help="torch.compile the model: a slow start (cached), faster frames.",
    ),
]
CudaGraphs = Annotated[
    bool | None,
    typer.Option(
        "--cuda-graphs/--no-cuda-graphs",
        show_default="on CUDA",
        help="Replay each chunk as a captured CUDA graph (falls back to eager if it can't).",
    ),
]
JsonEvents = Annotated[
    bool, typer.Option("--json", help="JSON events, one per line, on stderr (and nothing else).")
]
JsonOutput = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]
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
    typer.Option(help="auto: find scene cuts; the recurrence never crosses one. off: ignore them."),
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
PieceSeconds = Annotated[float, typer.Option(help="Seconds of video per resumable piece.")]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar; warnings and errors only.")
]
