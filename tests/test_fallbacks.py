"""The fast path's defaults cannot fail a user: a lever that can't run here (no compiler,
a backend error) or runs wrong (a CUDA graph whose replay differs, half precision that
overflows) costs one warning, and the output is what the plain way computes."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
import torch
from cli import vsr, vsr_upscale, warnings_in
from media import make_clip, read_frames

from vsr_cli.context import RunContext
from vsr_cli.events import CallbackReporter
from vsr_cli.infer.engine import Engine
from vsr_cli.infer.graphs import ChunkGraphs
from vsr_cli.models.precision import DeviceFacts, choose_precision
from vsr_cli.models.psrt import PSRTRecurrent


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def _env(tmp_path, **extra: str) -> dict[str, str]:
    """This machine's environment with a cache folder of the test's own (where failed
    levers are remembered)."""
    env = {k: v for k, v in os.environ.items() if k != "VSR_DEBUG"}
    return env | {"XDG_CACHE_HOME": str(tmp_path / "cache")} | extra


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    return make_clip(folder / "in.mkv", pts=[40 * i for i in range(4)], audio=False).path


def test_compile_without_a_compiler_falls_back_once_and_is_remembered(
    tmp_path, clip, golden_checkpoint
):
    common = ["--weights", golden_checkpoint, "--device", "cpu", "--codec", "ffv1", "-q"]
    plain = vsr_upscale(clip, tmp_path / "plain.mkv", "--no-compile", *common)
    assert plain.returncode == 0, plain.stderr
    env = _env(tmp_path, CXX="/nonexistent")
    first = vsr_upscale(clip, tmp_path / "first.mkv", "--compile", *common, env=env)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    compiling = [w for w in warnings_in(first) if "compil" in w]
    assert compiling == [
        f"warning: {clip}: compiling failed: no C++ compiler found; running without compiling"
    ], first.stderr
    expected = np.stack(read_frames(tmp_path / "plain.mkv"))
    assert _psnr(np.stack(read_frames(tmp_path / "first.mkv")), expected) >= 50
    remembered = json.loads((tmp_path / "cache" / "vsr-cli" / "failed-levers.json").read_text())
    assert [e["compile"] for e in remembered.values()] == ["no C++ compiler found"]
    # The next run does not pay for the failure again.
    again = vsr_upscale(clip, tmp_path / "again.mkv", "--compile", *common, env=env)
    assert again.returncode == 0, again.stderr
    notes = [w for w in warnings_in(again) if "compil" in w]
    assert len(notes) == 1 and "failed before (no C++ compiler found)" in notes[0], notes
    assert _psnr(np.stack(read_frames(tmp_path / "again.mkv")), expected) >= 50


def test_a_lever_that_raises_at_its_first_call_falls_back(golden_params, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def broken_backend(graph, inputs):
        raise RuntimeError("backend exploded")

    engine = Engine(PSRTRecurrent.from_state_dict(golden_params), torch.device("cpu"), "fp32")
    lq = torch.rand(3, 3, 64, 64)
    expected = engine.upscale(lq, engine.fit(0), 0)
    for step in engine.model.patch_align.values():
        step.compile(backend=broken_backend)
    engine.compiled = True
    warnings: list[str] = []
    context = RunContext(CallbackReporter(None, warnings.append))
    fresh = torch.rand(3, 3, 72, 64)  # a new shape: what compiles
    out = engine.upscale(fresh, engine.fit(0), 0, context=context)
    assert len(warnings) == 1 and warnings[0].startswith("compiling failed: "), warnings
    assert "backend exploded" in warnings[0]
    assert not engine.compiled
    assert torch.equal(engine.upscale(lq, engine.fit(0), 0), expected)
    assert out.shape == (3, 3, 288, 256)


class _WrongReplay(ChunkGraphs):
    """A stand-in for a capture that misses a step: replays compute something else."""

    def can_capture(self, lq):
        return True

    def capture(self, lq):
        return (lambda x: self.model(x) + 0.25), self.model(lq)


def test_a_graph_whose_replay_differs_never_reaches_the_output(golden_model):
    graphs = _WrongReplay(golden_model)
    lq = torch.rand(1, 3, 3, 64, 64)
    warnings: list[str] = []
    with torch.inference_mode():
        expected = golden_model(lq)
        outs = [graphs(lq, warnings.append) for _ in range(3)]  # warm, capture, later
    assert all(torch.equal(out, expected) for out in outs)
    assert len(warnings) == 1 and "first replay differs from the eager output" in warnings[0]


def _overflowing_checkpoint(golden_params, path):
    """One MLP bias raised by 7e4: past fp16's 65504, so half precision gives inf."""
    params = dict(golden_params)
    key = "patch_align.backward_1.layers.0.residual_group.blocks.0.mlp.fc2.bias"
    params[key] = params[key] + 7e4
    torch.save({"params": PSRTRecurrent.from_state_dict(params).state_dict()}, path)
    return path


def test_half_precision_that_overflows_is_computed_again_in_fp32(tmp_path, clip, golden_params):
    weights = _overflowing_checkpoint(golden_params, tmp_path / "overflow.pth")
    common = ["--weights", weights, "--codec", "ffv1", "--chunk", "2", "--chunk-overlap", "1"]
    fp32 = vsr_upscale(clip, tmp_path / "fp32.mkv", "--precision", "fp32", *common, "-q")
    assert fp32.returncode == 0, fp32.stderr
    half = vsr_upscale(clip, tmp_path / "fp16.mkv", "--precision", "fp16", *common, "-q")
    assert half.returncode == 0, half.stderr
    said = [w for w in warnings_in(half) if "fp16" in w]
    assert said and "computed it again in fp32" in said[0], half.stderr
    assert any("the rest of this run is fp32" in w for w in said), said
    expected = np.stack(read_frames(tmp_path / "fp32.mkv"))
    produced = np.stack(read_frames(tmp_path / "fp16.mkv"))
    assert produced.mean() > 50  # not black
    assert _psnr(produced, expected) >= 40


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (DeviceFacts("cpu", "cpu", None, False), "fp32"),
        (DeviceFacts("mps", "mps", None, False), "fp32"),
        (DeviceFacts("cuda", "NVIDIA GeForce GTX 1080", (6, 1), False), "fp32"),
        (DeviceFacts("cuda", "NVIDIA GeForce GTX 1660 SUPER", (7, 5), False), "fp32"),
        (DeviceFacts("cuda", "Tesla V100-SXM2-16GB", (7, 0), False), "fp16"),
        (DeviceFacts("cuda", "NVIDIA H100 80GB HBM3", (9, 0), True), "fp16"),
    ],
)
def test_auto_precision_is_what_the_device_does_well(facts, expected):
    precision, why = choose_precision(facts)
    assert precision == expected
    assert why  # said in --json's start event and in vsr doctor


def test_the_json_start_event_says_what_runs_and_why(tmp_path, clip, golden_checkpoint):
    result = vsr_upscale(clip, tmp_path / "out.mkv", "--weights", golden_checkpoint, "--json")
    assert result.returncode == 0, result.stderr
    start = next(e for e in map(json.loads, result.stderr.splitlines()) if e["event"] == "start")
    levers = start["levers"]
    assert (levers["device"], levers["precision"], levers["cuda_graphs"]) == ("cpu", "fp32", False)
    assert levers["precision_reason"] == "cpu: half precision gains nothing there"


def test_vsr_doctor_reports_versions_devices_and_levers(tmp_path):
    found = vsr("doctor", "--json")
    assert found.returncode == 0, found.stderr
    report = json.loads(found.stdout)
    assert report["versions"]["torch"] == torch.__version__
    assert report["versions"]["pyav"] and report["versions"]["ffmpeg"]
    assert report["devices"][0]["device"] == "cpu"
    assert set(report["compilers"]) == {"c++", "c", "triton"}
    assert report["levers"]["precision"]["value"] == "fp32"
    assert set(report["sizes"]) == {"720p", "1080p"}
    text = vsr("doctor")
    assert text.returncode == 0 and "levers on cpu" in text.stdout


def test_vsr_doctor_check_runs_each_lever_against_fp32(tmp_path):
    env = _env(tmp_path, CXX="/nonexistent")  # compiling fails at once, as in slim images
    found = vsr("doctor", "--check", "--json", env=env)
    assert found.returncode == 0, found.stderr
    checks = {c["lever"]: c for c in json.loads(found.stdout)["checks"]}
    assert checks["fp16"]["result"] == "pass" and checks["fp16"]["psnr_db"] >= 40
    assert checks["chunk batch"]["result"] == "pass"
    assert checks["compile"]["result"] == "fail"
    assert "no C++ compiler found" in checks["compile"]["note"]
    assert checks["cuda graphs"]["result"] == "skipped"
    forgot = vsr("doctor", "--forget", "--json", env=env)
    assert json.loads(forgot.stdout)["remembered_failures"] == {}
