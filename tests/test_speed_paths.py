"""Fast paths compute what the plain fp32 path computes; the benchmark reports real figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vsr_cli.infer.backend import configure_backend
from vsr_cli.infer.engine import Engine
from vsr_cli.models.precision import for_precision
from vsr_cli.models.psrt import PSRTRecurrent


@pytest.fixture(scope="module")
def user_cache(tmp_path_factory) -> Path:
    """An empty user cache folder, shared by the tests that compile (so the second reuses
    the kernels the first compiled, as a user's second run does)."""
    return tmp_path_factory.mktemp("cache")


def test_compiled_model_matches_eager(golden_params, user_cache, monkeypatch):
    """torch.compile of the per-frame step (opt-in, --compile): same outputs to 1e-4, and
    the compiled kernels kept in the user's cache folder, not in /tmp.
    Here (2-core CPU, tiny model) compiling took ~48 s."""
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(user_cache))
    configure_backend([torch.device("cpu")])  # as load_engines does, before any engine
    lq = torch.rand(3, 3, 64, 72)
    plain = Engine(PSRTRecurrent.from_state_dict(golden_params), torch.device("cpu"), "fp32")
    eager = plain.upscale(lq, plain.fit(0), 0)
    engine = Engine(
        PSRTRecurrent.from_state_dict(golden_params), torch.device("cpu"), "fp32", compile=True
    )
    compiled = engine.upscale(lq, engine.fit(0), 0)
    assert (compiled - eager).abs().max().item() <= 1e-4
    assert "patch_align.forward_2.conv_after_body.weight" in engine.model.state_dict()
    assert any((user_cache / "vsr-cli" / "inductor").iterdir())


def test_compiled_steps_are_one_graph_and_stay_compiled(golden_params):
    """--compile only pays if each step is one graph: a graph break runs the rest
    eagerly, a recompile at every call costs seconds. The model's forward builds the window
    layouts and attention plans for its frame size before any step runs, so compiled steps
    (in place, as the engine compiles them) only read them; the four branches share one
    graph. Traced with the eager backend: no kernels to build."""
    model = PSRTRecurrent.from_state_dict(golden_params).eval()
    for step in model.patch_align.values():
        step.compile(backend="eager", fullgraph=True)
    lq = torch.rand(1, 3, 3, 64, 68)  # 68: padding and edge windows
    torch._dynamo.reset()
    with torch.inference_mode():
        with torch._dynamo.config.patch(error_on_recompile=True):
            first, second = model(lq), model(lq)
        expected = PSRTRecurrent.from_state_dict(golden_params).eval()(lq)
    torch._dynamo.reset()
    assert torch.equal(first, expected) and torch.equal(second, expected)


def test_flop_count_of_the_released_model():
    """The field notes' estimate for 320x180 input is about 5 TFLOP per output frame."""
    assert 4.5e12 < PSRTRecurrent().flops_per_frame(180, 320) < 5.5e12


def test_bench_prints_machine_readable_figures(golden_checkpoint, user_cache):
    env = {k: v for k, v in os.environ.items() if k != "TORCHINDUCTOR_CACHE_DIR"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from vsr_cli.cli import vsr_main; vsr_main()",
            "bench",
            "--size",
            "72x64",  # the compile test's shape: the inductor cache it filled is reused
            "--frames",
            "3",
            "--repeats",
            "1",
            "--device",
            "cpu",
            "--weights",
            str(golden_checkpoint),
            "--pipeline",
            "--compile",
            "--cuda-graphs",  # on a CPU: compiled as with graphs, steps' outputs copied
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env | {"XDG_CACHE_HOME": str(user_cache)},
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["device"] == "cpu" and figures["precision"] == "fp32" and figures["compiled"]
    assert figures["cuda_graphs"]
    assert figures["fps"] > 0 and figures["tflops"] > 0 and figures["end_to_end_fps"] > 0
    assert abs(figures["fps"] * figures["ms_per_frame"] - 1000) < 1e-6
    # The compiled run is measured against eager in the same run, and the break-even follows.
    assert figures["eager_ms_per_frame"] > 0 and figures["compile_seconds"] >= 0
    saved = (figures["eager_ms_per_frame"] - figures["ms_per_frame"]) / 1000
    if saved > 0:
        assert abs(figures["break_even_frames"] * saved - figures["compile_seconds"]) < 1e-6
    else:
        assert figures["break_even_frames"] is None


def test_bench_refuses_an_unknown_precision_before_running():
    result = subprocess.run(
        [sys.executable, "-c", "from vsr_cli.cli import vsr_main; vsr_main()", "bench"]
        + ["--precision", "fp8", "--device", "cpu"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "--precision" in result.stderr


def test_attention_masks_are_laid_out_for_the_fused_gpu_kernels(
    golden_model, golden_io, monkeypatch
):
    """CUDA's fused attention kernels take an additive mask only with its last dimension
    at stride 1 and in q's dtype; a permuted view sent the released model down the math
    path on an H200 (2.3x slower end to end). Every mask handed to attention must be laid
    out that way, and be one (heads, N, N) bias shared by all windows (no per-window
    masks: at 1080p they would take gigabytes)."""
    seen = []
    attention = torch.nn.functional.scaled_dot_product_attention

    def spy(q, k, v, attn_mask=None, **kwargs):
        seen.append((attn_mask.stride(-1), attn_mask.dtype, q.dtype, attn_mask.shape[0]))
        return attention(q, k, v, attn_mask=attn_mask, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    lq = golden_io["input_u8"].float() / 255
    with torch.inference_mode():
        for_precision(golden_model, "bf16")(lq)
    assert {(stride, dtype, q) for stride, dtype, q, _ in seen} == {
        (1, torch.bfloat16, torch.bfloat16)
    }
    assert {windows for *_, windows in seen} == {1}
