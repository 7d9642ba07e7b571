"""Video Swin attention as PSRT's per-step transformer uses it.

Between the 3x3 convolutions of its stages, the step's tokens live as a
``(rows, c)`` matrix in window order (``windows.py``): LayerNorm, the linear
layers and the MLP act per token and do not care about the order, and each
block's windows (plain or shifted) are one gather away from the previous
block's. Attention is one call per block on strided views of the qkv projection:
by default ``scaled_dot_product_attention`` with the relative-position bias as
its mask and the shift mask in extra q/k channels of the edge windows; or
FlexAttention (``WindowAttention.attention = "flex"``, for compiled steps on
CUDA), which adds both to the scores from the bias table and region labels, with
no dense mask, padded heads or extra channels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.attention.flex_attention import flex_attention

from vsr_cli.models.casts import cast
from vsr_cli.models.windows import (
    Grid,
    WindowLayout,
    gather_for,
    layout_for,
    shift_regions,
    sign_channels,
)

Triple = tuple[int, int, int]
Attention = Literal["sdpa", "flex"]
ATTENTIONS: tuple[str, ...] = ("sdpa", "flex")
ScoreMod = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tensor]  # (score, b, h, q, k)

SHIFT_MASK_VALUE = -100.0  # the authors' value; -inf would change the function
PLANS_KEPT = 8  # grids (tile shape x tiles per pass) a block stack keeps its plans for


def relative_position_index(window: Triple) -> Tensor:
    """(N, N) int64 row of the bias table for each token pair of a window (N = wt*wh*ww)."""
    coords = torch.stack(torch.meshgrid(*(torch.arange(s) for s in window), indexing="ij")).flatten(
        1
    )  # (3, N), time-major token order
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # (N, N, 3)
    rel = rel + torch.tensor([s - 1 for s in window])
    sizes = [2 * s - 1 for s in window]
    return rel[..., 0] * sizes[1] * sizes[2] + rel[..., 1] * sizes[2] + rel[..., 2]


def padded_head_dim(head_dim: int, multiple: int) -> int:
    return -(-head_dim // multiple) * multiple


@dataclass(frozen=True, eq=False)
class AttentionPlan:
    """The tensors one attention layer uses on one window layout, in its weights' dtype."""

    head_width: int  # channels per head: the head dim, padded (CUDA) and with shift channels
    qkv_weight: Tensor
    qkv_bias: Tensor
    proj_weight: Tensor
    bias: Tensor  # (1, heads, N, N) relative-position bias, the attention mask
    signs: Tensor | None  # the edge windows' shift-mask channels (windows.sign_channels)


@dataclass(frozen=True, eq=False)
class FlexPlan:
    """What the FlexAttention path reads on one window layout: the weights as they are (no
    padded heads), and for its ``score_mod`` the bias table, its index and the shift
    regions, instead of a dense (heads, N, N) mask and shift channels."""

    head_width: int  # the head dim itself
    qkv_weight: Tensor
    qkv_bias: Tensor
    proj_weight: Tensor
    table: Tensor  # (table rows, heads) relative-position bias table
    index: Tensor  # (N, N) the table row of each token pair
    regions: Tensor | None  # (windows, N) windows.shift_regions; None: no shift mask


def relative_bias(table: Tensor, index: Tensor, regions: Tensor | None) -> ScoreMod:
    """FlexAttention ``score_mod``: the scaled logit plus the relative-position bias, plus
    the authors' -100 between tokens of different shift regions (once, however many axes
    they are apart along). Padding tokens are plain keys here, as the authors have them."""
    if regions is None:

        def score_mod(score: Tensor, b: Tensor, h: Tensor, q: Tensor, k: Tensor) -> Tensor:
            return score + table[index[q, k], h]

        return score_mod

    def masked_score_mod(score: Tensor, b: Tensor, h: Tensor, q: Tensor, k: Tensor) -> Tensor:
        score = score + table[index[q, k], h]
        return torch.where(regions[b, q] == regions[b, k], score, score + SHIFT_MASK_VALUE)

    return masked_score_mod


@dataclass(frozen=True, eq=False)
class StackPlan:
    """A block stack on one grid: per block, the gather into its window order (None: the
    previous block's), its layout and attention plan; then the gather back to frame order."""

    blocks: tuple[tuple[Tensor | None, WindowLayout, AttentionPlan | FlexPlan], ...]
    back: Tensor


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(cast(x, self.fc1.weight.dtype))))


class WindowAttention(nn.Module):
    """Multi-head self-attention inside (wt, wh, ww) windows with a relative position bias.

    CUDA's fused attention kernels need head dims that are multiples of 8 (the released
    model has 20), so on CUDA q, k and v come out of the qkv projection already padded
    with zero channels, and the output projection ignores them: zero columns leave q.k
    and the kept part of the output unchanged, and no activation is ever padded or cut.
    Shifted blocks use two of those channels per split axis for the shift mask.
    ``attention = "flex"`` takes FlexAttention instead, which needs none of that.
    """

    def __init__(self, dim: int, window: Triple, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.head_multiple: int | None = None  # None: 8 on CUDA, 1 elsewhere
        self.attention: Attention = "sdpa"
        table_rows = math.prod(2 * s - 1 for s in window)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(table_rows, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self._biases: dict[tuple, Tensor] = {}
        self._padded: dict[tuple, tuple[Tensor, Tensor, Tensor]] = {}
        self.register_load_state_dict_post_hook(lambda module, _: module.clear_caches())

    def clear_caches(self) -> None:
        self._biases.clear()
        self._padded.clear()

    def _weights(self, padded: int) -> tuple[Tensor, Tensor, Tensor]:
        """qkv weight and bias with each head's channels zero-padded to ``padded``, and the
        output projection's weight with matching zero columns."""
        if padded == self.head_dim:
            return self.qkv.weight, self.qkv.bias, self.proj.weight
        key = (padded, self.qkv.weight.device, self.qkv.weight.dtype)
        if key not in self._padded:
            heads, hd, c = self.num_heads, self.head_dim, self.proj.weight.shape[0]
            extra = padded - hd
            w = F.pad(self.qkv.weight.detach().view(3, heads, hd, c), (0, 0, 0, extra))
            b = F.pad(self.qkv.bias.detach().view(3, heads, hd), (0, extra))
            proj = F.pad(self.proj.weight.detach().view(c, heads, hd), (0, extra))
            self._padded[key] = (w.reshape(-1, c), b.reshape(-1), proj.reshape(c, -1))
        return self._padded[key]

    def _bias(self, dtype: torch.dtype) -> Tensor:
        """(1, heads, N, N) relative-position bias: the attention mask."""
        key = (dtype, self.relative_position_bias_table.device)
        if key not in self._biases:
            n = self.relative_position_index.shape[0]
            bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
            # Contiguous: CUDA's fused kernels need the mask's last dimension at stride 1,
            # and the permuted table has stride ``heads`` (math fallback, ~6x slower).
            bias = bias.view(n, n, -1).permute(2, 0, 1).unsqueeze(0).to(dtype)
            self._biases[key] = bias.contiguous().detach()
        return self._biases[key]

    def plan(self, layout: WindowLayout) -> AttentionPlan | FlexPlan:
        """The tensors ``forward`` uses on ``layout``, in the weights' dtype."""
        if self.attention == "flex":
            return FlexPlan(
                self.head_dim,
                self.qkv.weight,
                self.qkv.bias,
                self.proj.weight,
                self.relative_position_bias_table.detach(),
                self.relative_position_index,
                shift_regions(layout),
            )
        dtype, device = self.qkv.weight.dtype, self.qkv.weight.device
        multiple = self.head_multiple or (8 if device.type == "cuda" else 1)
        # Edge windows of a shifted layout carry the shift mask in 2 extra q/k channels
        # per split axis (windows.py); on CUDA they fit in the padding to 24.
        width = padded_head_dim(self.head_dim + 2 * layout.split_axes, multiple)
        signs = None
        if layout.sides is not None:
            penalty = SHIFT_MASK_VALUE * self.head_dim**0.5  # after the logits' scaling
            signs = sign_channels(layout, self.head_dim, width, penalty, dtype)
        return AttentionPlan(width, *self._weights(width), self._bias(dtype), signs)

    def forward(self, x: Tensor, layout: WindowLayout, plan: AttentionPlan | FlexPlan) -> Tensor:
        """(rows, c) tokens in ``layout``'s window order -> (rows, c)."""
        heads, hd, tokens = self.num_heads, plan.head_width, layout.window_tokens
        # The only cast of the block's attention half (none if LayerNorm ran in the
        # weights' dtype: a half residual stream).
        qkv = F.linear(cast(x, plan.qkv_weight.dtype), plan.qkv_weight, plan.qkv_bias)
        if isinstance(plan, AttentionPlan) and plan.signs is not None:
            edges = qkv[layout.first_edge * tokens :].view(-1, tokens, 3, heads, hd)
            edges += plan.signs
        # q, k, v as (windows, heads, N, hd) views: the (windows, N, 3, heads, hd) view of
        # qkv, permuted, in one operation instead of a view and a permute.
        row = 3 * heads * hd
        q, k, v = qkv.as_strided(
            (3, x.shape[0] // tokens, heads, tokens, hd), (heads * hd, tokens * row, hd, row, 1)
        ).unbind(0)
        if isinstance(plan, FlexPlan):
            score_mod = relative_bias(plan.table, plan.index, plan.regions)
            out = flex_attention(q, k, v, score_mod=score_mod, scale=self.head_dim**-0.5)
        else:
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=plan.bias, scale=self.head_dim**-0.5
            )
        width = heads * hd
        if out.stride() == (tokens * width, hd, width, 1):
            # The fused kernels write (windows, N, heads, hd) memory: already the (rows,
            # heads * hd) matrix the projection takes, one view away.
            out = out.as_strided((x.shape[0], width), (width, 1))
        else:
            out = out.transpose(1, 2).reshape(x.shape[0], width)
        return F.linear(out, plan.proj_weight, self.proj.bias)


class SwinBlock(nn.Module):
    """Pre-norm window attention and MLP, each with a residual; odd blocks shift the windows."""

    def __init__(self, dim: int, num_heads: int, window: Triple, shift: Triple, mlp_hidden: int):
        super().__init__()
        self.window = window
        self.shift = shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_hidden)

    def forward(self, x: Tensor, layout: WindowLayout, plan: AttentionPlan | FlexPlan) -> Tensor:
        """(rows, c) tokens in the window order of this block's shift -> (rows, c)."""
        y = self.norm1(x)
        if layout.valid is not None:
            # Padding tokens enter attention as zeros after the norm, unmasked, as the
            # authors pad; their own outputs are never read. In place: y keeps the norm's
            # dtype (half with a half residual stream; the float32 mask would promote it).
            y.mul_(layout.valid)
        x = x + self.attn(y, layout, plan)
        return x + self.mlp(self.norm2(x))


class BlockStack(nn.Module):
    """``layers.L.residual_group``: the Swin blocks of one stage.

    Tokens go into window order once, move from one block's windows to the
    next's by one gather each, and come back to frame order once.
    """

    def __init__(self, blocks: list[SwinBlock]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self._plans: dict[tuple, StackPlan] = {}
        self.register_load_state_dict_post_hook(lambda module, _: module.clear_caches())

    def clear_caches(self) -> None:
        self._plans.clear()

    def plan(self, grid: Grid, device: torch.device) -> StackPlan:
        """What ``forward`` needs on ``grid``, built on first use: ``StepTransformer.prepare``
        builds it before a compiled step runs, which then only reads it."""
        attention = self.blocks[0].attn
        key = (
            grid,
            device,
            attention.qkv.weight.dtype,
            attention.attention,
            attention.head_multiple,
        )
        if key not in self._plans:
            if len(self._plans) >= PLANS_KEPT:  # a batch of videos of many sizes
                self._plans.clear()
            size: Triple = grid[1:]  # type: ignore[assignment]
            steps = []
            layout: WindowLayout | None = None
            for block in self.blocks:
                new = layout_for(grid, block.window, block.shift, device)
                gather = None if new is layout else gather_for(layout, new, size)
                steps.append((gather, new, block.attn.plan(new)))
                layout = new
            self._plans[key] = StackPlan(tuple(steps), gather_for(layout, None, size))
        return self._plans[key]

    def forward(self, rows: Tensor, grid: Grid) -> Tensor:
        """(n*t*h*w, c) tokens of an (n, t, h, w) grid in frame order -> the same."""
        plan = self.plan(grid, rows.device)
        for block, (gather, layout, attention) in zip(self.blocks, plan.blocks):
            if gather is not None:
                rows = rows.index_select(0, gather)
            rows = block(rows, layout, attention)
        return rows.index_select(0, plan.back)


class SwinStage(nn.Module):
    """Swin blocks, a per-frame 3x3 convolution, and a residual around both."""

    def __init__(self, dim: int, depth: int, num_heads: int, window: Triple, mlp_hidden: int):
        super().__init__()
        shift = (window[0], window[1] // 2, window[2] // 2)
        self.residual_group = BlockStack(
            [
                SwinBlock(dim, num_heads, window, (0, 0, 0) if i % 2 == 0 else shift, mlp_hidden)
                for i in range(depth)
            ]
        )
        self.conv = nn.Conv2d(dim, dim, 3, padding=1)

    def forward(self, rows: Tensor, grid: Grid) -> Tensor:
        """(n*t*h*w, c) tokens of an (n, t, h, w) grid in frame order -> the same."""
        n, t, h, w = grid
        c = rows.shape[1]
        y = self.residual_group(rows, grid)
        # Those rows are (n*t, h, w, c) memory: the convolution's channels-last input as is.
        y = cast(y.as_strided((n * t, c, h, w), (h * w * c, 1, w * c, c)), self.conv.weight.dtype)
        y = self.conv(y)
        if y.is_contiguous(memory_format=torch.channels_last):  # as convolutions answer it
            y = y.as_strided(rows.shape, (c, 1))
        else:
            y = y.permute(0, 2, 3, 1).reshape(rows.shape)
        return rows + y


class StepTransformer(nn.Module):
    """``patch_align.<branch>``: fuses (aligned previous, current, aligned previous-but-one).

    ``conv_first``, ``conv_first_feat`` and ``conv_before_upsample`` are in every
    checkpoint; the authors' step applies ``conv_first_feat`` only when the
    features have exactly 64 channels (and ``conv_first`` only for 3), which we
    reproduce so that any checkpoint of the family computes the same function.
    """

    def __init__(
        self,
        embed_dim: int,
        depths: tuple[int, ...],
        num_heads: tuple[int, ...],
        window: Triple,
        mlp_hidden: int,
    ) -> None:
        super().__init__()
        self.patch_embed = nn.ModuleDict({"norm": nn.LayerNorm(embed_dim)})
        self.layers = nn.ModuleList(
            SwinStage(embed_dim, d, h, window, mlp_hidden) for d, h in zip(depths, num_heads)
        )
        self.norm = nn.LayerNorm(embed_dim)
        self.conv_after_body = nn.Conv2d(embed_dim, embed_dim, 3, padding=1)
        self.conv_first = nn.Conv2d(3, embed_dim, 3, padding=1)
        self.conv_first_feat = nn.Conv2d(64, embed_dim, 3, padding=1)
        self.conv_before_upsample = nn.Conv2d(embed_dim, 64, 3, padding=1)
        self._input_conv = {3: "conv_first", 64: "conv_first_feat"}.get(embed_dim)

    def prepare(self, n: int, height: int, width: int, device: torch.device) -> None:
        """Builds the block stacks' plans (window layouts, gathers, attention weights,
        masks) for steps on (n, 3, c, height, width) features.

        Run eagerly before a compiled step: traced, building them would split the
        compiled graph (and rebuild them at every call).
        """
        for stage in self.layers:
            stage.residual_group.plan((n, 3, height, width), device)

    def forward(self, cond: Tensor) -> Tensor:
        """(n, 3, c, h, w) -> (n, c, h, w), the new feature of the middle frame."""
        n, t, c, h, w = cond.shape
        if self._input_conv is not None:
            conv = getattr(self, self._input_conv)
            cond = conv(cast(cond.reshape(n * t, c, h, w), conv.weight.dtype))
            cond = cast(cond, self.norm.weight.dtype).view(n, t, -1, h, w)
        center = cond[:, t // 2]
        c = center.shape[1]
        x = self.patch_embed["norm"](cond.permute(0, 1, 3, 4, 2)).view(-1, c)  # frame order
        for stage in self.layers:
            x = stage(x, (n, t, h, w))
        # Only the middle frame goes on (the final norm acts per token), channels-last;
        # x is a new tensor (storage offset 0), whose offset compiled code cannot read.
        frame = h * w * c
        middle = x.as_strided((n, h, w, c), (t * frame, w * c, c, 1), (t // 2) * frame)
        x = self.norm(middle).permute(0, 3, 1, 2)
        # ``center`` first: where operands' layouts differ a sum follows the first one's, so
        # the output is channels-last (the next steps' input layout) whatever layout the
        # convolution chose (meta tensors, for one, answer in NCHW).
        return center + self.conv_after_body(cast(x, self.conv_after_body.weight.dtype))
