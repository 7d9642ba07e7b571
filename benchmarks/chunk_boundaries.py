"""Temporal stability at chunk boundaries: does cutting a clip into chunks show as a jump?

    python benchmarks/chunk_boundaries.py --weights PSRT_REDS.pth --input clip.mp4 --chunk 10
    python benchmarks/chunk_boundaries.py --size 96x64 --frames 24 --chunk 6

Runs the same frames once as a whole clip and once in chunks (``--chunk`` frames,
``--chunk-overlap`` context on each side, the CLI's fades), through
``sequence.upscale_frames``, the code the CLI runs. Prints, for the frame-to-frame
steps that cross a chunk boundary and for all the others:

Boundary steps: those inside a cross-fade between chunks (and the step across
the boundary itself).

- mean absolute frame-to-frame change of the chunked output and of the whole-clip
  output (8-bit levels);
- temporal error of the chunked output against the whole-clip output (how much
  its frame-to-frame change differs; 0 = no seam in time);
- PSNR of the chunked frames next to a boundary against the whole-clip frames.

Without --weights, the authors' tiny test model (tests/data/golden) runs: its
figures show whether a seam exists, not how the released model looks.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np
from safetensors.torch import load_file

from vsr_cli.bench import write_synthetic_clip
from vsr_cli.config import Tiling, UpscaleConfig
from vsr_cli.infer.backend import pick_device
from vsr_cli.infer.engine import Engine
from vsr_cli.infer.pixels import input_pixels, output_pixels
from vsr_cli.infer.plan import default_fade
from vsr_cli.infer.sequence import upscale_frames
from vsr_cli.models.precision import resolve_precision
from vsr_cli.models.psrt import SCALE, PSRTRecurrent
from vsr_cli.quality import metrics
from vsr_cli.video.reader import VideoReader
from vsr_cli.weights import read_checkpoint

GOLDEN = Path(__file__).parent.parent / "tests" / "data" / "golden"


def _read(path: Path, count: int) -> list[np.ndarray]:
    frames = []
    with VideoReader(path) as reader:
        for frame in reader.media(set()):
            frames.append(frame.rgb)
            if len(frames) == count:
                break
    return frames


def _upscale(engine: Engine, frames: list[np.ndarray], chunk: int, overlap: int, tile: int):
    h, w = frames[0].shape[:2]
    items = ((input_pixels(f), i) for i, f in enumerate(frames))
    out = {}
    for sr, index in upscale_frames(
        items, UpscaleConfig(tiling=Tiling(tile, 16, chunk, overlap)), engine
    ):
        out[index] = output_pixels(sr, 255, (w * SCALE, h * SCALE))
    return [out[i] for i in range(len(frames))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--input", type=Path, help="a video (default: a synthetic clip)")
    parser.add_argument("--size", default="96x64", help="synthetic clip WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--chunk", type=int, default=6)
    parser.add_argument("--chunk-overlap", type=int, default=4)
    parser.add_argument("--tile", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()
    if args.chunk < 1 or args.chunk >= args.frames:
        parser.error("--chunk: at least 1 and fewer than --frames, or there is no boundary")

    if args.weights:
        state = read_checkpoint(args.weights)
    else:
        state = {
            k: v.float() for k, v in load_file(GOLDEN / "psrt_tiny_params_fp16.safetensors").items()
        }
    device = pick_device(args.device)
    engine = Engine(
        PSRTRecurrent.from_state_dict(state),
        device,
        resolve_precision(args.precision, device),
    )
    with tempfile.TemporaryDirectory() as tmp:
        source = args.input
        if source is None:
            width, height = (int(v) for v in args.size.split("x"))
            source = Path(tmp) / "clip.mkv"
            write_synthetic_clip(source, args.frames, width, height)
        frames = _read(source, args.frames)
    whole = _upscale(engine, frames, 0, args.chunk_overlap, args.tile)
    chunked = _upscale(engine, frames, args.chunk, args.chunk_overlap, args.tile)

    # Steps inside a cross-fade between two chunks (``fade`` frames centred on each boundary).
    half = max(1, default_fade(args.chunk_overlap) // 2)
    crossing = {
        t
        for k in range(1, math.ceil(len(frames) / args.chunk))
        for t in range(k * args.chunk - half + 1, k * args.chunk + half + 1)
    }
    groups: dict[str, dict[str, list[float]]] = {"boundary": {}, "inside": {}}
    for t in range(1, len(frames)):
        group = groups["boundary" if t in crossing else "inside"]
        values = {
            "change, chunked": metrics.frame_change(chunked[t - 1], chunked[t]),
            "change, whole clip": metrics.frame_change(whole[t - 1], whole[t]),
            "temporal error vs whole": metrics.temporal_error(
                chunked[t - 1], chunked[t], whole[t - 1], whole[t]
            ),
            "PSNR vs whole (dB)": min(99.0, metrics.psnr(chunked[t], whole[t])),
        }
        for key, value in values.items():
            group.setdefault(key, []).append(value)
    print(
        f"{len(frames)} frames of {frames[0].shape[1]}x{frames[0].shape[0]}, chunks of "
        f"{args.chunk} + {args.chunk_overlap} overlap, {device} {engine.precision}, "
        f"weights: {args.weights or 'tiny golden model'}"
    )
    print(f"{'':28s}{'boundary steps':>16s}{'other steps':>14s}")
    for key in groups["inside"]:
        b = np.mean(groups["boundary"].get(key, [math.nan]))
        i = np.mean(groups["inside"][key])
        print(f"{key:28s}{b:16.3f}{i:14.3f}")


if __name__ == "__main__":
    main()
