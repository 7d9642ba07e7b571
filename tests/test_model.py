"""PSRT-recurrent computes the authors' function and reads its configuration from weights."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from vsr_cli.errors import CheckpointError
from vsr_cli.models.precision import for_precision
from vsr_cli.models.psrt import PSRTConfig, PSRTRecurrent


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = ((a.float() - b.float()) ** 2).mean().item()
    return 10 * math.log10(1.0 / mse)


def run(model: PSRTRecurrent, lq: torch.Tensor, precision: str = "fp32") -> torch.Tensor:
    with torch.inference_mode():
        return for_precision(model, precision)(lq)


@pytest.mark.smoke
def test_matches_authors_output_in_fp32(golden_model, golden_io):
    lq = golden_io["input_u8"].float() / 255
    out = run(golden_model, lq)
    assert out.shape == (1, 4, 3, 256, 272)
    assert (out - golden_io["output"]).abs().max().item() <= 1e-4


class PlainLayoutConv(torch.nn.Module):
    """A stage convolution answering in plain NCHW memory, as a backend may."""

    def __init__(self, conv: torch.nn.Conv2d) -> None:
        super().__init__()
        self.inner = conv
        self.weight = conv.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x).contiguous()


def test_stage_convolutions_may_answer_in_any_memory_layout(golden_model, golden_io):
    """A stage reads its convolution's channels-last output as token rows in place, and
    transposes any other layout: both give the authors' output."""
    model = copy.deepcopy(golden_model)
    for step in model.patch_align.values():
        for stage in step.layers:
            stage.conv = PlainLayoutConv(stage.conv)
    out = run(model, golden_io["input_u8"].float() / 255)
    assert (out - golden_io["output"]).abs().max().item() <= 1e-4


@pytest.mark.parametrize(("precision", "min_psnr"), [("fp16", 55.0), ("bf16", 38.0)])
def test_half_precision_agrees_with_fp32(golden_model, golden_io, precision, min_psnr):
    """On this CPU the golden clip gave 65.3 dB (max |diff| 3.3e-3) in fp16 and 43.2 dB
    (max |diff| 4.3e-2) in bf16 against the authors' fp32 output; bf16 keeps only 8 bits
    of mantissa. The output is float32 and finite either way (no overflow)."""
    lq = golden_io["input_u8"].float() / 255
    out = run(golden_model, lq, precision)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert psnr(out, golden_io["output"]) >= min_psnr


def test_released_configuration_is_read_back_from_a_full_size_state_dict():
    torch.manual_seed(0)
    state = PSRTRecurrent().state_dict()
    assert len(state) == 1154
    model = PSRTRecurrent.from_state_dict(state)
    assert model.config == PSRTConfig()
    assert sum(p.numel() for p in model.parameters()) == 13_366_943
    for key, value in state.items():
        assert torch.equal(model.state_dict()[key], value), key


def test_never_used_tensors_load():
    state = PSRTRecurrent(embed_dim=24, depths=(1,), num_heads=(2,)).state_dict()
    unused = [
        k
        for k in state
        if k.startswith("patch_align.")
        and k.split(".")[2] in ("conv_first", "conv_first_feat", "conv_before_upsample")
    ]
    assert len(unused) == 4 * 3 * 2  # 4 branches, 3 convolutions, weight + bias
    for i, key in enumerate(unused):
        state[key] = torch.full_like(state[key], float(i))
    loaded = PSRTRecurrent.from_state_dict(state).state_dict()
    for i, key in enumerate(unused):
        assert torch.equal(loaded[key], torch.full_like(state[key], float(i)))


@pytest.mark.parametrize(
    "config",
    [
        PSRTConfig(mid_channels=32, embed_dim=48, depths=(2, 1), num_heads=(4, 2)),
        PSRTConfig(
            mid_channels=16,
            embed_dim=30,
            depths=(1,),
            num_heads=(3,),
            window_size=(2, 4, 4),
            mlp_ratio=4.0,
        ),
        PSRTConfig(
            mid_channels=64, embed_dim=64, depths=(3,), num_heads=(8,), window_size=(3, 8, 4)
        ),
    ],
)
def test_any_configuration_round_trips_through_its_state_dict(config):
    torch.manual_seed(1)
    model = PSRTRecurrent(**vars(config))
    state = model.state_dict()
    clone = PSRTRecurrent.from_state_dict(state)
    assert clone.config == config
    lq = torch.rand(1, 3, 3, 64, 72)
    assert torch.equal(run(model.eval(), lq), run(clone.eval(), lq))


def test_window_is_found_without_the_stored_index(golden_params):
    """The golden file carries parameters only, as some converted checkpoints do."""
    assert not any(k.endswith("relative_position_index") for k in golden_params)
    assert PSRTConfig.from_state_dict(golden_params).window_size == (3, 8, 8)


def test_wrong_tensors_are_named_briefly(golden_params):
    broken = dict(golden_params)
    del broken["conv_hr.weight"]
    broken["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"^1 missing tensor\(s\).*conv_hr\.weight$"):
        PSRTRecurrent.from_state_dict(broken)
    broken = {k: v for k, v in golden_params.items() if not k.startswith("spynet")}
    with pytest.raises(CheckpointError) as info:
        PSRTRecurrent.from_state_dict(broken)
    assert str(info.value).startswith("60 missing tensor(s)")
    assert len(str(info.value)) < 300


def test_attention_biases_are_built_once_and_reused(golden_model):
    lq = torch.rand(1, 3, 3, 64, 68)
    run(golden_model, lq)
    attn = golden_model.patch_align["forward_1"].layers[0].residual_group.blocks[1].attn
    first = dict(attn._biases)
    assert first  # the shifted block cached its bias (its shift mask rides in q/k channels)
    run(golden_model, lq)
    assert attn._biases.keys() == first.keys()
    assert all(attn._biases[k] is first[k] for k in first)
    golden_model.load_state_dict(golden_model.state_dict())
    assert not attn._biases  # new weights, new biases


def test_frames_below_64_pixels_are_refused(golden_model):
    with pytest.raises(ValueError, match="at least 64x64"):
        run(golden_model, torch.rand(1, 2, 3, 64, 48))


# bf16 keeps 8 significant bits: near 1.0 an ulp is 0.0078, and the padded and plain runs sum
# in different orders (CPUs with and without bf16 instructions differ by up to 4 ulps here).
@pytest.mark.parametrize(("precision", "tolerance"), [("fp32", 1e-5), ("bf16", 5e-2)])
def test_padding_the_head_dim_keeps_the_function(golden_model, golden_io, precision, tolerance):
    """On CUDA q, k, v come out of the projection padded to a multiple of 8 channels per
    head (fused attention kernels need it): forced here on the CPU, the whole network must
    compute the same as unpadded."""
    from vsr_cli.models.swin import BlockStack, WindowAttention

    lq = golden_io["input_u8"].float() / 255
    attention = [m for m in golden_model.modules() if isinstance(m, WindowAttention)]
    assert attention and all(m.head_dim % 8 for m in attention)  # the case that pads
    plain = run(golden_model, lq, precision)
    for module in attention:
        module.head_multiple = 8
    padded = run(golden_model, lq, precision)
    assert (padded - plain).abs().max().item() < tolerance
    if precision == "fp32":  # the same model ran twice (half runs copy it afresh each time)
        stacks = [m for m in golden_model.modules() if isinstance(m, BlockStack)]
        multiples = {key[-1] for stack in stacks for key in stack._plans}
        assert multiples == {None, 8}  # the second run had plans of its own, not the first's
