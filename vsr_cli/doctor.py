"""``vsr doctor``: what a user pastes into a bug report, and how they learn why it is slow.

The versions of everything that computes or decodes, the devices, whether a C/C++
compiler and Triton are there (compiling needs them), and for the chosen device which
speed levers will be on and why, with the tile and chunk sizes free memory allows.
``check`` runs each lever on a tiny model with random weights against the plain fp32
output, so a lever that runs wrong here is found in seconds, not in a finished video.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata

import torch

from vsr_cli.context import RunContext
from vsr_cli.events import CallbackReporter
from vsr_cli.infer import fallback
from vsr_cli.infer.backend import free_memory
from vsr_cli.infer.engine import COMPILE_MIN_FRAMES, Engine
from vsr_cli.infer.plan import auto_sizes
from vsr_cli.models.precision import DeviceFacts, precision_choice
from vsr_cli.models.psrt import PSRTRecurrent

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
TINY = {"mid_channels": 16, "embed_dim": 24, "depths": (2,), "num_heads": (2,)}


@dataclass(frozen=True)
class Check:
    lever: str
    result: str  # pass, fail, skipped
    psnr_db: float | None = None  # against the plain fp32 output
    seconds: float | None = None
    note: str = ""


def report(device: torch.device, check: bool) -> dict:
    """Everything ``vsr doctor`` prints, as plain values (``--json`` prints this)."""
    found = {
        "versions": versions(),
        "devices": [_describe(d) for d in _devices()],
        "compilers": compilers(),
        "device": str(device),
        "levers": levers(device),
        "sizes": sizes(device),
        "remembered_failures": fallback.all_remembered(),
        "remembered_in": str(fallback.memory_file()),
    }
    if check:
        found["checks"] = [asdict(c) for c in run_checks(device)]
    return found


def versions() -> dict[str, str | None]:
    import av

    from vsr_cli import __version__

    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "vsr-cli": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": str(cudnn) if cudnn else None,
        "pyav": av.__version__,
        "ffmpeg": str(av.ffmpeg_version_info),
    }


def _devices() -> list[torch.device]:
    cuda = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    mps = [torch.device("mps")] if torch.backends.mps.is_available() else []
    return [torch.device("cpu"), *cuda, *mps]


def _describe(device: torch.device) -> dict:
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return {
            "device": str(device),
            "name": props.name,
            "memory_gib": round(props.total_memory / 2**30, 1),
            "capability": f"{props.major}.{props.minor}",
        }
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") if device.type == "cpu" else 0
    return {
        "device": str(device),
        "name": platform.processor() or platform.machine(),
        "memory_gib": round(pages / 2**30, 1) if pages else None,
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
    }


def compilers() -> dict[str, str | None]:
    """What torch.compile needs: a C++ compiler (Inductor on the CPU), a C compiler and
    Triton (on GPUs), as torch would find them (``CXX``/``CC`` first)."""
    try:  # found, not imported: Triton is torch's, on GPUs
        triton_version: str | None = metadata.version("triton")
    except metadata.PackageNotFoundError:
        triton_version = None
    return {
        "c++": _which(os.environ.get("CXX"), "c++", "g++", "clang++"),
        "c": _which(os.environ.get("CC"), "cc", "gcc", "clang"),
        "triton": triton_version,
    }


def _which(given: str | None, *names: str) -> str | None:
    if given is not None:  # torch takes CXX/CC as they are, even when they lead nowhere
        return shutil.which(given)
    return next((found for n in names if (found := shutil.which(n))), None)


def levers(device: torch.device) -> dict[str, dict[str, object]]:
    """Each lever for ``device`` as ``vsr-upscale`` would set it by default, and why."""
    precision, why = precision_choice("auto", device)
    cuda = device.type == "cuda"
    failed = fallback.remembered(device)
    compiler = compilers()["c++" if not cuda else "c"]
    if "compile" in failed:
        compiled = ("off", f"it failed here before ({failed['compile']})")
    elif not cuda:
        compiled = ("off", "only with --compile on the CPU")
    elif compiler is None:
        compiled = ("off", "no C compiler found (Triton needs one)")
    else:
        compiled = ("auto", f"on for jobs of {COMPILE_MIN_FRAMES} frames or more")
    half = precision != "fp32"
    return {
        "precision": {"value": precision, "why": why},
        "half_residual": {
            "value": cuda and half,
            "why": "on CUDA in half precision" if cuda and half else "only on CUDA in fp16/bf16",
        },
        "compile": {"value": compiled[0], "why": compiled[1]},
        "cuda_graphs": {"value": cuda, "why": "whole chunks replayed" if cuda else "CUDA only"},
        "attention": {"value": "sdpa", "why": "FlexAttention only when asked for"},
        "chunk_batch": {
            "value": "auto" if cuda else 1,
            "why": "chunks side by side as memory allows, up to 4" if cuda else "no gain on a CPU",
        },
    }


def sizes(device: torch.device) -> dict[str, dict[str, int]]:
    """The tile (0: whole frames) and chunk sizes free memory allows now, at x4."""
    budget = free_memory(device)
    found = {}
    for label, (width, height) in SIZES.items():
        tile, chunk = auto_sizes(width, height, budget, 16, 4, 4)
        found[label] = {"tile": tile, "chunk": chunk}
    return found


def run_checks(device: torch.device) -> list[Check]:
    """Each lever on a tiny random model (3 frames of 64x64) against plain fp32."""
    torch.manual_seed(0)
    model = PSRTRecurrent(**TINY)
    lq = torch.rand(3, 3, 64, 64)
    facts = DeviceFacts.of(device)
    plain = Engine(model, device, "fp32")
    reference = plain.upscale(lq, plain.fit(0), 0)
    cuda = device.type == "cuda"

    def engine(precision: str, **levers: object) -> Callable[[], Engine]:
        return lambda: Engine(model, device, precision, **levers)

    trials: list[tuple[str, Callable[[], Engine] | None, float, str]] = [
        ("fp16", engine("fp16", half_residual=False), 40.0, ""),
        ("fp16 half residual", engine("fp16", half_residual=True), 40.0, ""),
        ("bf16", engine("bf16") if facts.bf16 or not cuda else None, 30.0, "no native bf16"),
        ("compile", engine("fp32", compile=True), 50.0, ""),
        ("cuda graphs", engine("fp32", cuda_graphs=True) if cuda else None, 50.0, "CUDA only"),
        (
            "flex attention",
            engine("fp32", compile=True, attention="flex") if cuda else None,
            50.0,
            "compiled, on a GPU only",
        ),
    ]
    checks = [_try(name, make, floor, note, lq, reference) for name, make, floor, note in trials]
    return [*checks, _chunks_side_by_side(model, device, lq, reference)]


def _try(
    lever: str,
    make: Callable[[], Engine] | None,
    floor: float,
    skipped_why: str,
    lq: torch.Tensor,
    reference: torch.Tensor,
) -> Check:
    if make is None:
        return Check(lever, "skipped", note=skipped_why)
    warnings: list[str] = []
    context = RunContext(CallbackReporter(None, warnings.append))
    started = time.perf_counter()
    try:
        engine = make()
        for _ in range(3 if lever == "cuda graphs" else 1):  # warm, capture, replay
            out = engine.upscale(lq, engine.fit(0), 0, context=context)
    except Exception as e:  # noqa: BLE001 - a lever that breaks is what this finds
        return Check(lever, "fail", note=fallback.reason(e))
    seconds = round(time.perf_counter() - started, 2)
    db = _psnr(out, reference)
    if warnings:  # it fell back: it does not run here
        return Check(lever, "fail", db, seconds, "; ".join(warnings))
    return Check(lever, "pass" if db >= floor else "fail", db, seconds, f"at least {floor:g} dB")


def _chunks_side_by_side(
    model: PSRTRecurrent, device: torch.device, lq: torch.Tensor, reference: torch.Tensor
) -> Check:
    engine = Engine(model, device, "fp32")
    started = time.perf_counter()
    out = engine.upscale(torch.stack([lq, lq]), engine.fit(0, 2), 0)
    seconds = round(time.perf_counter() - started, 2)
    db = min(_psnr(out[0], reference), _psnr(out[1], reference))
    return Check("chunk batch", "pass" if db >= 60 else "fail", db, seconds, "2 side by side")


def _psnr(out: torch.Tensor, reference: torch.Tensor) -> float:
    error = float(
        (out.float().cpu().clamp(0, 1) - reference.float().cpu().clamp(0, 1)).pow(2).mean()
    )
    if math.isnan(error):
        return -math.inf
    return math.inf if error == 0 else round(10 * math.log10(1 / error), 1)
