"""Fast paths compute what the plain fp32 path computes; the benchmark reports real figures."""

from __future__ import annotations

import json
import subprocess
import sys

import torch

from vsr_cli.engine import Engine
from vsr_cli.models.psrt import PSRTRecurrent


def test_compiled_model_matches_eager(golden_params):
    """torch.compile of the per-frame step (opt-in, --compile): same outputs to 1e-4.
    Here (2-core CPU, tiny model) compiling took ~48 s and the next call ran faster."""
    lq = torch.rand(3, 3, 64, 72)
    eager, _ = Engine(
        PSRTRecurrent.from_state_dict(golden_params), torch.device("cpu"), "fp32", print
    ).upscale(lq, 0, 0)
    engine = Engine(
        PSRTRecurrent.from_state_dict(golden_params),
        torch.device("cpu"),
        "fp32",
        print,
        compile=True,
    )
    compiled, _ = engine.upscale(lq, 0, 0)
    assert (compiled - eager).abs().max().item() <= 1e-4
    assert "patch_align.forward_2.conv_after_body.weight" in engine.model.state_dict()


def test_flop_count_of_the_released_model():
    """The field notes' estimate for 320x180 input is about 5 TFLOP per output frame."""
    assert 4.5e12 < PSRTRecurrent().flops_per_frame(180, 320) < 5.5e12


def test_bench_prints_machine_readable_figures(golden_checkpoint):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from vsr_cli.cli import vsr_main; vsr_main()",
            "bench",
            "--size",
            "64x64",
            "--frames",
            "3",
            "--repeats",
            "1",
            "--device",
            "cpu",
            "--weights",
            str(golden_checkpoint),
            "--pipeline",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["device"] == "cpu" and figures["precision"] == "fp32"
    assert figures["fps"] > 0 and figures["tflops"] > 0 and figures["end_to_end_fps"] > 0
    assert abs(figures["fps"] * figures["ms_per_frame"] - 1000) < 1e-6
