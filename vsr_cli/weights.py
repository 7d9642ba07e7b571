"""Reading weights files: the authors' ``.pth`` checkpoints and our ``.safetensors``.

A weights file never runs code: ``.pth`` goes through ``torch.load(weights_only=True)``.
Written weights are always safetensors, in one canonical form, so converting the
same checkpoint anywhere gives the same bytes (and the same sha256).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import tempfile
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from vsr_cli.errors import CheckpointError

# Training checkpoints keep an EMA copy, which is the better one to infer with.
_WRAPPERS = ("params_ema", "params", "state_dict")


def _kind(path: Path) -> str | None:
    """safetensors (8-byte header length, then JSON), torch (zip archive or legacy pickle)."""
    with path.open("rb") as f:
        head = f.read(9)
    if len(head) == 9 and head[8:9] == b"{":
        return "safetensors"
    if head.startswith((b"PK\x03\x04", b"\x80")):
        return "torch"
    return None


def _load_raw(path: Path) -> object:
    kind = _kind(path)
    if kind is None:
        raise CheckpointError("not a PyTorch or safetensors weights file")
    if kind == "safetensors":
        try:
            return load_file(path, device="cpu")
        except (SafetensorError, OSError) as e:
            raise CheckpointError(f"broken safetensors file ({e})") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "unsupported global" in str(e).lower():
            raise CheckpointError(
                "holds Python objects besides tensors; refusing to unpickle code"
            ) from None
        raise CheckpointError("damaged PyTorch weights file") from None
    except Exception:  # torch.load raises KeyError, EOFError, RuntimeError... on garbage
        raise CheckpointError("not a PyTorch or safetensors weights file") from None


def canonical_state_dict(obj: object) -> dict[str, Tensor]:
    """Unwrap ``{"params_ema"|"params"|"state_dict": ...}`` and strip DataParallel's ``module.``."""
    if isinstance(obj, Mapping):
        for key in _WRAPPERS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping):
        raise CheckpointError("the file holds no state dict")
    tensors = {str(k).removeprefix("module."): v for k, v in obj.items() if isinstance(v, Tensor)}
    if not any(k.startswith("patch_align.") for k in tensors):
        raise CheckpointError("no `patch_align.*` tensors: not a PSRT-recurrent checkpoint")
    return tensors


def read_checkpoint(path: str | Path) -> dict[str, Tensor]:
    """The state dict of a PSRT-recurrent ``.pth`` or ``.safetensors`` file, on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such weights file")
    try:
        return canonical_state_dict(_load_raw(path))
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from None


def write_safetensors(model: nn.Module, target: Path, config: object) -> None:
    """``model``'s state dict (buffers included) as ``target``, written under a temporary
    name and renamed, so a partial file never sits under the final name. Its mode follows
    the umask, as the Hub's own files do (a shared cache's other users can read it), not
    the temporary file's 0600."""
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        save_file(state, partial, metadata={"config": json.dumps(config)})
        os.chmod(partial, shared_mode())
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


def shared_mode() -> int:
    """The mode a new file gets from the umask (temporary files get 0600 instead)."""
    with contextlib.suppress(OSError, ValueError):  # Linux: read without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere, reading it means setting it: put straight back
    os.umask(mask)
    return 0o666 & ~mask
