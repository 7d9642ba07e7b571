"""`vsr eval` and what it is built on: MATLAB's bicubic, PSNR, SSIM, temporal error.

Reference values here are computed independently of vsr_cli: MATLAB's printed results,
Wang et al.'s SSIM formula written out, resampling written as explicit loops.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cli import vsr
from PIL import Image

from vsr_cli.quality import metrics
from vsr_cli.quality.resize import imresize

# --- independent references ------------------------------------------------------------


def _keys(x: float) -> float:
    """Keys (1981) cubic convolution with a = -0.5, as MATLAB documents it."""
    x = abs(x)
    if x <= 1:
        return 1.5 * x**3 - 2.5 * x**2 + 1
    if x <= 2:
        return -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2
    return 0.0


def _resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of MATLAB bicubic with mirrored borders, one pixel at a time."""
    scale = n_out / n_in
    stretch = min(scale, 1.0)
    m = np.zeros((n_out, n_in))
    for j in range(n_out):
        centre = (j + 0.5) / scale - 0.5  # 0-based position of output pixel j in the input
        reach = 2 / stretch
        for k in range(math.floor(centre - reach) - 1, math.ceil(centre + reach) + 2):
            w = stretch * _keys(stretch * (centre - k))
            source = k
            while not 0 <= source < n_in:  # mirror: -1 -> 0, -2 -> 1, n -> n-1
                source = -source - 1 if source < 0 else 2 * n_in - source - 1
            m[j, source] += w
        m[j] /= m[j].sum()
    return m


def _matlab_bicubic_uint8(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Rows first, rounded to uint8 between the passes, as MATLAB does for uint8 images."""

    def to_uint8(x: np.ndarray) -> np.ndarray:
        return np.clip(np.floor(x + 0.5), 0, 255)

    rows = _resample_matrix(image.shape[0], height)
    cols = _resample_matrix(image.shape[1], width)
    tmp = to_uint8(np.einsum("ij,jwc->iwc", rows, image.astype(np.float64)))
    return to_uint8(np.einsum("kw,iwc->ikc", cols, tmp)).astype(np.uint8)


def _ssim_formula(a: np.ndarray, b: np.ndarray) -> float:
    """Wang et al. 2004 on one channel: 11x11 Gaussian (sigma 1.5) windows lying inside
    the image, C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2, population statistics."""
    r = np.arange(-5, 6)
    g = np.exp(-(r**2) / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()

    def filt(x: np.ndarray) -> np.ndarray:
        views = np.lib.stride_tricks.sliding_window_view(x, (11, 11))
        return np.einsum("ijkl,kl->ij", views, window)

    a, b = a.astype(np.float64), b.astype(np.float64)
    ma, mb = filt(a), filt(b)
    va, vb, cov = filt(a * a) - ma**2, filt(b * b) - mb**2, filt(a * b) - ma * mb
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return float(s.mean())


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * math.log10(255**2 / mse)


def _y(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    return 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255


def _bilinear_x4(lr: np.ndarray) -> np.ndarray:
    """What the bilinear test checkpoint computes (its conv_last is zero), in 8 bits."""
    x = torch.from_numpy(lr.astype(np.float32) / 255).permute(2, 0, 1)[None]
    up = F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)[0]
    return (up.clamp(0, 1) * 255).round().permute(1, 2, 0).numpy().astype(np.uint8)


# --- MATLAB's imresize -------------------------------------------------------------------


def test_bicubic_matches_matlab_r2013_printed_output():
    """imresize([0 0 1 1 0], [1 10]) as MATLAB R2013 printed it (its imresize clamped
    indices beyond the border to the edge pixel)."""
    out = imresize(np.array([[0, 0, 1, 1, 0.0]]), 1, 10, border="replicate")
    printed = [0, -0.0234, -0.0703, 0.2031, 0.7969, 1.0938, 1.0938, 0.7969, 0.2031, -0.0703]
    np.testing.assert_allclose(out[0], printed, atol=5e-5)


def test_antialiased_shrink_and_bilinear_match_matlab_printed_output():
    """imresize(x, [2 2], 'bilinear') and imresize([1 2; 3 4], [4 4], 'bilinear')."""
    up = imresize(np.array([[1, 2], [3, 4.0]]), 4, 4, kernel="triangle")
    printed_up = [
        [1, 1.25, 1.75, 2],
        [1.5, 1.75, 2.25, 2.5],
        [2.5, 2.75, 3.25, 3.5],
        [3, 3.25, 3.75, 4],
    ]
    np.testing.assert_allclose(up, printed_up, atol=1e-12)
    down = imresize(np.array(printed_up), 2, 2, kernel="triangle")
    np.testing.assert_allclose(down, [[1.5625, 2.1875], [2.8125, 3.4375]], atol=1e-12)


def test_mirrored_border_and_x4_shrink_match_the_written_out_definition():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (24, 36, 3)).astype(np.uint8)
    for height, width in ((6, 9), (96, 144), (7, 13)):
        np.testing.assert_array_equal(
            imresize(image, height, width), _matlab_bicubic_uint8(image, height, width)
        )
    # The last sample of the MATLAB example differs with mirrored borders: 1 comes back in.
    assert imresize(np.array([[0, 0, 1, 1, 0.0]]), 1, 10)[0, -1] == pytest.approx(-0.09375)


# --- metrics -----------------------------------------------------------------------------


@pytest.mark.smoke
def test_ssim_is_wang_et_al_gaussian_window_formula():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (40, 52)).astype(np.float64)
    b = np.clip(a + rng.normal(0, 20, a.shape), 0, 255)
    ramp = np.add.outer(np.arange(40) * 3.0, np.arange(52) * 2.0) % 256
    for x, y in ((a, b), (ramp, a), (ramp, ramp[::-1])):
        assert metrics.ssim(x, y) == pytest.approx(_ssim_formula(x, y), abs=1e-9)
    assert metrics.ssim(a, a) == pytest.approx(1.0)
    colour = np.stack([a, b, ramp], axis=-1)
    noisy = np.clip(colour + 10, 0, 255)
    per_channel = np.mean([_ssim_formula(colour[..., c], noisy[..., c]) for c in range(3)])
    assert metrics.ssim(colour, noisy) == pytest.approx(per_channel, abs=1e-9)


def test_psnr_luma_and_temporal_error_known_values():
    a = np.zeros((4, 4, 3), np.uint8)
    assert metrics.psnr(a, a + 1) == pytest.approx(20 * math.log10(255))  # MSE 1
    assert metrics.psnr(a, a) == math.inf
    white = np.full((1, 1, 3), 255, np.uint8)
    assert metrics.luma(white)[0, 0] == pytest.approx(235.0)
    assert metrics.luma(a)[0, 0] == pytest.approx(16.0)
    still, moved = np.zeros((2, 2)), np.full((2, 2), 10.0)
    # Output flickers by 10 levels where the truth stays still: error 10; frozen output
    # where the truth changes by 10: error 10; changing as the truth does: 0.
    assert metrics.temporal_error(still, moved, still, still) == 10
    assert metrics.temporal_error(still, still, still, moved) == 10
    assert metrics.temporal_error(still, moved, still, moved) == 0


# --- vsr eval ----------------------------------------------------------------------------


def _scene(index: int, clip: int, height: int = 48, width: int = 64) -> np.ndarray:
    """A textured, moving frame (uint8 RGB)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    base = [
        128 + 100 * np.sin((x + 2 * index) / (3 + clip) + c) * np.cos(y / (4 + c)) for c in range(3)
    ]
    return np.clip(np.stack(base, axis=-1), 0, 255).astype(np.uint8)


def _block_mean(image: np.ndarray) -> np.ndarray:
    """A low-res frame made without vsr_cli: means of 4x4 blocks."""
    h, w = image.shape[0] // 4, image.shape[1] // 4
    blocks = image[: h * 4, : w * 4].astype(np.float64).reshape(h, 4, w, 4, 3)
    return blocks.mean(axis=(1, 3)).round().astype(np.uint8)


def _save(image: np.ndarray, path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


def test_eval_scores_each_clip_against_independent_computation(tmp_path, bilinear_checkpoint):
    """REDS-style folders with the dataset's own low-res frames (--lr): the model (here
    exactly bilinear x4) and the bicubic baseline, scored per frame and averaged."""
    truth = {f"{c:03d}": [_scene(t, c) for t in range(9)] for c in (0, 11)}
    for name, frames in truth.items():
        for t, frame in enumerate(frames):
            _save(frame, tmp_path / "GT" / name / f"{t:08d}.png")
            _save(_block_mean(frame), tmp_path / "LR" / name / f"{t:08d}.png")
    on_cpu = ("eval", tmp_path / "GT", "--lr", tmp_path / "LR", "--weights",
              bilinear_checkpoint, "--device", "cpu")  # fmt: skip
    result = vsr(*on_cpu, "--chunk", "2", "--chunk-overlap", "1", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [c["name"] for c in report["clips"]] == ["000", "011"]
    assert [c["frames"] for c in report["clips"]] == [9, 9]  # streamed: chunks of 2 + 1
    for clip in report["clips"]:
        frames = truth[clip["name"]]
        lrs = [_block_mean(f) for f in frames]
        sr = [_bilinear_x4(lr) for lr in lrs]
        bicubic = [_matlab_bicubic_uint8(lr, 48, 64) for lr in lrs]
        # The model's float sums sit on exact .5 ties for a few dozen 8-bit values, which
        # then round the other way than here: +-1 level on < 0.5% of pixels, < 0.005 dB.
        assert clip["sr_psnr_rgb"] == pytest.approx(
            np.mean([_psnr(s, g) for s, g in zip(sr, frames)]), abs=0.005
        )
        assert clip["sr_psnr_y"] == pytest.approx(
            np.mean([_psnr(_y(s), _y(g)) for s, g in zip(sr, frames)]), abs=0.005
        )
        assert clip["bicubic_psnr_rgb"] == pytest.approx(
            np.mean([_psnr(b, g) for b, g in zip(bicubic, frames)])
        )
        assert clip["bicubic_ssim_y"] == pytest.approx(
            np.mean([_ssim_formula(_y(b), _y(g)) for b, g in zip(bicubic, frames)]), abs=1e-9
        )
        change = [
            np.mean(np.abs((b.astype(float) - a) - (gb.astype(float) - ga)))
            for a, b, ga, gb in zip(sr, sr[1:], frames, frames[1:])
        ]
        assert clip["sr_temporal_error"] == pytest.approx(np.mean(change), abs=0.01)
    mean = report["mean"]
    assert mean["sr_psnr_rgb"] == pytest.approx(
        np.mean([c["sr_psnr_rgb"] for c in report["clips"]])
    )
    assert report["settings"]["chunk"] == 2
    # The human table has one row per clip and the mean.
    table = vsr(*on_cpu)
    assert table.returncode == 0, table.stderr
    rows = [line.split()[0] for line in table.stdout.splitlines() if line.strip()]
    assert {"000", "011", "mean"} <= set(rows)


def test_eval_vimeo_list_scores_the_center_frame_and_makes_low_res_itself(
    tmp_path, bilinear_checkpoint
):
    """Vimeo-90K-T: septuplets listed in sep_testlist.txt under sequences/; without --lr
    the low-res frames are MATLAB bicubic x1/4 of the truth. CSV output."""
    names = ["00001/0001", "00002/0010"]
    (tmp_path / "vimeo").mkdir()
    (tmp_path / "vimeo" / "sep_testlist.txt").write_text("\n".join(names) + "\n")
    truth = {}
    for c, name in enumerate(names):
        truth[name] = [_scene(t, c + 3, 50, 66) for t in range(7)]  # not multiples of 4
        for t, frame in enumerate(truth[name]):
            _save(frame, tmp_path / "vimeo" / "sequences" / name / f"im{t + 1}.png")
    result = vsr(
        "eval", tmp_path / "vimeo", "--weights", bilinear_checkpoint, "--device", "cpu", "--csv"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    header = lines[0].split(",")
    rows = {line.split(",")[0]: dict(zip(header, line.split(","))) for line in lines[1:]}
    assert set(rows) == {*names, "mean"}
    for key in ("center_sr_psnr_y", "sr_ssim_rgb", "bicubic_psnr_y"):
        per_clip = [float(rows[name][key]) for name in names]
        assert float(rows["mean"][key]) == pytest.approx(np.mean(per_clip))
    for name in names:
        centre = truth[name][3][:48, :64]  # cropped to a multiple of 4 before shrinking
        lr = _matlab_bicubic_uint8(centre, 12, 16)
        expected = _psnr(_y(_bilinear_x4(lr)), _y(centre))
        assert float(rows[name]["center_sr_psnr_y"]) == pytest.approx(expected, abs=0.005)
        assert rows[name]["frames"] == "7"


def test_eval_bad_datasets_fail_in_one_line(tmp_path, bilinear_checkpoint):
    missing = vsr("eval", tmp_path / "nowhere", "--weights", bilinear_checkpoint)
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0 and "nowhere" in missing.stderr
    for t in range(3):
        _save(_scene(t, 0), tmp_path / "GT" / "a" / f"{t}.png")
    for t in range(2):
        _save(_block_mean(_scene(t, 0)), tmp_path / "LR" / "a" / f"{t}.png")
    short = vsr("eval", tmp_path / "GT", "--lr", tmp_path / "LR", "--weights", bilinear_checkpoint)
    assert short.returncode == 1
    assert "2 low-res frames for 3" in short.stderr and "Traceback" not in short.stderr
    cropped = vsr("eval", tmp_path / "GT", "--crop-border", "20", "--weights", bilinear_checkpoint)
    assert (
        cropped.returncode == 1
        and "8 px left after the border crop; SSIM needs 11" in cropped.stderr
    )
