"""Each GPU lever alone and together, in one run, and the record a GPU session keeps.

    python benchmarks/levers.py --device cuda --record docs/gpu-results.jsonl
    python benchmarks/levers.py --device cpu --size 64x64 --frames 2 --quick --tiny  # a dry run

Model-only frames per second at 320x180 -> 1280x720 (random weights of the released
model, a fresh copy per lever so that nothing compiled carries over): eager; half
residual; compiled; whole-chunk CUDA graphs; compiled + graphs; FlexAttention (compiled);
everything together. Then chunks side by side at 128 px tiles (1 against 4), end to end
at 320x180 with the defaults a user gets (a clip long enough to compile), 1080p -> 4K end
to end with automatic sizes, the reference vectors in fp16, peak memory, and the bytes
the model creates per frame against the time it takes (achieved GB/s). One JSON record
goes to ``--record``: the figures docs/benchmarks.md's table is made from. A lever that
fails records its error and the run goes on.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch
from golden_check import against_authors
from op_count import OpCounter
from safetensors.torch import save_file

from vsr_cli.api import configure, upscale
from vsr_cli.bench import device_name, synchronize, write_synthetic_clip
from vsr_cli.config import parse_size
from vsr_cli.infer.backend import configure_backend, pick_device
from vsr_cli.infer.engine import Engine
from vsr_cli.models.psrt import PSRTRecurrent

# Memory bandwidth (GB/s) by device name, for the share of peak.
PEAK_GBPS = {"H200": 4800.0, "H100 SXM": 3350.0, "H100 PCIe": 2000.0, "H100": 3350.0,
             "A100": 2039.0, "L40S": 864.0, "RTX 4090": 1008.0}  # fmt: skip
LEVERS = {  # name: Engine keywords
    "eager": dict(compile=False, cuda_graphs=False, half_residual=False),
    "half_residual": dict(compile=False, cuda_graphs=False, half_residual=True),
    "compiled": dict(compile=True, cuda_graphs=False, half_residual=False),
    "graphs": dict(compile=False, cuda_graphs=True, half_residual=False),
    "compiled_graphs": dict(compile=True, cuda_graphs=True, half_residual=False),
    "flex_compiled": dict(compile=True, cuda_graphs=False, half_residual=False, attention="flex"),
    "all_sdpa": dict(compile=True, cuda_graphs=True, half_residual=True),
    "all_flex": dict(compile=True, cuda_graphs=True, half_residual=True, attention="flex"),
}


TINY = dict(mid_channels=16, embed_dim=24, depths=(2,), num_heads=(2,))  # --tiny: a dry run
SHAPE: dict = {}  # the network's configuration: the released one unless --tiny


def _engine(device: torch.device, precision: str, **levers: object) -> Engine:
    torch.manual_seed(0)
    return Engine(PSRTRecurrent(**SHAPE), device, precision, **levers)


def _fps(engine: Engine, lq: torch.Tensor, tile: int = 0, warm: int = 2, runs: int = 2) -> float:
    """Output frames per second, best of ``runs`` after ``warm`` calls (a graph is captured
    on a shape's second call); ``lq`` (t, ...) or (n, t, ...)."""
    for _ in range(warm):
        engine.upscale(lq, engine.fit(tile), 16)
    best = float("inf")
    for _ in range(runs):
        synchronize(engine.device)
        start = time.perf_counter()
        engine.upscale(lq, engine.fit(tile), 16)
        synchronize(engine.device)
        best = min(best, time.perf_counter() - start)
    return lq.shape[:-3].numel() / best


def _try(record: dict, key: str, measure: Callable[[], object]) -> None:
    start = time.perf_counter()
    try:
        record[key] = measure()
    except Exception as e:  # noqa: BLE001 - one lever's failure must not cost the others
        record[key] = f"error: {type(e).__name__}: {e}"
        traceback.print_exc()
    print(f"{key}: {record[key]}  ({time.perf_counter() - start:.0f} s)", flush=True)


def _e2e(width: int, height: int, frames: int, device: str, weights: Path, tmp: Path) -> float:
    """End to end with the defaults a user gets (automatic sizes, compile, graphs)."""
    src = tmp / f"in{width}.mkv"
    write_synthetic_clip(src, frames, width, height)
    result = upscale(src, tmp / f"out{width}.mkv", weights=weights, device=device,
                     codec="libx264", preset="veryfast", overwrite=True)  # fmt: skip
    return round(result.frames / result.seconds, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="fp16")
    parser.add_argument("--size", default="320x180")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--quick", action="store_true", help="levers only, small end to end")
    parser.add_argument("--tiny", action="store_true", help="a tiny network: checks the script")
    parser.add_argument("--record", type=Path, help="append the JSON record to this file")
    args = parser.parse_args()
    device = pick_device(args.device)
    SHAPE.update(TINY if args.tiny else {})
    configure()
    configure_backend([device])
    width, height = parse_size(args.size)
    lq = torch.rand(args.frames, 3, height, width)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    record: dict = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit.stdout.strip(),
        "gpu": device_name(device),
        "torch": torch.__version__,
        "precision": args.precision,
        "size": args.size,
        "network": "tiny (a dry run)" if args.tiny else "released",
        "levers": {},
    }
    for name, levers in LEVERS.items():
        engine_for = functools.partial(_engine, device, args.precision, **levers)
        _try(record["levers"], name, lambda make=engine_for: round(_fps(make(), lq), 3))
    fps = [v for v in record["levers"].values() if isinstance(v, float)]
    record["model_fps_320x180_x4"] = max(fps) if fps else None

    def chunk_batch() -> dict:
        # 640x360 in tiles of 128 (a dry run: 192x128 in tiles of 64), 6 frames a chunk.
        height, width, tile = (128, 192, 64) if args.quick else (360, 640, 128)
        tiles = torch.rand(4, 6, 3, height, width)
        engine = _engine(device, args.precision, compile=False, cuda_graphs=True)
        return {
            "1": round(_fps(engine, tiles[:1], tile), 3),
            "4": round(_fps(engine, tiles, tile), 3),
        }

    _try(record, "chunk_batch_tile128_fps", chunk_batch)

    def traffic() -> dict:
        engine = _engine(device, args.precision, compile=False, cuda_graphs=False)
        seconds = 1 / _fps(engine, lq[:4])
        with OpCounter() as counter:
            engine.upscale(lq[:4], engine.fit(0), 16)
        created = counter.bytes_created / 4 / 1e9
        peak = next((v for k, v in PEAK_GBPS.items() if k in record["gpu"]), None)
        gbps = 2 * created / seconds  # each created byte is written once and read at least once
        return {"gb_created_per_frame": round(created, 2), "achieved_gbps": round(gbps, 1),
                "share_of_peak_bandwidth": round(gbps / peak, 3) if peak else None}  # fmt: skip

    _try(record, "traffic_eager", traffic)
    _try(record, "golden_fp16_db", lambda: round(against_authors(device, "fp16")[1], 2))
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        weights = tmp / "w.safetensors"
        torch.manual_seed(0)
        save_file(PSRTRecurrent(**SHAPE).state_dict(), str(weights))
        frames = 24 if args.quick else 320  # a long job: the defaults compile
        _try(
            record,
            "e2e_fps_320x180_x4",
            lambda: _e2e(*parse_size(args.size), frames, args.device, weights, tmp),
        )
        if not args.quick:
            _try(record, "e2e_fps_1080p_x4", lambda: _e2e(1920, 1080, 6, args.device, weights, tmp))
    if device.type == "cuda":
        record["peak_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    line = json.dumps(record)
    print(line)
    if args.record:
        with args.record.open("a") as out:
            out.write(line + "\n")
    sys.exit(0)


if __name__ == "__main__":
    main()
