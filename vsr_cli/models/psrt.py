"""PSRT-recurrent, x4 video super-resolution.

Paper: Shuwei Shi, Jinjin Gu, Liangbin Xie, Xintao Wang, Yujiu Yang, Chao Dong,
"Rethinking Alignment in Video Super-Resolution Transformers", NeurIPS 2022.

Four recurrent branches (backward, forward, backward, forward) carry features
through the clip; at every frame a small video Swin transformer fuses the
current frame's features with the previous one or two outputs of the branch,
moved onto the current frame by patch alignment (flows from SpyNet averaged
over 8x8 patches). Module names follow the authors' checkpoints, so their REDS
and Vimeo-90K files load unchanged (see ``from_state_dict``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vsr_cli.errors import CheckpointError
from vsr_cli.models.casts import cast
from vsr_cli.models.descriptor import PSRT_RECURRENT
from vsr_cli.models.spynet import SpyNet
from vsr_cli.models.swin import (
    ATTENTIONS,
    Attention,
    StepTransformer,
    Triple,
    WindowAttention,
    relative_position_index,
)
from vsr_cli.models.warp import flow_warp, patch_warp

BRANCHES = ("backward_1", "forward_1", "backward_2", "forward_2")
SCALE = PSRT_RECURRENT.scale
MIN_SIZE = PSRT_RECURRENT.min_size
HR_WIDTH = 64  # reconstruction width after upconv2; fixed in every checkpoint
FLOW_PAIRS_PER_CALL = 8  # frame pairs per SpyNet call: fewer launches, bounded memory


@dataclass(frozen=True)
class PSRTConfig:
    """Hyper-parameters of a PSRT-recurrent network; the defaults are the released models'."""

    mid_channels: int = 64
    embed_dim: int = 120
    depths: tuple[int, ...] = (6, 6, 6)
    num_heads: tuple[int, ...] = (6, 6, 6)
    window_size: Triple = (3, 8, 8)
    num_frames: int = 3
    mlp_ratio: float = 2.0

    @classmethod
    def from_state_dict(cls, state_dict: Mapping[str, Tensor]) -> PSRTConfig:
        """Read every hyper-parameter back from tensor shapes; ``state_dict`` is not modified."""
        prefix = "patch_align.backward_1.layers."
        blocks: dict[int, set[int]] = {}
        for key in state_dict:
            m = re.match(re.escape(prefix) + r"(\d+)\.residual_group\.blocks\.(\d+)\.", key)
            if m:
                blocks.setdefault(int(m[1]), set()).add(int(m[2]))
        if not blocks or sorted(blocks) != list(range(len(blocks))):
            raise CheckpointError(
                "no `patch_align.*` transformer layers: not a PSRT-recurrent checkpoint"
            )
        depths = tuple(len(blocks[i]) for i in range(len(blocks)))
        first = f"{prefix}0.residual_group.blocks.0."
        table = _tensor(state_dict, first + "attn.relative_position_bias_table")
        embed_dim = _tensor(state_dict, "conv_first.weight").shape[0]
        return cls(
            mid_channels=_tensor(state_dict, "conv_before_upsample.weight").shape[0],
            embed_dim=embed_dim,
            depths=depths,
            num_heads=tuple(
                _tensor(
                    state_dict,
                    f"{prefix}{i}.residual_group.blocks.0.attn.relative_position_bias_table",
                ).shape[1]
                for i in range(len(depths))
            ),
            window_size=_window_size(
                table.shape[0], state_dict.get(first + "attn.relative_position_index")
            ),
            mlp_ratio=_tensor(state_dict, first + "mlp.fc1.weight").shape[0] / embed_dim,
        )


def _tensor(state_dict: Mapping[str, Tensor], key: str) -> Tensor:
    if key not in state_dict:
        raise CheckpointError(f"no `{key}` tensor: not a PSRT-recurrent checkpoint")
    return state_dict[key]


def _window_size(table_rows: int, index: Tensor | None) -> Triple:
    """The (wt, wh, ww) whose bias table has ``table_rows`` rows and whose index matches.

    Without a stored index, windows are taken as square in space and at most
    3 frames long (the step sees 3 frames), as every published configuration is.
    """
    candidates = []
    for wt, wh in itertools.product(range(1, 33), repeat=2):
        rest = table_rows / ((2 * wt - 1) * (2 * wh - 1))
        ww = (rest + 1) / 2
        if ww == int(ww) and ww >= 1:
            candidates.append((wt, wh, int(ww)))
    if index is not None:
        n = index.shape[0]
        candidates = [
            c
            for c in candidates
            if math.prod(c) == n and torch.equal(relative_position_index(c), index.cpu().long())
        ]
    else:
        candidates = [c for c in candidates if c[1] == c[2] and c[0] <= 3]
    if len(candidates) != 1:
        raise CheckpointError(
            f"cannot tell the attention window from a bias table of {table_rows} rows"
        )
    return candidates[0]


def stack_frames(frames: tuple[Tensor, ...]) -> Tensor:
    """(n, c, h, w) frames -> (n, t, c, h, w), stored channels-last as (n, t, h, w, c).

    That is the layout the step's LayerNorm reads, so the stack is its only copy,
    and the strides never change from step to step (torch.compile recompiles on
    new strides; stacking the step's channels-last outputs as they come gave two).
    """
    return torch.stack([f.permute(0, 2, 3, 1) for f in frames], dim=1).permute(0, 1, 4, 2, 3)


def frame_rows(x: Tensor) -> Tensor:
    """(n, c, h, w) ``x`` in channels-last memory with the strides a new tensor gets, copied
    only if it has others. Every input of a compiled step is laid out so: the graph is
    specialised to its inputs' strides (size-1 dimensions' included), and a branch's inputs
    come from ``conv_first`` or from another branch's steps."""
    n, c, h, w = x.shape
    if x.stride() == (h * w * c, 1, w * c, c):
        return x
    return x.clone(memory_format=torch.channels_last)


class RecurrentStep(StepTransformer):
    """``patch_align.<branch>`` as the recurrence runs it: one frame of a branch, from its
    two previous outputs to the new one, the patch alignment included.

    One function of tensors with one signature for every frame, so that compiled in place
    (as the engine compiles the steps) it is one graph with no host work: warps, the
    second-order flow and the transformer fuse, and CUDA graphs can capture all of it.
    """

    def forward(  # type: ignore[override]
        self, cur: Tensor, prev_out: Tensor, prev2_out: Tensor, flow: Tensor, flow_prev: Tensor
    ) -> Tensor:
        """(n, c, h, w) features of the current frame and the branch's outputs one and two
        visits back; ``flow`` (n, 2, h, w) samples the previous frame onto the current one,
        ``flow_prev`` the one before onto the previous one. -> (n, c, h, w) new output."""
        aligned = patch_warp(prev_out, flow)
        # Second-order flow: current -> previous, then on to the one before.
        aligned2 = patch_warp(prev2_out, flow + flow_warp(flow_prev, flow))
        return super().forward(stack_frames((aligned, cur, aligned2)))


class PSRTRecurrent(nn.Module):
    """(n, t, 3, h, w) RGB in [0, 1], h and w >= 64 -> (n, t, 3, 4h, 4w), not clamped."""

    def __init__(
        self,
        mid_channels: int = 64,
        embed_dim: int = 120,
        depths: tuple[int, ...] = (6, 6, 6),
        num_heads: tuple[int, ...] = (6, 6, 6),
        window_size: Triple = (3, 8, 8),
        num_frames: int = 3,
        mlp_ratio: float = 2.0,
    ) -> None:
        super().__init__()
        if num_frames != 3:
            raise ValueError("PSRT-recurrent fuses exactly 3 frames per step (num_frames=3)")
        self.config = PSRTConfig(
            mid_channels,
            embed_dim,
            tuple(depths),
            tuple(num_heads),
            tuple(window_size),
            3,
            mlp_ratio,
        )
        self.conv_first = nn.Conv2d(3, embed_dim, 3, padding=1)
        self.spynet = SpyNet()
        hidden = int(embed_dim * mlp_ratio)
        self.patch_align = nn.ModuleDict(
            {
                name: RecurrentStep(
                    embed_dim,
                    self.config.depths,
                    self.config.num_heads,
                    self.config.window_size,
                    hidden,
                )
                for name in BRANCHES
            }
        )
        self.conv_before_upsample = nn.Conv2d(embed_dim, mid_channels, 3, padding=1)
        self.upconv1 = nn.Conv2d(mid_channels, 4 * mid_channels, 3, padding=1)
        self.upconv2 = nn.Conv2d(mid_channels, 4 * HR_WIDTH, 3, padding=1)
        self.conv_hr = nn.Conv2d(HR_WIDTH, HR_WIDTH, 3, padding=1)
        self.conv_last = nn.Conv2d(HR_WIDTH, 3, 3, padding=1)

    @classmethod
    def from_state_dict(cls, state_dict: Mapping[str, Tensor]) -> PSRTRecurrent:
        """Build the network a state dict describes and load it strictly.

        Buffers that are pure functions of the configuration (the relative
        position indices, SpyNet's mean and std) may be absent; every
        parameter must be there with its shape, and nothing else.
        """
        config = PSRTConfig.from_state_dict(state_dict)
        model = cls(**asdict(config))
        expected = model.state_dict()
        buffers = {name for name, _ in model.named_buffers()}
        missing = [k for k in expected if k not in state_dict and k not in buffers]
        unexpected = [k for k in state_dict if k not in expected]
        wrong = [
            f"{k} {tuple(state_dict[k].shape)} != {tuple(v.shape)}"
            for k, v in expected.items()
            if k in state_dict and state_dict[k].shape != v.shape
        ]
        for what, keys in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", wrong)):
            if keys:
                shown = ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")
                raise CheckpointError(
                    f"{len(keys)} {what} tensor(s) for a PSRT-recurrent of this size: {shown}"
                )
        full = {k: state_dict.get(k, v) for k, v in expected.items()}
        model.load_state_dict(full, strict=True)
        return model

    @property
    def feature_dtype(self) -> torch.dtype:
        """The features' dtype between steps and along each step's residual stream: the
        LayerNorms'. float32 unless ``precision.for_precision(..., half_residual=True)``
        made them half: in fp16 the residual stream is what overflows first."""
        return self.patch_align[BRANCHES[0]].norm.weight.dtype

    def set_attention(self, attention: Attention) -> None:
        """The attention every Swin block calls. ``"sdpa"`` (the default, any device):
        ``scaled_dot_product_attention`` with a dense bias mask, heads padded and shift
        channels added on CUDA so fused kernels take it. ``"flex"``: FlexAttention, the bias
        and shift mask added inside the kernel; it needs the steps compiled to be fast
        (eager, PyTorch runs it unfused), so it is for compiled steps on CUDA."""
        if attention not in ATTENTIONS:
            raise ValueError(f"unknown attention {attention!r}: choose {' or '.join(ATTENTIONS)}")
        for module in self.modules():
            if isinstance(module, WindowAttention):
                module.attention = attention

    def compute_flows(self, lq: Tensor) -> dict[tuple[int, int], Tensor]:
        """Flows between neighbours: ``flows[(i, j)]`` samples frame j onto frame i.

        Frame pairs go through SpyNet in batches (both directions of up to
        ``FLOW_PAIRS_PER_CALL`` pairs at once): a few big kernels instead of many small
        ones, with peak memory still bounded whatever the chunk length.
        """
        n, t = lq.shape[:2]
        flows = {}
        for start in range(0, t - 1, FLOW_PAIRS_PER_CALL):
            stop = min(start + FLOW_PAIRS_PER_CALL, t - 1)
            a = lq[:, start:stop].transpose(0, 1).flatten(0, 1)  # pair-major: (pairs * n, ...)
            b = lq[:, start + 1 : stop + 1].transpose(0, 1).flatten(0, 1)
            to_next, to_prev = self.spynet(torch.cat((a, b)), torch.cat((b, a))).chunk(2)
            for k, i in enumerate(range(start, stop)):
                flows[(i, i + 1)] = to_next[k * n : (k + 1) * n]
                flows[(i + 1, i)] = to_prev[k * n : (k + 1) * n]
        return flows

    def propagate(
        self,
        step: RecurrentStep,
        feats: list[Tensor],
        flows: dict[tuple[int, int], Tensor],
        backward: bool,
    ) -> list[Tensor]:
        """One recurrent branch over all frames; returns its per-frame features in frame order.

        Every frame makes the same call, so that a compiled step is one graph: the first
        frame fuses itself three times (its own features as both previous outputs, moved by
        zero flows: nearest sampling at the pixels themselves returns them exactly), the
        second has zeros two back (which patch alignment keeps zero), as the authors'.
        """
        order = range(len(feats) - 1, -1, -1) if backward else range(len(feats))
        n, _, h, w = feats[0].shape
        still = torch.zeros(n, 2, h, w, dtype=torch.float32, device=feats[0].device)  # a flow
        out: dict[int, Tensor] = {}
        visited: list[int] = []
        for j in order:
            cur = feats[j]
            if not visited:
                # Views (``[:]`` keeps every stride), not the same objects again: compiled
                # code guards on an input passed twice, not on inputs sharing memory.
                inputs = (cur[:], cur[:], still, still[:])
            elif len(visited) == 1:
                prev = visited[-1]
                inputs = (out[prev], torch.zeros_like(cur), flows[(j, prev)], still)
            else:
                prev, prev2 = visited[-1], visited[-2]
                inputs = (out[prev], out[prev2], flows[(j, prev)], flows[(prev, prev2)])
            out[j] = frame_rows(step(cur, *inputs))
            visited.append(j)
        return [out[j] for j in range(len(feats))]

    def reconstruct(self, feat: Tensor, lq_frame: Tensor) -> Tensor:
        """(n, c, h, w) features + (n, 3, h, w) input -> (n, 3, 4h, 4w) output frame."""
        x = self.conv_before_upsample(cast(feat, self.conv_before_upsample.weight.dtype))
        x = F.leaky_relu(F.pixel_shuffle(self.upconv1(x), 2), 0.1)
        x = F.leaky_relu(F.pixel_shuffle(self.upconv2(x), 2), 0.1)
        x = F.leaky_relu(self.conv_hr(x), 0.1)
        x = self.conv_last(x)
        return x + F.interpolate(lq_frame, scale_factor=SCALE, mode="bilinear", align_corners=False)

    def flops_per_frame(self, height: int, width: int) -> float:
        """Multiply-adds x 2 for one output frame at a (height, width) input, counted from the
        configuration: convolutions, linear layers and attention (matrix work only).

        Windows see padded tokens, so attention and qkv count the padded volume.
        """
        cfg = self.config
        c, hidden = cfg.embed_dim, int(cfg.embed_dim * cfg.mlp_ratio)
        wt, wh, ww = cfg.window_size
        n_tok = wt * wh * ww
        pixels = height * width
        padded = (-(-3 // wt) * wt) * (-(-height // wh) * wh) * (-(-width // ww) * ww)
        block = padded * (2 * c * 3 * c + 4 * n_tok * c + 2 * c * c) + 3 * pixels * 4 * c * hidden
        stage_conv = 3 * pixels * 2 * 9 * c * c
        step = sum(d * block + stage_conv for d in cfg.depths) + pixels * 2 * 9 * c * c
        h32, w32 = -(-height // 32) * 32, -(-width // 32) * 32
        spy_per_px = sum(
            2 * 49 * a * b for a, b in ((8, 32), (32, 64), (64, 32), (32, 16), (16, 2))
        )
        spynet = 2 * h32 * w32 * spy_per_px * 4 / 3  # two flows per frame, six pyramid levels
        mid = cfg.mid_channels
        head = pixels * 2 * 9 * (3 * c + c * mid + mid * 4 * mid)
        tail = 4 * pixels * 2 * 9 * mid * 4 * HR_WIDTH + 16 * pixels * 2 * 9 * HR_WIDTH * (
            HR_WIDTH + 3
        )
        return float(len(BRANCHES) * step + spynet + head + tail)

    def forward(self, lq: Tensor) -> Tensor:
        n, t, c, h, w = lq.shape
        if h < MIN_SIZE or w < MIN_SIZE:
            raise ValueError(
                f"PSRT-recurrent needs frames of at least {MIN_SIZE}x{MIN_SIZE}, got {w}x{h}"
            )
        feats = [
            frame_rows(f)
            for f in cast(
                self.conv_first(cast(lq.reshape(n * t, c, h, w), self.conv_first.weight.dtype)),
                self.feature_dtype,
            )
            .view(n, t, -1, h, w)
            .unbind(1)
        ]
        flows = self.compute_flows(lq)
        for step in self.patch_align.values():
            step.prepare(n, h, w, lq.device)
        for name in BRANCHES:
            feats = self.propagate(
                self.patch_align[name], feats, flows, name.startswith("backward")
            )
        return torch.stack([self.reconstruct(f, lq[:, i]) for i, f in enumerate(feats)], dim=1)
