"""Pixels between the host and the engine: decoded frames in, finished frames out.

8-bit frames travel to the device as bytes (a quarter of the bytes of float32) and
become [0, 1] floats there; finished frames become integers on the device and are
copied into pinned host memory behind the model's work.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def input_pixels(rgb: np.ndarray) -> Tensor:
    """(h, w, 3) as decoded -> (3, h, w), the engine's input: 8-bit frames stay uint8
    (the engine converts them on the device, from a quarter of the bytes), deeper ones
    become float32 in [0, 1]."""
    if rgb.dtype == np.uint8:
        return torch.from_numpy(rgb).permute(2, 0, 1)
    return torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1) / np.iinfo(rgb.dtype).max


def unit_range(pixels: Tensor) -> Tensor:
    """uint8 frames -> float32 in [0, 1]; float frames are already there."""
    if pixels.dtype != torch.uint8:
        return pixels
    return pixels.float() / _byte_peak(pixels.device)


@functools.lru_cache(maxsize=16)
def _byte_peak(device: torch.device) -> Tensor:
    """255 as a tensor on ``device``: CUDA divides by a Python number as a multiply by its
    rounded reciprocal (1 ulp off for half the byte values), by a tensor exactly, as the
    host does."""
    return torch.tensor(255.0, device=device)


def output_pixels(frame: Tensor, peak: int, size: tuple[int, int]) -> np.ndarray:
    """(3, H, W) float -> (height, width, 3) uint8/uint16 on the host, cropped to the
    encoder's ``size`` (width, height)."""
    return HostFrame(frame, peak, size).array()


class HostFrame:
    """An output frame on its way to host memory, as the encoder will take it.

    On CUDA the conversion to integers runs on the device and the copy into pinned
    memory is queued behind the model's work: the model's thread goes on to the next
    chunk at once, and only the encoder's thread waits, for this frame alone.
    """

    def __init__(self, frame: Tensor, peak: int, size: tuple[int, int]) -> None:
        values = (frame[:, : size[1], : size[0]].clamp(0, 1) * peak).round().permute(1, 2, 0)
        self.peak = peak
        values = values.to(torch.uint8 if peak == 255 else torch.int32)
        self._copied: torch.cuda.Event | None = None
        if values.is_cuda:
            self._host = torch.empty(values.shape, dtype=values.dtype, pin_memory=True)
            self._host.copy_(values, non_blocking=True)  # on values' device's current stream
            self._copied = torch.cuda.Event(blocking=True)  # a waiting encoder sleeps
            self._copied.record(torch.cuda.current_stream(values.device))
        else:
            self._host = values.cpu()

    @staticmethod
    def bytes_per_pixel(peak: int) -> int:
        """What ``array`` holds per output pixel: for sizing queues of finished frames."""
        return 3 * (1 if peak == 255 else 4)

    def array(self) -> np.ndarray:
        if self._copied is not None:
            self._copied.synchronize()
        pixels = self._host.numpy()
        return pixels if self.peak == 255 else pixels.astype(np.uint16)


def upscale_alpha(alpha: np.ndarray, size: tuple[int, int], peak: int) -> np.ndarray:
    """A low-res alpha plane (uint8/uint16) -> (height, width) at ``peak``, bilinear: edges of
    transparency need no model, and a smooth ramp is what compositors expect."""
    plane = torch.from_numpy(alpha.astype(np.float32) / np.iinfo(alpha.dtype).max)
    up = F.interpolate(plane[None, None], size=(size[1], size[0]), mode="bilinear")[0, 0]
    values = (up.clamp(0, 1) * peak).round()
    return values.numpy().astype(np.uint8 if peak == 255 else np.uint16)
