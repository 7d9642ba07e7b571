"""PSNR, SSIM and temporal change, computed the way VSR papers compute them.

Conventions (those of BasicSR, the authors' framework): 8-bit RGB frames, the
model's output rounded to 8 bits first; "Y" is MATLAB's ``rgb2ycbcr`` luma
(BT.601, studio range, unrounded); ``crop`` pixels dropped at every border;
one value per frame, averaged over a clip, then over clips. SSIM is Wang et
al.'s with an 11x11 Gaussian window (sigma 1.5) on [0, 255], only where the
window lies inside the image, averaged over channels: scikit-image's
``structural_similarity`` with ``gaussian_weights=True``, ``sigma=1.5`` and
``use_sample_covariance=False`` is exactly that (checked against the formula
in tests/test_eval.py).
"""

from __future__ import annotations

import math

import numpy as np

from vsr_cli.errors import InputError, MissingExtraError

PEAK = 255.0
SSIM_WINDOW = 11  # 2 * round(3.5 sigma) + 1 with sigma 1.5, as scikit-image truncates it


def luma(rgb: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB -> (h, w) float64 Y in [16, 235] (MATLAB's rgb2ycbcr, unrounded)."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    return 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0


def crop(image: np.ndarray, border: int) -> np.ndarray:
    return image[border:-border, border:-border] if border > 0 else image


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """In dB, on [0, 255]; infinite for identical images."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(PEAK**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """(h, w) or (h, w, c) on [0, 255]; channels averaged. Images need 11 px a side."""
    try:
        from skimage.metrics import structural_similarity
    except ImportError:
        raise MissingExtraError("SSIM needs scikit-image: pip install 'vsr-cli[eval]'") from None
    if min(a.shape[:2]) < SSIM_WINDOW:
        raise InputError(
            f"frames of {a.shape[1]}x{a.shape[0]} (after border crop) are smaller than "
            f"SSIM's {SSIM_WINDOW}x{SSIM_WINDOW} window"
        )
    return float(
        structural_similarity(
            a.astype(np.float64),
            b.astype(np.float64),
            data_range=PEAK,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            channel_axis=-1 if a.ndim == 3 else None,
        )
    )


def frame_scores(output: np.ndarray, truth: np.ndarray, border: int) -> dict[str, float]:
    """PSNR and SSIM on RGB and on Y of one 8-bit frame against its ground truth."""
    out, gt = crop(output, border), crop(truth, border)
    out_y, gt_y = luma(out), luma(gt)
    return {
        "psnr_rgb": psnr(out, gt),
        "ssim_rgb": ssim(out, gt),
        "psnr_y": psnr(out_y, gt_y),
        "ssim_y": ssim(out_y, gt_y),
    }


def frame_change(previous: np.ndarray, current: np.ndarray) -> float:
    """Mean absolute change from one frame to the next, in 8-bit levels."""
    return float(np.mean(np.abs(current.astype(np.float64) - previous.astype(np.float64))))


def temporal_error(
    previous: np.ndarray, current: np.ndarray, truth_previous: np.ndarray, truth: np.ndarray
) -> float:
    """Mean absolute difference between a video's frame-to-frame change and the ground
    truth's, in 8-bit levels: 0 when it changes exactly as the truth does; flicker (a
    change the truth lacks) and frozen detail (a change it misses) both raise it."""
    change = current.astype(np.float64) - previous.astype(np.float64)
    truth_change = truth.astype(np.float64) - truth_previous.astype(np.float64)
    return float(np.mean(np.abs(change - truth_change)))
