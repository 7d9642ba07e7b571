"""Shared fixtures: the golden reference vectors and tiny models built from them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from vsr_cli.models.psrt import PSRTRecurrent

GOLDEN = Path(__file__).parent / "data" / "golden"


@pytest.fixture(scope="session")
def golden_params() -> dict[str, torch.Tensor]:
    """Parameters of the authors' tiny model (no buffers), as float32."""
    params = load_file(GOLDEN / "psrt_tiny_params_fp16.safetensors")
    return {k: v.float() for k, v in params.items()}


@pytest.fixture(scope="session")
def golden_io() -> dict[str, torch.Tensor]:
    return load_file(GOLDEN / "psrt_tiny_io.safetensors")


@pytest.fixture()
def golden_model(golden_params) -> PSRTRecurrent:
    return PSRTRecurrent.from_state_dict(golden_params).eval()
