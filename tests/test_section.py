"""--ss / -t / --to: a section of a real file, upscaled and read back."""

from __future__ import annotations

import subprocess
import sys

import av
import numpy as np
import pytest
from cli import vsr_upscale
from media import frame_times, make_clip, read_frames

FRAMES = 50  # 2 s at 25 fps, keyframes every 12 frames (0, 0.48, 0.96, ...), B-frames


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("section")
    return make_clip(
        folder / "in.mp4",
        pts=[40 * i for i in range(FRAMES)],
        options={"g": "12", "bf": "2", "keyint_min": "12", "sc_threshold": "0"},
        title="chapters",
    ).path


@pytest.fixture(scope="module")
def whole(source, bilinear_checkpoint, tmp_path_factory):
    """Every frame, for comparison: the bilinear checkpoint treats frames independently,
    so a section's frames must equal the same frames of the whole run."""
    out = tmp_path_factory.mktemp("whole") / "whole.mkv"
    result = vsr_upscale(source, out, "--weights", bilinear_checkpoint, "--codec", "ffv1")
    assert result.returncode == 0, result.stderr
    return read_frames(out)


@pytest.mark.parametrize(
    ("args", "first", "count"),
    [
        (["--ss", "0.5", "-t", "0.4"], 13, 10),  # 0.52 .. 0.88: after a keyframe (0.48)
        (["--ss", "0.96", "-t", "0.2"], 24, 5),  # on a keyframe
        (["--ss", "00:00:01.01", "--to", "1.5"], 26, 12),  # between frames, HH:MM:SS
        (["-t", "0.3"], 0, 8),
        (["--ss", "1.7"], 43, 7),  # to the end
    ],
)
def test_section_frames_timestamps_and_audio(
    tmp_path, source, whole, bilinear_checkpoint, args, first, count
):
    out = tmp_path / "cut.mkv"
    result = vsr_upscale(
        source, out, "--weights", bilinear_checkpoint, "--codec", "ffv1", "--chunk", "4", *args
    )
    assert result.returncode == 0, result.stderr
    times = frame_times(out)
    assert len(times) == count
    assert times[0] == 0 and times == pytest.approx([0.04 * i for i in range(count)])
    frames = read_frames(out)
    for got, expected in zip(frames, whole[first : first + count]):
        np.testing.assert_array_equal(got, expected)
    with av.open(str(out)) as container:
        audio = [p for p in container.demux(container.streams.audio[0]) if p.pts is not None]
    starts = [float(p.pts * p.time_base) for p in audio]
    assert 0 <= starts[0] < 0.03  # AAC packets are 21 ms long
    assert starts[-1] < count * 0.04


def test_section_from_a_pipe_equals_the_seeked_one(tmp_path, source, bilinear_checkpoint):
    """stdin can't seek: the same section is found by decoding from the start."""
    seeked = tmp_path / "seeked.mkv"
    result = vsr_upscale(
        source, seeked, "--weights", bilinear_checkpoint, "--codec", "ffv1", "--ss", "0.7"
    )
    assert result.returncode == 0, result.stderr
    piped = tmp_path / "piped.mkv"
    with open(source, "rb") as stdin:
        run = subprocess.run(
            [sys.executable, "-m", "vsr_cli", "-", piped, "--weights", bilinear_checkpoint,
             "--codec", "ffv1", "--ss", "0.7", "-q"],
            stdin=stdin, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert frame_times(piped) == frame_times(seeked)
    for a, b in zip(read_frames(piped), read_frames(seeked)):
        np.testing.assert_array_equal(a, b)


def test_chapters_are_cut_to_the_section(tmp_path, source, bilinear_checkpoint):
    """The clip's chapters: 0-0.1 s "Intro", 0.1-0.24 s "Main"."""
    out = tmp_path / "cut.mkv"
    result = vsr_upscale(source, out, "--weights", bilinear_checkpoint, "--ss", "0.2", "-t", "1")
    assert result.returncode == 0, result.stderr
    with av.open(str(out)) as container:
        chapters = container.chapters()
    assert [c["metadata"]["title"] for c in chapters] == ["Main"]
    start, end = (float(chapters[0][k] * chapters[0]["time_base"]) for k in ("start", "end"))
    assert (start, end) == pytest.approx((0.0, 0.04))


def test_bad_sections_fail_in_one_line(tmp_path, source, bilinear_checkpoint):
    out = tmp_path / "cut.mkv"
    late = vsr_upscale(source, out, "--weights", bilinear_checkpoint, "--ss", "5")
    assert late.returncode == 1 and "no frames after 5.000 s" in late.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".part" in p.name]
    backwards = vsr_upscale(source, out, "--ss", "1", "--to", "0.5")
    assert backwards.returncode == 2 and "--to" in backwards.stderr
    garbage = vsr_upscale(source, out, "--ss", "ten")
    assert garbage.returncode == 2 and "ten" in garbage.stderr
