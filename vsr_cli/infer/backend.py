"""Devices, their free memory, and the process-wide torch settings, made in one explicit
call (``configure_backend``) by the API, never by a constructor.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from vsr_cli.errors import UsageError


def pick_device(name: str) -> torch.device:
    """``auto``: the first CUDA GPU, else Apple's MPS, else the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r}: this torch build or machine has no CUDA GPU")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r}: MPS is not available here")
    if (
        device.type == "cuda"
        and device.index is not None
        and (device.index >= torch.cuda.device_count())
    ):
        raise ValueError(f"device {name!r}: only {torch.cuda.device_count()} CUDA GPU(s)")
    return device


def devices(spec: str) -> list[torch.device]:
    """``auto``, ``cpu``, ``cuda:1``, a list ``cuda:0,cuda:1``, or ``all`` (every GPU)."""
    try:
        if spec == "all":
            count = torch.cuda.device_count()
            return [torch.device(f"cuda:{i}") for i in range(count)] or [torch.device("cpu")]
        return [pick_device(part.strip()) for part in spec.split(",")]
    except (ValueError, RuntimeError) as e:
        raise UsageError(f"--device: {e}; the devices here: {', '.join(_present())}") from None


def _present() -> list[str]:
    """The devices this machine and torch build can run on."""
    found = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return found + (["mps"] if torch.backends.mps.is_available() else [])


def free_memory(device: torch.device) -> int:
    """Bytes the model may use on ``device`` (free GPU memory, or half the available RAM)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * 0.9)
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


def configure_backend(used: list[torch.device]) -> None:
    """The process-wide settings the engines want, set once by the API before loading them.

    On CUDA: cuDNN's per-shape search (tiles share one shape and chunks repeat, so it
    pays) and TF32 matrix products for fp32 (cuDNN's convolutions already use TF32).
    Everywhere: torch.compile's kernel cache in the user's cache folder (unless set
    already) instead of /tmp, which reboots clear; with it warm, compiling the released
    model took 10 s instead of 53 s here (docs/benchmarks.md).
    """
    if any(d.type == "cuda" for d in used):
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(base / "vsr-cli" / "inductor"))
