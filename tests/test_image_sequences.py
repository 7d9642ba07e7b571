"""Image sequences in and out, made by ffmpeg and read back: frames -> video, video ->
frames, frames -> frames, deep frames kept deep, and a killed run resumed from the frames
it had finished."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from cli import vsr, vsr_upscale, warnings_in
from media import EXACT, make_clip, moving_pattern, read_frames

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None and not os.environ.get("CI"),
    reason="needs the ffmpeg command-line tool to make the frames (CI installs it)",
)


def _ffmpeg(*args: object) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *map(str, args)], check=True)


def _frames(folder: Path, pattern: str = "%04d.png", count: int = 6, *extra: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    source = "testsrc2=size=64x48:rate=25"
    _ffmpeg("-f", "lavfi", "-i", source, "-frames:v", count, *extra, folder / pattern)
    return folder


def _upscale(*args: object, weights: Path) -> subprocess.CompletedProcess:
    result = vsr_upscale(*args, "--weights", weights, "--device", "cpu", "-q")
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _image(path: Path) -> av.VideoFrame:
    with av.open(str(path)) as c:
        return next(c.decode(video=0))


def test_frames_to_a_video_at_the_given_rate(tmp_path, golden_checkpoint):
    frames = _frames(tmp_path / "frames")
    out = tmp_path / "seq.mp4"
    result = _upscale(frames / "%04d.png", out, "--fps", "24", weights=golden_checkpoint)
    assert result.returncode == 0, result.stderr
    with av.open(str(out)) as c:
        video = c.streams.video[0]
        assert (video.width, video.height, video.average_rate) == (256, 192, 24)
        assert not c.streams.audio  # none in, none out
        times = [float(f.time) for f in c.decode(video=0)]
    assert len(times) == 6 and abs(times[1] - times[0] - 1 / 24) < 1e-3


def test_a_video_to_frames_holds_the_pixels_of_a_lossless_rgb_video(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mp4", audio=False, subtitle=None)
    result = _upscale(clip.path, tmp_path / "out1" / "%06d.png", weights=golden_checkpoint)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "out1").iterdir() if not p.name.startswith("."))
    assert names == [f"{i:06d}.png" for i in range(1, 7)]
    lossless = tmp_path / "ffv1.mkv"
    options = ("--codec", "ffv1", "--pix-fmt", "bgr0")
    assert _upscale(clip.path, lossless, *options, weights=golden_checkpoint).returncode == 0
    video = np.stack(read_frames(lossless))
    pngs = np.stack([_image(tmp_path / "out1" / n).to_ndarray(format="rgb24") for n in names])
    assert pngs.shape == (6, 192, 256, 3)
    assert np.abs(pngs.astype(int) - video.astype(int)).max() <= 1


def test_a_folder_of_frames_to_a_folder_of_the_same_names(tmp_path, golden_checkpoint):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, name in enumerate(["shot_1.png", "shot_2.png", "shot_10.png"]):
        _ffmpeg(
            "-f",
            "lavfi",
            "-i",
            f"color=c=0x{40 * i:02x}8040:size=64x48",
            "-frames:v",
            1,
            frames / name,
        )
    result = _upscale(frames, f"{tmp_path / 'outdir'}/", weights=golden_checkpoint)
    assert result.returncode == 0, result.stderr
    made = sorted(p.name for p in (tmp_path / "outdir").iterdir() if not p.name.startswith("."))
    assert made == ["shot_1.png", "shot_10.png", "shot_2.png"]
    # natural order: shot_10 is the last frame, so the reddest
    reds = {
        n: _image(tmp_path / "outdir" / n).to_ndarray(format="rgb24")[..., 0].mean() for n in made
    }
    assert reds["shot_1.png"] < reds["shot_2.png"] < reds["shot_10.png"]
    assert _image(tmp_path / "outdir" / "shot_1.png").width == 256


def test_ten_bit_hevc_to_sixteen_bit_pngs(tmp_path, bilinear_checkpoint):
    src = tmp_path / "ten.mkv"
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=64x48:rate=25",
        "-frames:v",
        3,
        "-c:v",
        "libx265",
        "-pix_fmt",
        "yuv420p10le",
        "-x265-params",
        "log-level=error",
        src,
    )
    result = _upscale(src, tmp_path / "out" / "%03d.png", weights=bilinear_checkpoint)
    assert result.returncode == 0, result.stderr
    frame = _image(tmp_path / "out" / "001.png")
    assert frame.format.name == "rgb48be"
    pixels = frame.to_ndarray(format="rgb48le")
    assert np.mean(pixels % 257 != 0) > 0.5  # deeper than 8 bits, not 8 bits stretched


def test_a_sixteen_bit_tiff_pattern_from_100_to_mkv(tmp_path, bilinear_checkpoint):
    frames = tmp_path / "tif"
    _frames(frames, "f%03d.tif", 6, "-start_number", 100, "-pix_fmt", "rgb48le")
    facts = json.loads(vsr("info", frames / "f%03d.tif", "--json").stdout)
    assert (facts["images"], facts["first_number"], facts["last_number"]) == (6, 100, 105)
    assert facts["bit_depth"] == 16
    out = tmp_path / "out.mkv"
    result = _upscale(frames / "f%03d.tif", out, weights=bilinear_checkpoint)
    assert result.returncode == 0, result.stderr
    with av.open(str(out)) as c:
        decoded = [f for f in c.decode(video=0)]
    assert len(decoded) == 6 and decoded[0].width == 256
    # Deep frames stay deep: the encoder writes more than 8 bits, and the bilinear model's
    # output keeps the source's mean level.
    assert max(comp.bits for comp in decoded[0].format.components) > 8
    source = _image(frames / "f100.tif").to_ndarray(format="rgb48le").astype(float)
    made = decoded[0].to_ndarray(format="rgb48le", interpolation=EXACT).astype(float)
    assert abs(made.mean() - source.mean()) < 0.02 * 65535


def test_gaps_are_said_and_a_frame_of_another_size_is_refused(tmp_path, golden_checkpoint):
    frames = _frames(tmp_path / "frames")
    (frames / "0003.png").unlink()
    result = _upscale(frames / "%04d.png", tmp_path / "gap.mkv", weights=golden_checkpoint)
    assert result.returncode == 0, result.stderr
    assert any("no frame between 0002 and 0004" in w for w in warnings_in(result))
    with av.open(str(tmp_path / "gap.mkv")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 5
    _ffmpeg("-f", "lavfi", "-i", "color=size=80x48", "-frames:v", 1, frames / "0007.png")
    odd = _upscale(frames / "%04d.png", tmp_path / "odd.mkv", weights=golden_checkpoint)
    assert odd.returncode == 1
    assert odd.stderr.strip().splitlines()[-1] == (
        f"error: {frames / '0007.png'}: 80x48, not the size of the sequence's first frame (64x48)"
    )
    assert not (tmp_path / "odd.mkv").exists()


def test_batches_take_a_folder_of_frames_as_one_clip(tmp_path, golden_checkpoint):
    inputs = tmp_path / "in"
    _frames(inputs / "shot")
    make_clip(inputs / "clip.mkv", audio=False, subtitle=None)
    result = _upscale(
        inputs / "shot", inputs / "clip.mkv", tmp_path / "out", weights=golden_checkpoint
    )
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path / "out" / "shot"))[-1] == "0006.png"
    assert (tmp_path / "out" / "clip.mkv").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no frames here")
    refused = _upscale(empty, inputs / "clip.mkv", tmp_path / "out2", weights=golden_checkpoint)
    assert refused.returncode == 2
    assert f"{empty}: no videos or image frames in the folder" in refused.stderr


def test_codec_with_an_image_output_is_a_usage_error(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    result = _upscale(
        clip.path, tmp_path / "o" / "%04d.png", "--codec", "libx264", weights=golden_checkpoint
    )
    assert result.returncode == 2
    assert "--codec: image files take their encoder from the extension (.png)" in result.stderr


def _smooth_frames(folder: Path, count: int) -> Path:
    """PNGs of a pattern drifting a pixel a frame: the recurrence's output changes little
    with where chunks are cut, so a resumed run is comparable with a straight one."""
    folder.mkdir()
    for i in range(count):
        image = av.VideoFrame.from_ndarray(moving_pattern(i, 64, 48), format="rgb24")
        image.to_image().save(folder / f"{i + 1:04d}.png")
    return folder


def _kill_once(
    frames: Path, out: Path, weights: Path, options: tuple[str, ...], frames_written: int
) -> list[str]:
    """Start the upscale of ``frames`` into ``out/%04d.png`` and SIGKILL it once it has
    written ``frames_written`` frames; the command, to run again."""
    command = [
        sys.executable,
        "-m",
        "vsr_cli",
        str(frames / "%04d.png"),
        str(out / "%04d.png"),
        "--weights",
        str(weights),
        *options,
        "-q",
    ]
    killed = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("[0-9]*.png"))) < frames_written:
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    return command


def test_a_killed_run_resumes_from_the_frames_it_finished(tmp_path, golden_checkpoint):
    frames = _smooth_frames(tmp_path / "frames", 12)
    out = tmp_path / "out"
    options = ("--chunk", "4", "--chunk-overlap", "2", "--piece-seconds", "0.16")
    command = _kill_once(frames, out, golden_checkpoint, options, frames_written=5)
    kept = {p.name: p.stat().st_mtime_ns for p in out.glob("[0-9]*.png")}
    assert 5 <= len(kept) < 12, kept
    assert not list(out.glob(".*.part"))  # a frame is whole or absent
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    done = json.loads((out / ".vsr-frames.json").read_text())["done"]
    assert done == 12
    final = {p.name: p.stat().st_mtime_ns for p in out.glob("[0-9]*.png")}
    assert len(final) == 12
    # The pieces the record held complete (4 frames each) are not made again.
    recorded = sorted(kept)[: len(kept) // 4 * 4]
    assert recorded and all(kept[n] == final[n] for n in recorded)
    whole = tmp_path / "whole"
    straight = [c if c != str(out / "%04d.png") else str(whole / "%04d.png") for c in command]
    assert subprocess.run(straight, capture_output=True).returncode == 0
    # Made in pieces of 4 frames either way: the same frames as an uninterrupted run.
    for name in sorted(final):
        assert np.array_equal(
            _image(out / name).to_ndarray(format="rgb24"),
            _image(whole / name).to_ndarray(format="rgb24"),
        ), name


def test_a_section_of_a_sequence(tmp_path, golden_checkpoint):
    frames = _frames(tmp_path / "frames", count=10)
    out = tmp_path / "part.mkv"
    result = _upscale(
        frames / "%04d.png", out, "--ss", "0.2", "-t", "0.2", weights=golden_checkpoint
    )
    assert result.returncode == 0, result.stderr
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 5


def test_vsr_compare_takes_frames(tmp_path, golden_checkpoint):
    frames = _frames(tmp_path / "frames")
    out = tmp_path / "up"
    assert _upscale(frames / "%04d.png", f"{out}/", weights=golden_checkpoint).returncode == 0
    result = vsr("compare", frames / "%04d.png", out, "--at", "0.1", "-o", tmp_path / "cmp")
    assert result.returncode == 0, result.stderr
    (picture,) = (tmp_path / "cmp").iterdir()
    assert picture.name == "up_compare_0.100s.png"
    assert _image(picture).width > 256


def test_frames_in_segments_then_joined_equal_one_run(tmp_path, golden_checkpoint):
    frames = _smooth_frames(tmp_path / "frames", 8)
    pieces = ("--piece-seconds", "0.16", "--codec", "ffv1", "--chunk", "4")
    one = tmp_path / "one.mkv"
    assert _upscale(frames, one, *pieces, weights=golden_checkpoint).returncode == 0
    out = tmp_path / "out.mkv"
    for k in ("1/2", "2/2"):
        segment = _upscale(frames, out, *pieces, "--segment", k, weights=golden_checkpoint)
        assert segment.returncode == 0, segment.stderr
    joined = vsr("join", out)
    assert joined.returncode == 0, joined.stderr
    for a, b in zip(read_frames(out), read_frames(one), strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("suffix", [".jpg", ".webp", ".exr", ".tif"])
def test_each_image_format_holds_the_same_picture_as_png(tmp_path, bilinear_checkpoint, suffix):
    clip = make_clip(tmp_path / "in.mkv", pts=[0, 40], audio=False, subtitle=None)
    for ext in (".png", suffix):
        made = _upscale(clip.path, tmp_path / ext[1:] / f"%03d{ext}", weights=bilinear_checkpoint)
        assert made.returncode == 0, made.stderr
    png = _image(tmp_path / "png" / "001.png").to_ndarray(format="rgb24").astype(float)
    other = _image(tmp_path / suffix[1:] / f"001{suffix}").to_ndarray(format="rgb24")
    assert other.shape == png.shape
    assert np.abs(other.astype(float) - png).mean() < 3  # lossy JPEG and WebP: close


def test_a_run_killed_in_its_first_piece_is_made_again_by_the_same_command(
    tmp_path, golden_checkpoint
):
    """No piece whole yet: the record still says the frames are this command's, so the
    same command replaces them without --overwrite."""
    frames = _smooth_frames(tmp_path / "frames", 8)
    out = tmp_path / "out"
    command = _kill_once(frames, out, golden_checkpoint, ("--chunk", "2"), frames_written=1)
    assert 1 <= len(list(out.glob("[0-9]*.png"))) < 8
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert len(list(out.glob("[0-9]*.png"))) == 8
