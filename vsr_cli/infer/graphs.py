"""Whole chunks as CUDA graphs: the model's forward over one chunk (every frame, every
branch, ~1,500 kernels a frame) captured once per input shape and replayed with one launch.

Chunks are all one shape (``ChunkPlan(uniform=True)``; tiles already are), so one
capture serves a whole video. The first call of a shape runs eagerly (it builds the
plans and lets cuDNN pick its kernels), the second captures, every later one replays
into the same buffers and copies the output out. If capturing fails, one warning and the
model runs eagerly from then on.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


class ChunkGraphs:
    """``model(lq)`` for (n, t, 3, h, w) CUDA inputs, replayed from captured graphs."""

    def __init__(self, model: nn.Module, warn: Callable[[str], None]) -> None:
        self.model = model
        self._warn = warn
        self._seen: set[tuple] = set()
        self._graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, Tensor, Tensor]] = {}
        self._failed = False

    def __call__(self, lq: Tensor) -> Tensor:
        key = (tuple(lq.shape), lq.dtype, lq.device)
        if self._failed or not lq.is_cuda:
            return self.model(lq)
        if key not in self._graphs:
            if key not in self._seen:  # the warm pass: plans, kernel choices
                self._seen.add(key)
                return self.model(lq)
            try:
                self._graphs[key] = self._capture(lq)
            except Exception as e:  # noqa: BLE001 - any failure: fall back, say why once
                self._failed = True
                self._graphs.clear()
                self._warn(f"CUDA graphs unavailable ({type(e).__name__}: {e}); running eagerly")
                return self.model(lq)
        graph, given, made = self._graphs[key]
        given.copy_(lq)
        graph.replay()
        return made.clone()  # the next replay writes the same buffer

    def _capture(self, lq: Tensor) -> tuple[torch.cuda.CUDAGraph, Tensor, Tensor]:
        given = lq.clone()
        side = torch.cuda.Stream(lq.device)
        side.wait_stream(torch.cuda.current_stream(lq.device))
        with torch.cuda.stream(side):  # one more eager pass, off the default stream
            self.model(given)
        torch.cuda.current_stream(lq.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            made = self.model(given)
        return graph, given, made
