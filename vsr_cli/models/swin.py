"""Video Swin attention as PSRT's per-step transformer uses it.

Tokens live channels-last, ``(n, t, h, w, c)``, so LayerNorm and the linear
layers need no permutes; qkv and the output projection act per token, so they
run on the frame layout and windows are only strided views of it (no partition
and un-partition copies); the 3x3 convolutions between stages read the same
memory as a channels-last image batch.

Attention goes through ``scaled_dot_product_attention`` with one additive mask
per window class that folds the relative-position bias and the shift mask
together. With a shift, only the last window along an axis straddles the
wrap-around, so windows fall into at most 2**3 classes (interior or last, per
axis) and the masks stay small whatever the frame size: a per-window mask at
1080p would take gigabytes.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Triple = tuple[int, int, int]

SHIFT_MASK_VALUE = -100.0  # the authors' value; -inf would change the function


def relative_position_index(window: Triple) -> Tensor:
    """(N, N) int64 row of the bias table for each token pair of a window (N = wt*wh*ww)."""
    coords = torch.stack(torch.meshgrid(*(torch.arange(s) for s in window), indexing="ij")).flatten(
        1
    )  # (3, N), time-major token order
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # (N, N, 3)
    rel = rel + torch.tensor([s - 1 for s in window])
    sizes = [2 * s - 1 for s in window]
    return rel[..., 0] * sizes[1] * sizes[2] + rel[..., 1] * sizes[2] + rel[..., 2]


def _shift_labels(window: Triple, shift: Triple, last: tuple[bool, ...]) -> Tensor:
    """Region label of each token of a window; tokens of different regions must not attend.

    Only a window that is last along a shifted axis holds tokens from both
    sides of the wrap-around: the first ``win - shift`` positions and the rest.
    """
    labels = torch.zeros(window, dtype=torch.long)
    for axis, (win, s, is_last) in enumerate(zip(window, shift, last)):
        if is_last and 0 < s < win:
            side = (torch.arange(win) >= win - s).long()
            shape = [1, 1, 1]
            shape[axis] = win
            labels = labels * 2 + side.view(shape)
    return labels.flatten()


def padded_head_dim(head_dim: int, multiple: int) -> int:
    return -(-head_dim // multiple) * multiple


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class WindowAttention(nn.Module):
    """Multi-head self-attention inside (wt, wh, ww) windows with a relative position bias.

    CUDA's fused attention kernels need head dims that are multiples of 8 (the released
    model has 20), so on CUDA q, k and v come out of the qkv projection already padded
    with zero channels, and the output projection ignores them: zero columns leave q.k
    and the kept part of the output unchanged, and no activation is ever padded or cut.
    """

    def __init__(self, dim: int, window: Triple, num_heads: int) -> None:
        super().__init__()
        self.window = window
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.head_multiple: int | None = None  # None: 8 on CUDA, 1 elsewhere
        table_rows = math.prod(2 * s - 1 for s in window)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(table_rows, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self._masks: dict[tuple, Tensor] = {}
        self._padded: dict[tuple, tuple[Tensor, Tensor, Tensor]] = {}
        self.register_load_state_dict_post_hook(lambda module, _: module._clear_caches())

    def _clear_caches(self) -> None:
        self._masks.clear()
        self._padded.clear()

    def _weights(self, padded: int) -> tuple[Tensor, Tensor, Tensor]:
        """qkv weight and bias with each head's channels zero-padded to ``padded``, and the
        output projection's weight with matching zero columns (cached per device)."""
        if padded == self.head_dim:
            return self.qkv.weight, self.qkv.bias, self.proj.weight
        key = (padded, self.qkv.weight.device, self.qkv.weight.dtype)
        if key not in self._padded or self.training:
            heads, hd, c = self.num_heads, self.head_dim, self.proj.weight.shape[0]
            extra = padded - hd
            w = F.pad(self.qkv.weight.detach().view(3, heads, hd, c), (0, 0, 0, extra))
            b = F.pad(self.qkv.bias.detach().view(3, heads, hd), (0, extra))
            proj = F.pad(self.proj.weight.detach().view(c, heads, hd), (0, extra))
            self._padded[key] = (w.reshape(-1, c), b.reshape(-1), proj.reshape(c, -1))
        return self._padded[key]

    def _mask(self, classes: tuple[bool, ...], shift: Triple, like: Tensor) -> Tensor:
        """(1, heads, N, N) bias + shift mask for windows of one class, cached per dtype/device."""
        key = (classes, shift, like.dtype, like.device)
        mask = self._masks.get(key)
        if mask is None:
            n = self.relative_position_index.shape[0]
            bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
            bias = bias.view(n, n, -1).permute(2, 0, 1).float()  # (heads, N, N)
            labels = _shift_labels(self.window, shift, classes).to(bias.device)
            apart = labels[:, None] != labels[None, :]
            # Contiguous: CUDA's fused kernels need the mask's last dimension at stride 1,
            # and the permuted table has stride ``heads`` (math fallback, ~6x slower).
            mask = (bias + apart * SHIFT_MASK_VALUE).unsqueeze(0).to(like.dtype)
            mask = mask.contiguous().detach()
            if not self.training:
                self._masks[key] = mask
        return mask

    def forward(self, x: Tensor, shift: Triple) -> Tensor:
        """(b, D, H, W, c), each side a multiple of the window, already rolled -> same shape.

        The linear layers act per token, so they run on the frame layout; windows are
        strided views of it, and each class's q, k, v and result are copied once.
        """
        b, depth, height, width, c = x.shape
        (wt, wh, ww), heads = self.window, self.num_heads
        hd = padded_head_dim(self.head_dim, self.head_multiple or (8 if x.is_cuda else 1))
        grid = (depth // wt, height // wh, width // ww)
        n_tok = wt * wh * ww
        qkv_weight, qkv_bias, proj_weight = self._weights(hd)

        def windowed(t: Tensor, parts: int) -> Tensor:
            """(b, D, H, W, parts*c) -> (parts, b, gt, gh, gw, heads, wt, wh, ww, hd), a view."""
            t = t.view(b, grid[0], wt, grid[1], wh, grid[2], ww, parts, heads, hd)
            return t.permute(7, 0, 1, 3, 5, 8, 2, 4, 6, 9)

        q, k, v = windowed(F.linear(x, qkv_weight, qkv_bias), 3).unbind(0)
        out = q.new_empty(b, depth, height, width, heads * hd)
        out_windows = windowed(out, 1)[0]

        # Split the window grid by class: along a shifted axis, the last window is apart.
        splits = []
        for n_win, win, s in zip(grid, self.window, shift):
            if 0 < s < win and n_win > 1:
                splits.append(((slice(0, n_win - 1), False), (slice(n_win - 1, n_win), True)))
            else:
                splits.append(((slice(0, n_win), 0 < s < win),))
        for parts in itertools.product(*splits):
            index = (slice(None), *(p[0] for p in parts))
            classes = tuple(p[1] for p in parts)
            qs, ks, vs = (t[index].reshape(-1, heads, n_tok, hd) for t in (q, k, v))
            mask = self._mask(classes, shift, qs)
            res = F.scaled_dot_product_attention(
                qs, ks, vs, attn_mask=mask, scale=self.head_dim**-0.5
            )
            out_windows[index] = res.view(out_windows[index].shape)
        return F.linear(out, proj_weight, self.proj.bias)


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

    def forward(self, x: Tensor) -> Tensor:
        _, t, h, w, _ = x.shape
        y = self.norm1(x)
        # Pad after the norm: padded tokens are zero keys, left unmasked as the authors do.
        pt, ph, pw = ((-size) % win for size, win in zip((t, h, w), self.window))
        if pt or ph or pw:  # F.pad copies even when it adds nothing
            y = F.pad(y, (0, 0, 0, pw, 0, ph, 0, pt))
        # Roll only along axes where the shift moves something (a shift of 3 over 3 frames
        # does not); torch.roll copies once per axis.
        moved = [(s, d) for s, d in zip(self.shift, (1, 2, 3)) if s % y.shape[d]]
        if moved:
            shifts, dims = zip(*moved)
            y = torch.roll(y, shifts=tuple(-s for s in shifts), dims=dims)
        y = self.attn(y, self.shift)
        if moved:
            y = torch.roll(y, shifts=shifts, dims=dims)
        x = x + y[:, :t, :h, :w]
        return x + self.mlp(self.norm2(x))


class BlockStack(nn.Module):
    """``layers.L.residual_group``: the Swin blocks of one stage."""

    def __init__(self, blocks: list[SwinBlock]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return x


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

    def forward(self, x: Tensor) -> Tensor:
        n, t, h, w, c = x.shape
        y = self.residual_group(x).reshape(n * t, h, w, c).permute(0, 3, 1, 2)
        y = self.conv(y).permute(0, 2, 3, 1).reshape(n, t, h, w, c)
        return x + y


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

    def forward(self, cond: Tensor) -> Tensor:
        """(n, 3, c, h, w) -> (n, c, h, w), the new feature of the middle frame."""
        n, t, c, h, w = cond.shape
        if self._input_conv is not None:
            conv = getattr(self, self._input_conv)
            cond = conv(cond.reshape(n * t, c, h, w)).view(n, t, -1, h, w)
        center = cond[:, t // 2]
        x = self.patch_embed["norm"](cond.permute(0, 1, 3, 4, 2))  # (n, t, h, w, c)
        for stage in self.layers:
            x = stage(x)
        x = self.norm(x)[:, t // 2].permute(0, 3, 1, 2)
        return self.conv_after_body(x) + center
