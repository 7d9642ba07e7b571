"""A real video in, a 4x video out, and nothing else about the video changed."""

from __future__ import annotations

import math

import av
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from av.video.reformatter import Colorspace
from cli import vsr_upscale
from media import (
    EXACT,
    chapter_spans,
    frame_times,
    make_clip,
    packets_of,
    read_frames,
)

VFR = [0, 40, 100, 130, 200, 240, 300, 380]


def _psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)


def _bilinear_x4(frames: list[np.ndarray], peak: float) -> np.ndarray:
    x = torch.from_numpy(np.stack(frames).astype(np.float32) / peak).permute(0, 3, 1, 2)
    up = F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)
    return (up.clamp(0, 1) * peak).round().permute(0, 2, 3, 1).numpy()


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


def test_mkv_keeps_vfr_times_audio_and_subtitles(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mkv", pts=VFR)
    out = tmp_path / "out.mkv"
    result = vsr_upscale(clip.path, out, "--weights", golden_checkpoint)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert frame_times(out) == frame_times(clip.path) == [p / 1000 for p in VFR]
    assert packets_of(out, "audio") == packets_of(clip.path, "audio")
    assert packets_of(out, "subtitle") == [b"Hello, world"]
    with av.open(str(out)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].height) == (256, 192)
        assert [s.metadata.get("language") for s in c.streams.subtitles] == ["eng"]
    assert _leftovers(tmp_path) == []


def test_mp4_keeps_rotation_and_mov_text(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mp4", rotation=90)
    out = tmp_path / "out.mp4"
    result = vsr_upscale(clip.path, out, "--weights", golden_checkpoint, "--quiet")
    assert result.returncode == 0, result.stderr
    assert frame_times(out) == frame_times(clip.path)
    assert packets_of(out, "audio") == packets_of(clip.path, "audio")
    assert b"\x00\x0cHello, world" in packets_of(out, "subtitle")
    with av.open(str(out)) as c:
        assert next(c.decode(video=0)).rotation == 90


@pytest.mark.parametrize(
    ("src", "dst", "expected"),
    [
        ("in.mkv", "out.mp4", b"\x00\x0cHello, world"),  # SubRip -> mov_text
        ("in.mp4", "out.mkv", b"Hello, world"),  # mov_text -> SubRip
    ],
)
def test_subtitles_are_converted_when_the_container_refuses_them(
    tmp_path, golden_checkpoint, src, dst, expected
):
    clip = make_clip(tmp_path / src)
    result = vsr_upscale(clip.path, tmp_path / dst, "--weights", golden_checkpoint, "-q")
    assert result.returncode == 0, result.stderr
    assert "converted subtitle stream #2" in result.stderr
    assert expected in packets_of(tmp_path / dst, "subtitle")
    # Timing survives the change of container (up to the AAC priming shift some muxers add).
    times_in, times_out = frame_times(clip.path), frame_times(tmp_path / dst)
    assert np.allclose(np.diff(times_out), np.diff(times_in), atol=1e-3)


@pytest.mark.parametrize(("colorspace", "matrix"), [(1, 1), (None, 6)])
def test_colors_match_the_input_exactly(tmp_path, bilinear_checkpoint, colorspace, matrix):
    """With conv_last zeroed the model is the bilinear x4 upsample: what comes out must be
    that upsample of what went in, with the matrix the input uses (BT.709 tagged; an
    untagged SD clip is BT.601, as players read it) and tagged so."""
    clip = make_clip(
        tmp_path / "in.mkv",
        codec="ffv1",
        pix_fmt="yuv444p",
        audio=False,
        subtitle=None,
        colorspace=colorspace,
    )
    out = tmp_path / "out.mkv"
    args = ["--codec", "ffv1", "--pix-fmt", "yuv444p", "-q"]
    result = vsr_upscale(clip.path, out, "--weights", bilinear_checkpoint, *args)
    assert result.returncode == 0, result.stderr
    reformat = {
        "format": "rgb24",
        "src_colorspace": Colorspace.ITU709 if matrix == 1 else Colorspace.ITU601,
        "interpolation": EXACT,
    }
    with av.open(str(clip.path)) as c:
        source = [f.to_ndarray(**reformat) for f in c.decode(video=0)]
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.colorspace == matrix
        produced = [f.to_ndarray(**reformat) for f in c.decode(video=0)]
    expected = _bilinear_x4(source, 255)
    produced = np.stack(produced)
    assert _psnr(produced, expected) > 45
    # No colour shift: each channel's mean within half a level.
    assert np.abs(produced.mean(axis=(0, 1, 2)) - expected.mean(axis=(0, 1, 2))).max() < 0.5


def test_ten_bit_input_stays_ten_bit(tmp_path, bilinear_checkpoint):
    clip = make_clip(
        tmp_path / "in.mkv", codec="ffv1", pix_fmt="yuv444p10le", audio=False, subtitle=None
    )
    out = tmp_path / "out.mkv"
    result = vsr_upscale(clip.path, out, "--weights", bilinear_checkpoint, "--codec", "ffv1", "-q")
    assert result.returncode == 0, result.stderr
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv444p10le"
    produced = np.stack(read_frames(out, "rgb48le"))
    expected = _bilinear_x4(read_frames(clip.path, "rgb48le"), 65535)
    assert _psnr(produced, expected, 65535) > 50
    # Real 10-bit precision: an 8-bit path would leave only multiples of 257.
    assert np.mean(produced % 257 != 0) > 0.5


@pytest.mark.parametrize("scale", [4, 3])  # x3: each tile resized before it is blended
def test_tiles_and_chunks_stitch_without_seams(tmp_path, flat_flow_checkpoint, scale):
    """The issue's target: >= 50 dB against whole-clip output (measured here: 69.2 dB at x4,
    71.0 dB at x3)."""
    clip = make_clip(
        tmp_path / "in.mkv",
        size=(160, 64),
        pts=[40 * i for i in range(12)],
        audio=False,
        subtitle=None,
    )
    whole, tiled = tmp_path / "whole.mkv", tmp_path / "tiled.mkv"
    common = ["--weights", flat_flow_checkpoint, "--codec", "ffv1", "--scale", scale, "-q"]
    r1 = vsr_upscale(clip.path, whole, *common, "--tile", 0, "--chunk", 0)
    r2 = vsr_upscale(
        clip.path,
        tiled,
        *common,
        "--tile",
        64,
        "--tile-overlap",
        16,
        "--chunk",
        8,
        "--chunk-overlap",
        4,
        "--tile-batch",  # the 3 tiles of a frame in one pass
        3,
    )
    assert r1.returncode == r2.returncode == 0, r1.stderr + r2.stderr
    a, b = np.stack(read_frames(whole)), np.stack(read_frames(tiled))
    assert a.shape == b.shape == (12, 64 * scale, 160 * scale, 3)
    assert _psnr(a, b) >= 50


def test_scale_two_and_small_frames(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mkv", size=(48, 40), audio=False, subtitle=None)
    out = tmp_path / "out.mkv"
    result = vsr_upscale(clip.path, out, "--weights", golden_checkpoint, "--scale", 2, "-q")
    assert result.returncode == 0, result.stderr
    frames = read_frames(out)
    assert len(frames) == 6 and frames[0].shape == (80, 96, 3)


def test_container_title_and_chapters_are_kept(tmp_path, golden_checkpoint):
    src = make_clip(tmp_path / "in.mkv", subtitle=None, title="My film").path
    out = tmp_path / "out.mkv"
    result = vsr_upscale(src, out, "--weights", golden_checkpoint, "-q")
    assert result.returncode == 0, result.stderr
    assert chapter_spans(out) == chapter_spans(src) == [(0.0, 0.1, "Intro"), (0.1, 0.24, "Main")]
    with av.open(str(out)) as c:
        assert c.metadata.get("title") == "My film"


def test_odd_sizes_are_rounded_for_subsampled_chroma(tmp_path, golden_checkpoint):
    clip = make_clip(
        tmp_path / "in.mkv",
        size=(81, 65),
        codec="ffv1",
        pix_fmt="yuv444p",
        audio=False,
        subtitle=None,
    )
    out = tmp_path / "out.mp4"
    result = vsr_upscale(
        clip.path, out, "--weights", golden_checkpoint, "--scale", 3, "--pix-fmt", "yuv420p", "-q"
    )
    assert result.returncode == 0, result.stderr
    assert "output is 242x194 instead of 243x195" in result.stderr
    frames = read_frames(out)
    assert len(frames) == 6 and frames[0].shape == (194, 242, 3)


def test_half_precision_from_the_command_line(tmp_path, golden_checkpoint):
    """--precision fp16 / bf16 on the CPU: the same video within rounding of fp32 output
    (measured here with the golden tiny model: fp16 55.8 dB, bf16 45.8 dB, 8-bit ffv1).
    Three frames: half precision is slow on a CPU, and the recurrence still runs both ways."""
    clip = make_clip(tmp_path / "in.mkv", pts=[0, 40, 80], audio=False, subtitle=None)
    outputs = {}
    for precision in ("fp32", "fp16", "bf16"):
        out = tmp_path / f"{precision}.mkv"
        result = vsr_upscale(
            clip.path,
            out,
            "--weights",
            golden_checkpoint,
            "--codec",
            "ffv1",
            "--precision",
            precision,
            "-q",
        )
        assert result.returncode == 0, result.stderr
        outputs[precision] = np.stack(read_frames(out))
    assert _psnr(outputs["fp16"], outputs["fp32"]) > 40
    assert _psnr(outputs["bf16"], outputs["fp32"]) > 35


def test_raw_stream_without_timestamps_gets_its_frame_rate(tmp_path, golden_checkpoint):
    """An Annex-B .h264 file has no timestamps: frames are numbered at its 25 fps."""
    raw = tmp_path / "in.h264"
    with av.open(str(raw), "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 80, 64, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((64, 80, 3), 40 * i, np.uint8), "rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    out = tmp_path / "out.mkv"
    result = vsr_upscale(raw, out, "--weights", golden_checkpoint, "-q")
    assert result.returncode == 0, result.stderr
    assert frame_times(out) == [0.0, 0.04, 0.08, 0.12, 0.16]
