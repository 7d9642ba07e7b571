"""vsr-cli: video super-resolution with PSRT-recurrent, from the command line.

The names below load on first use: ``import vsr_cli`` (and every command's start,
``--help`` first) costs no torch until a model is needed.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"
_LAZY = {
    "PSRTRecurrent": "vsr_cli.models.psrt",
    "load_engines": "vsr_cli.api",
    "read_checkpoint": "vsr_cli.weights",
    "upscale": "vsr_cli.api",
}
__all__ = ["PSRTRecurrent", "__version__", "load_engines", "read_checkpoint", "upscale"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'vsr_cli' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
