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


def _save(path: Path, params: dict[str, torch.Tensor]) -> Path:
    torch.save({"params": PSRTRecurrent.from_state_dict(params).state_dict()}, path)
    return path


@pytest.fixture(scope="session")
def golden_checkpoint(golden_params, tmp_path_factory) -> Path:
    """The authors' tiny model as an official-format .pth."""
    return _save(tmp_path_factory.mktemp("weights") / "golden.pth", golden_params)


@pytest.fixture(scope="session")
def bilinear_checkpoint(golden_params, tmp_path_factory) -> Path:
    """``conv_last`` zeroed: the output is exactly the bilinear x4 upsample of the input,
    which makes colour and bit-depth checks exact."""
    params = dict(golden_params)
    params["conv_last.weight"] = torch.zeros_like(params["conv_last.weight"])
    params["conv_last.bias"] = torch.zeros_like(params["conv_last.bias"])
    return _save(tmp_path_factory.mktemp("weights") / "bilinear.pth", params)


@pytest.fixture(scope="session")
def flat_flow_checkpoint(golden_params, tmp_path_factory) -> Path:
    """SpyNet's last convolutions zeroed (flows exactly zero, so they don't change with the
    tile) and ``conv_last`` scaled by 0.1 (outputs stay in range): the stitching test model."""
    params = dict(golden_params)
    for key in params:
        if key.startswith("spynet.basic_module.") and ".basic_module.8." in key:
            params[key] = torch.zeros_like(params[key])
    for key in ("conv_last.weight", "conv_last.bias"):
        params[key] = params[key] * 0.1
    return _save(tmp_path_factory.mktemp("weights") / "flat.pth", params)
