"""What crossing a scene cut costs: the frames next to a cut, with and without cut detection,
against each scene upscaled alone.

    python benchmarks/scene_cuts.py [--weights PSRT_REDS.pth] [--size 96x64] [--frames 12]

Two unlike synthetic scenes (drifting colour patterns, the second inverted and
mirrored) are joined into one clip and upscaled through ``sequence.upscale_frames``
(the CLI's code) with ``scene_cuts`` on and off. Each scene is also upscaled alone.
Prints the PSNR of the frames on each side of the cut against the scene-alone
frames (inf: identical) and the frame the detector found. Without --weights the
authors' tiny test model runs (a recurrent network, but not the released one).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from safetensors.torch import load_file

from vsr_cli.config import Tiling, UpscaleConfig
from vsr_cli.infer.backend import pick_device
from vsr_cli.infer.engine import Engine
from vsr_cli.infer.pixels import input_pixels, output_pixels
from vsr_cli.infer.sequence import CutDetector, upscale_frames
from vsr_cli.models.precision import resolve_precision
from vsr_cli.models.psrt import SCALE, PSRTRecurrent
from vsr_cli.quality import metrics
from vsr_cli.weights import read_checkpoint

GOLDEN = Path(__file__).parent.parent / "tests" / "data" / "golden"


def _pattern(index: int, width: int, height: int, second: bool) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    x = x + index
    rgb = (
        np.stack([np.sin(x / 7), np.cos(y / 5 + x / 11), np.sin((x + y) / 9)], axis=-1) * 0.4 + 0.5
    )
    if second:
        rgb = 1 - rgb[:, ::-1]
    return np.round(rgb * 255).astype(np.uint8)


def _upscale(engine: Engine, frames: list[np.ndarray], cuts: bool, chunk: int) -> list:
    h, w = frames[0].shape[:2]
    items = ((input_pixels(f), i) for i, f in enumerate(frames))
    out = {
        i: output_pixels(sr, 255, (w * SCALE, h * SCALE))
        for sr, i in upscale_frames(
            items, UpscaleConfig(tiling=Tiling(0, 16, chunk, 4), scene_cuts=cuts), engine
        )
    }
    return [out[i] for i in range(len(frames))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--size", default="96x64")
    parser.add_argument("--frames", type=int, default=12, help="per scene")
    parser.add_argument("--chunk", type=int, default=0, help="0: each run in one chunk")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()
    if args.weights:
        state = read_checkpoint(args.weights)
    else:
        tiny = load_file(GOLDEN / "psrt_tiny_params_fp16.safetensors")
        state = {k: v.float() for k, v in tiny.items()}
    device = pick_device(args.device)
    precision = resolve_precision(args.precision, device)
    engine = Engine(PSRTRecurrent.from_state_dict(state), device, precision)
    width, height = (int(v) for v in args.size.split("x"))
    n = args.frames
    one = [_pattern(i, width, height, False) for i in range(n)]
    two = [_pattern(i, width, height, True) for i in range(n)]
    alone = _upscale(engine, one, False, args.chunk) + _upscale(engine, two, False, args.chunk)
    detector = CutDetector()
    found = [i for i, f in enumerate(one + two) if detector.is_cut(input_pixels(f))]
    print(f"two scenes of {n} frames, {width}x{height}, {device} {precision}; cut at frame {n}, "
          f"found at {found}; weights: {args.weights or 'tiny golden model'}")  # fmt: skip
    print(f"{'frame':>6s}{'cuts off (dB)':>16s}{'cuts on (dB)':>16s}")
    runs = {cuts: _upscale(engine, one + two, cuts, args.chunk) for cuts in (False, True)}
    for i in range(max(0, n - 3), min(2 * n, n + 3)):
        row = [metrics.psnr(runs[c][i], alone[i]) for c in (False, True)]
        print(
            f"{i:6d}" + "".join(f"{v:16.2f}" if math.isfinite(v) else f"{'inf':>16s}" for v in row)
        )


if __name__ == "__main__":
    main()
