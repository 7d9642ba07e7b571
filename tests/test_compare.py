"""`vsr compare`: real videos in, PNGs (or a video) out, read back and checked pixel by pixel."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
from cli import vsr, vsr_upscale
from media import frame_times, make_clip, read_frames
from PIL import Image

from vsr_cli.quality.compare import LABEL_HEIGHT, ZOOM, plain_upscale


@pytest.fixture(scope="module")
def pair(tmp_path_factory, bilinear_checkpoint):
    """A 12-frame 80x64 clip at 25 fps and its 4x upscale, both lossless (FFV1, 4:4:4)."""
    folder = tmp_path_factory.mktemp("compare")
    source = make_clip(
        folder / "in.mkv",
        pts=[40 * i for i in range(12)],
        codec="ffv1",
        pix_fmt="yuv444p",
        audio=False,
        subtitle=None,
    ).path
    upscaled = folder / "out.mkv"
    result = vsr_upscale(
        source, upscaled, "--weights", bilinear_checkpoint, "--codec", "ffv1", "--device", "cpu"
    )
    assert result.returncode == 0, result.stderr
    return source, upscaled


@pytest.mark.smoke
def test_pngs_show_the_frames_on_screen_at_each_time(pair, tmp_path):
    source, upscaled = pair
    result = vsr(
        "compare", source, upscaled, "--at", "0.1", "--at", "00:00:00.200", "-o", tmp_path, "--json"
    )
    assert result.returncode == 0, result.stderr
    pictures = json.loads(result.stdout)["pictures"]
    # 0.1 s falls between the frames at 0.08 and 0.12: the one on screen is 0.08's.
    assert [p["second_time"] for p in pictures] == pytest.approx([0.08, 0.2])
    assert [p["first_time"] for p in pictures] == pytest.approx([0.08, 0.2])
    inputs, outputs = read_frames(source), read_frames(upscaled)
    for picture, index in zip(pictures, (2, 5)):
        png = np.asarray(Image.open(picture["path"]).convert("RGB"))
        h, w = 192, 256
        r = picture["region"]
        assert (r["width"], r["height"]) == (w // ZOOM, h // ZOOM)
        assert png.shape == (2 * LABEL_HEIGHT + h + r["height"] * ZOOM, 2 * w, 3)
        top = png[LABEL_HEIGHT : LABEL_HEIGHT + h]
        np.testing.assert_array_equal(top[:, w:], outputs[index])
        np.testing.assert_array_equal(top[:, :w], plain_upscale(inputs[index], w, h))
        bottom = png[2 * LABEL_HEIGHT + h :]
        crop = outputs[index][r["y"] : r["y"] + r["height"], r["x"] : r["x"] + r["width"]]
        np.testing.assert_array_equal(bottom[:, w:], crop.repeat(ZOOM, 0).repeat(ZOOM, 1))
        # Labels: dark text in each of the four label strips, on white.
        for strip in (png[:LABEL_HEIGHT], png[LABEL_HEIGHT + h : 2 * LABEL_HEIGHT + h]):
            for half in (strip[:, :w], strip[:, w:]):
                assert (half.min(axis=2) < 100).sum() > 20
                assert np.median(half) == 255


def test_default_times_spread_over_the_clip(pair, tmp_path):
    source, upscaled = pair
    result = vsr("compare", source, upscaled, "-o", tmp_path / "pics")
    assert result.returncode == 0, result.stderr
    paths = result.stdout.split()
    assert len(paths) == 3 and all(p.endswith(".png") for p in paths)
    assert sorted(p.name for p in (tmp_path / "pics").iterdir()) == sorted(
        p.split("/")[-1] for p in paths
    )


def test_video_side_by_side_and_wipe(pair, tmp_path):
    source, upscaled = pair
    side = tmp_path / "side.mp4"
    result = vsr("compare", source, upscaled, "--video", side, "--at", "0.1", "-t", "0.2")
    assert result.returncode == 0, result.stderr
    # Frames starting in [0.1, 0.3): 0.12 ... 0.28.
    assert len(frame_times(side)) == 5
    frames = read_frames(side)
    assert frames[0].shape == (192, 512, 3)
    expected = plain_upscale(read_frames(source)[3], 256, 192)
    assert np.abs(frames[0][:, :256].astype(int) - expected).mean() < 3  # H.264, CRF 16
    assert np.abs(frames[0][:, 256:].astype(int) - read_frames(upscaled)[3]).mean() < 3
    wipe = tmp_path / "wipe.mp4"
    result = vsr("compare", source, upscaled, "--video", wipe, "--wipe", "-t", "1")
    assert result.returncode == 0, result.stderr
    with av.open(str(wipe)) as container:
        assert container.streams.video[0].width == 256
    assert len(frame_times(wipe)) == 12
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


def test_missing_or_broken_inputs_fail_in_one_line(pair, tmp_path):
    source, _ = pair
    missing = vsr("compare", source, tmp_path / "nope.mkv", "-o", tmp_path)
    assert missing.returncode == 1 and "nope.mkv" in missing.stderr
    assert missing.stderr.strip().count("\n") == 0
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    broken = vsr("compare", source, junk, "-o", tmp_path)
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    bad_time = vsr("compare", source, source, "--at", "1:xx")
    assert bad_time.returncode == 2 and "1:xx" in bad_time.stderr
    late = vsr("compare", source, source, "--at", "3", "-o", tmp_path)
    assert late.returncode == 1 and "3.000 s is past its end (0.480 s)" in late.stderr
    assert not list(tmp_path.glob("*.png"))
