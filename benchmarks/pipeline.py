"""End-to-end cost of the pipeline around the model.

    python benchmarks/pipeline.py overhead --size 64x64 --frames 12
        wall time of `upscale_video` vs the model alone on the same frames and
        settings (released configuration, random weights): the ratio is the
        pipeline's overhead (decode, colour conversion, stitching, encode).

    python benchmarks/pipeline.py memory --frames 40 400
        peak RSS of a whole run (in a fresh process each) for clips of each
        length at the same settings: it must not grow with the clip.

    python benchmarks/pipeline.py stages --size 320x180 --frames 60
        per-frame cost of each CPU stage around the model (decode and colour
        conversion of the input, float -> 8-bit output frame, colour conversion
        and encoding of the 4x output): the ceiling the host puts on end-to-end
        frames per second whatever the GPU.

Prints figures only; the targets are in the issue tracker and docs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from vsr_cli.bench import write_synthetic_clip
from vsr_cli.config import EncodeSettings, UpscaleConfig
from vsr_cli.context import RunContext
from vsr_cli.infer.engine import Engine
from vsr_cli.infer.pixels import input_pixels, output_pixels, unit_range
from vsr_cli.infer.plan import ChunkPlan
from vsr_cli.models.psrt import SCALE, PSRTRecurrent
from vsr_cli.run.upscale import upscale_video
from vsr_cli.video.reader import DecodedFrame, VideoReader
from vsr_cli.video.spec import OutputSpec
from vsr_cli.video.writer import VideoWriter


def _setup(tiny: bool) -> Engine:
    torch.manual_seed(0)
    config = dict(mid_channels=16, embed_dim=24, depths=(2,), num_heads=(2,)) if tiny else {}
    return Engine(PSRTRecurrent(**config), torch.device("cpu"), "fp32")


def overhead(args: argparse.Namespace) -> None:
    width, height = (int(v) for v in args.size.split("x"))
    engine = _setup(args.tiny)
    options = UpscaleConfig.build(tile=args.tile, chunk=args.chunk, overwrite=True)
    overlap = options.tiling.tile_overlap
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.mkv", Path(tmp) / "out.mkv"
        write_synthetic_clip(src, args.frames, width, height)
        with VideoReader(src) as reader:
            frames = [
                input_pixels(item.rgb)
                for item in reader.media(set())
                if isinstance(item, DecodedFrame)
            ]
        lq = torch.stack(frames)
        engine.upscale(lq[:3], engine.fit(args.tile), overlap)  # warm-up, not timed
        start = time.perf_counter()
        plan = ChunkPlan(args.chunk, options.tiling.chunk_overlap, 0)  # the pipeline's windows
        for k in range(-(-len(frames) // args.chunk) if args.chunk else 1):
            window = plan.window(k, len(frames))
            engine.upscale(lq[window.start : window.stop], engine.fit(args.tile), overlap)
        model_only = time.perf_counter() - start
        start = time.perf_counter()
        upscale_video(src, dst, engine, options, RunContext())
        end_to_end = time.perf_counter() - start
    print(
        f"clip            {args.frames} frames of {width}x{height}, tile {args.tile}, "
        f"chunk {args.chunk}, {'tiny' if args.tiny else 'released'} model, cpu fp32"
    )
    print(f"model only      {model_only:.2f} s")
    print(f"end to end      {end_to_end:.2f} s")
    print(f"ratio           {end_to_end / model_only:.3f}")


def memory(args: argparse.Namespace) -> None:
    results = {}
    for frames in args.frames_list:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "_rss",
                "--frames",
                str(frames),
                "--size",
                args.size,
                "--chunk",
                str(args.chunk),
                "--tile",
                str(args.tile),
            ]
            + (["--tiny"] if args.tiny else []),
            capture_output=True,
            text=True,
            check=True,
        )
        results[frames] = json.loads(out.stdout.splitlines()[-1])["peak_rss_mib"]
        print(f"{frames:5d} frames: peak RSS {results[frames]:.0f} MiB")
    first, last = results[args.frames_list[0]], results[args.frames_list[-1]]
    print(f"ratio {args.frames_list[-1]}/{args.frames_list[0]} frames: {last / first:.3f}")


def _rss(args: argparse.Namespace) -> None:
    width, height = (int(v) for v in args.size.split("x"))
    engine = _setup(args.tiny)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.mkv"
        write_synthetic_clip(src, args.frames, width, height)
        options = UpscaleConfig.build(tile=args.tile, chunk=args.chunk, overwrite=True)
        upscale_video(src, Path(tmp) / "out.mkv", engine, options, RunContext())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"peak_rss_mib": peak}))


def stages(args: argparse.Namespace) -> None:
    width, height = (int(v) for v in args.size.split("x"))
    size = (SCALE * width, SCALE * height)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.mkv"
        write_synthetic_clip(src, args.frames, width, height)
        start = time.perf_counter()
        with VideoReader(src) as reader:
            frames = [item for item in reader.media(set()) if isinstance(item, DecodedFrame)]
        decode = (time.perf_counter() - start) / len(frames)
        rgbs, to_rgb = [], 0.0
        for f in frames:  # a stand-in for the model's output, one frame at a time
            hr = F.interpolate(
                unit_range(input_pixels(f.rgb))[None], scale_factor=SCALE, mode="bilinear"
            )[0]
            start = time.perf_counter()
            rgbs.append(output_pixels(hr, 255, size))
            to_rgb += (time.perf_counter() - start) / len(frames)
        settings = EncodeSettings(codec=args.codec)
        with VideoReader(src) as reader:
            spec = OutputSpec.from_source(reader, SCALE)
        with VideoWriter(Path(tmp) / "out.mkv", spec, settings, RunContext()) as writer:
            start = time.perf_counter()
            for frame, rgb in zip(frames, rgbs):
                writer.write_frame(rgb, frame.pts, frame.time)
            writer.finish()
            encode = (time.perf_counter() - start) / len(frames)
    print(f"clip            {len(frames)} frames of {width}x{height} -> {size[0]}x{size[1]}")
    print(f"threads         torch {torch.get_num_threads()}, {args.codec} default settings")
    print(f"decode + RGB    {1000 * decode:.2f} ms/frame (decode thread)")
    print(f"output to 8-bit {1000 * to_rgb:.2f} ms/frame (model thread; on the GPU there)")
    print(f"convert+encode  {1000 * encode:.2f} ms/frame (encode thread)")
    slowest = max(decode, to_rgb, encode)
    print(f"host ceiling    {1 / slowest:.1f} frames/s (the slowest of the three threads)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["overhead", "memory", "stages", "_rss"])
    parser.add_argument("--size", default="64x64", help="low-res WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, nargs="+", default=[12])
    parser.add_argument("--tile", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=8)
    parser.add_argument("--tiny", action="store_true", help="a tiny model instead of 13.4M")
    parser.add_argument("--codec", default="libx264", help="encoder for `stages`")
    args = parser.parse_args()
    args.frames_list, args.frames = args.frames, args.frames[0]
    {"overhead": overhead, "memory": memory, "stages": stages, "_rss": _rss}[args.mode](args)


if __name__ == "__main__":
    main()
