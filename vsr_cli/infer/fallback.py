"""When a fast path can't run here: why, in a few words, and a memory of it.

The GPU levers (compiling, FlexAttention, CUDA graphs) are on by default for the people
the tool exists for, and each can fail on a given machine: no C or C++ compiler (slim
container images, Windows without MSVC), no Triton, an unsupported GPU. A failure costs
one warning and the job goes on the plain way; it is remembered in a small file in the
user's cache folder, keyed by device, torch and vsr-cli version, so that later runs do
not pay for it again (``vsr doctor`` shows the file and ``--forget`` clears it).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch

_COMPILERS = (("CXX", "c++"), ("CC", "cc"))  # as torch finds them
# What an error's text says, and the few words a user reads for it.
_REASONS = (
    ("InvalidCxxCompiler", "no C++ compiler found"),
    ("CppCompileError", "the C++ compiler failed"),
    ("Failed to find C compiler", "no C compiler found"),
    ("Cannot find a working triton", "no Triton"),
    ("triton", "Triton failed"),
    ("flex_attention", "FlexAttention is not supported here"),
)


def reason(error: BaseException) -> str:
    """A few words for why a fast path failed: the known causes by name, else the first
    line of the innermost error (torch wraps a backend's in its own), cut short."""
    chain = [error]
    while (inner := _inner(chain[-1])) is not None and inner not in chain:
        chain.append(inner)
    text = " ".join(f"{type(e).__name__}: {e}" for e in chain)
    for marker, words in _REASONS:
        if marker.lower() in text.lower():
            return words
    last = chain[-1]
    lines = f"{type(last).__name__}: {last}".strip().splitlines()
    line = lines[0] if lines else type(last).__name__
    return line if len(line) <= 100 else line[:97] + "..."


def _inner(error: BaseException) -> BaseException | None:
    return getattr(error, "inner_exception", None) or error.__cause__ or error.__context__


def memory_file() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "vsr-cli" / "failed-levers.json"


def machine_key(device: torch.device) -> str:
    """Where a failure holds: this device (its name), this torch, this vsr-cli, and the
    compilers found now (``CXX``/``CC`` pointing elsewhere is another machine)."""
    from vsr_cli import __version__

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    found = [shutil.which(os.environ.get(v) or d) or "none" for v, d in _COMPILERS]
    return f"{name} | torch {torch.__version__} | vsr-cli {__version__} | {' '.join(found)}"


def remembered(device: torch.device) -> dict[str, str]:
    """Levers that failed before on this machine: lever -> why."""
    return _read().get(machine_key(device), {})


def remember(device: torch.device, lever: str, why: str) -> None:
    """Note that ``lever`` failed here; a file that can't be written is no reason to stop."""
    entries = _read()
    entries.setdefault(machine_key(device), {})[lever] = why
    target = memory_file()
    with contextlib.suppress(OSError):
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=target.parent, suffix=".tmp", delete=False
        ) as partial:
            json.dump(entries, partial, indent=1)
        os.replace(partial.name, target)


def all_remembered() -> dict[str, dict[str, str]]:
    return _read()


def forget() -> int:
    """Clear every remembered failure; how many machines' entries there were."""
    count = len(_read())
    memory_file().unlink(missing_ok=True)
    return count


def _read() -> dict[str, dict[str, str]]:
    try:
        found = json.loads(memory_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}
