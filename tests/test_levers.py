"""The model-level speed levers of issue #20 ("25 fps at 720p out on one H100"), each
checked on the CPU: what a GPU would run, computed or traced here."""

from __future__ import annotations

import torch

from vsr_cli.models.warp import divisor_values

# 1. No host constants.


def test_sampling_divisors_keep_the_authors_arithmetic():
    """On CUDA the grid is multiplied by float32 reciprocals, now made on the device from
    Python numbers: each must be the float32 quotient 1 / (size - 1) that PyTorch's CUDA
    division by a Python number uses; on the CPU the divisors are the sizes themselves."""
    sizes = torch.arange(1, 8193, dtype=torch.float32)
    reciprocals = [divisor_values(2, int(s) + 1, torch.device("cuda"))[0] for s in sizes]
    assert torch.equal(torch.tensor(reciprocals, dtype=torch.float32), 1.0 / sizes)
    assert divisor_values(180, 320, torch.device("cpu")) == (319.0, 179.0)
    assert divisor_values(1, 1, torch.device("cpu")) == (1.0, 1.0)
