"""Whole chunks as CUDA graphs: the model's forward over one chunk (every frame, every
branch, ~1,500 kernels a frame) captured once per input shape and replayed with one launch.

Chunks are all one shape (``ChunkPlan(uniform=True)``; tiles already are), so one
capture serves a whole video. The first call of a shape runs eagerly (it builds the
plans and lets cuDNN pick its kernels), the second captures, and its first replay is
compared with the eager output of the same chunk: a replay that differs (a capture that
missed a host-side step) never reaches the file. If capturing fails or the replay
differs, one warning and the model runs eagerly from then on.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

Replay = Callable[[Tensor], Tensor]
MIN_REPLAY_PSNR = 50.0  # dB between a first replay and the eager output of the same chunk


class ReplayDiffers(RuntimeError):
    """A captured graph's replay computed something other than the eager model."""


class ChunkGraphs:
    """``model(lq)`` for (n, t, 3, h, w) CUDA inputs, replayed from captured graphs."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self._seen: set[tuple] = set()
        self._replays: dict[tuple, Replay] = {}
        self._failed = False

    def __call__(self, lq: Tensor, warn: Callable[[str], None]) -> Tensor:
        """``warn``: where a failed capture, or a replay that differs, is said (once)."""
        key = (tuple(lq.shape), lq.dtype, lq.device)
        if self._failed or not self.can_capture(lq):
            return self.model(lq)
        if key not in self._replays:
            if key not in self._seen:  # the warm pass: plans, kernel choices
                self._seen.add(key)
                return self.model(lq)
            try:
                replay, expected = self.capture(lq)
                first = replay(lq)
                _check(first, expected)
            except Exception as e:  # noqa: BLE001 - any failure: fall back, say why once
                self._failed = True
                self._replays.clear()
                warn(f"CUDA graphs unavailable ({type(e).__name__}: {e}); running eagerly")
                return self.model(lq)
            self._replays[key] = replay
            return first
        return self._replays[key](lq)

    def can_capture(self, lq: Tensor) -> bool:
        return lq.is_cuda

    def capture(self, lq: Tensor) -> tuple[Replay, Tensor]:
        """A replay of the model over inputs of ``lq``'s shape, and the eager output for
        ``lq`` computed on the way (one more eager pass, off the default stream)."""
        given = lq.clone()
        side = torch.cuda.Stream(lq.device)
        side.wait_stream(torch.cuda.current_stream(lq.device))
        with torch.cuda.stream(side):
            expected = self.model(given)
        torch.cuda.current_stream(lq.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            made = self.model(given)

        def replay(lq: Tensor) -> Tensor:
            given.copy_(lq)
            graph.replay()
            return made.clone()  # the next replay writes the same buffer

        return replay, expected


def _check(replayed: Tensor, expected: Tensor) -> None:
    error = float((replayed.float() - expected.float()).pow(2).mean())
    psnr = math.inf if error == 0 else 10 * math.log10(1 / error)
    if not psnr >= MIN_REPLAY_PSNR:  # NaN too
        raise ReplayDiffers(f"its first replay differs from the eager output ({psnr:.1f} dB)")
