"""Bad input: one clear line on stderr, a non-zero exit, no traceback, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import av
import numpy as np
import pytest
from cli import vsr, vsr_upscale
from media import make_clip


def _assert_one_line_error(result, *fragments: str, code: int = 1) -> None:
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""


def _nothing_written(folder, *keep: str) -> bool:
    return sorted(p.name for p in folder.iterdir()) == sorted(keep)


def test_missing_input(tmp_path, golden_checkpoint):
    result = vsr_upscale(
        tmp_path / "nope.mp4", tmp_path / "out.mp4", "--weights", golden_checkpoint
    )
    _assert_one_line_error(result, "nope.mp4: no such file")
    assert _nothing_written(tmp_path)


def test_not_a_video(tmp_path, golden_checkpoint):
    (tmp_path / "notes.mp4").write_text("these are not frames\n" * 100)
    result = vsr_upscale(
        tmp_path / "notes.mp4", tmp_path / "out.mp4", "--weights", golden_checkpoint
    )
    _assert_one_line_error(result, "notes.mp4: not a video")
    assert _nothing_written(tmp_path, "notes.mp4")


def test_no_video_stream(tmp_path, golden_checkpoint):
    path = tmp_path / "sound.mka"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("flac", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts = 8000, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    result = vsr_upscale(path, tmp_path / "out.mkv", "--weights", golden_checkpoint)
    _assert_one_line_error(result, "sound.mka: no video stream")
    assert _nothing_written(tmp_path, "sound.mka")


@pytest.mark.parametrize("name", ["cut.mkv", "cut.mp4"])
def test_truncated_file_never_becomes_a_shorter_video(tmp_path, golden_checkpoint, name):
    clip = make_clip(
        tmp_path / f"full{name[-4:]}",
        pts=[40 * i for i in range(24)],
        audio=False,
        subtitle=None,
        options={"g": "1"},
    )
    data = clip.path.read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) * 2 // 3])
    clip.path.unlink()
    result = vsr_upscale(tmp_path / name, tmp_path / "out.mkv", "--weights", golden_checkpoint)
    _assert_one_line_error(result, name)
    assert _nothing_written(tmp_path, name)


def test_existing_output_needs_overwrite(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    (tmp_path / "out.mkv").write_bytes(b"precious")
    result = vsr_upscale(clip.path, tmp_path / "out.mkv", "--weights", golden_checkpoint)
    _assert_one_line_error(result, "out.mkv: exists; pass --overwrite (-y)")
    assert (tmp_path / "out.mkv").read_bytes() == b"precious"
    result = vsr_upscale(
        clip.path, tmp_path / "out.mkv", "--weights", golden_checkpoint, "-y", "-q"
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.mkv").read_bytes() != b"precious"


def test_output_is_input(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    before = clip.path.read_bytes()
    result = vsr_upscale(clip.path, tmp_path / "." / "in.mkv", "--weights", golden_checkpoint, "-y")
    _assert_one_line_error(result, "the output is the input")
    assert clip.path.read_bytes() == before


def test_bad_weights_file(tmp_path):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    (tmp_path / "w.pth").write_bytes(b"garbage")
    result = vsr_upscale(clip.path, tmp_path / "out.mkv", "--weights", tmp_path / "w.pth")
    _assert_one_line_error(result, "w.pth: not a PyTorch or safetensors weights file")


@pytest.mark.parametrize(
    "args",
    [["--tile", "32"], ["--scale", "5"], ["--precision", "fp8"], ["--encoder-opt", "novalue"]],
)
def test_usage_errors_exit_2(tmp_path, golden_checkpoint, args):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    result = vsr_upscale(clip.path, tmp_path / "out.mkv", "--weights", golden_checkpoint, *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.mkv").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--codec", "nosuchcodec"], "--codec: unknown video encoder 'nosuchcodec'"),
        (["--preset", "nosuch"], "--preset: 'nosuch': libx264 refused it (invalid preset"),
        (["--codec", "libx265", "--preset", "nosuch"], "--preset: 'nosuch': libx265 refused it"),
        (["--pix-fmt", "nv99"], "--pix-fmt: libx264 cannot encode nv99"),
        (["--codec", "aac"], "--codec: aac encodes audio, not video"),
    ],
)
def test_bad_encoder_options_are_usage_errors_before_any_work(tmp_path, options, message):
    """Checked before the weights are even looked for (none are reachable here: no
    --weights, and the Hub endpoint refuses), so a typo costs a second, not the model's
    hours. The error names the option, with the encoder's own reason."""
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    env = {k: v for k, v in os.environ.items() if k != "VSR_DEBUG"}
    env |= {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    result = vsr_upscale(clip.path, tmp_path / "out.mkv", *options, env=env)
    _assert_one_line_error(result, message, code=2)
    assert _nothing_written(tmp_path, "in.mkv")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_run_leaves_nothing_behind(tmp_path, golden_checkpoint, sig, code):
    clip = make_clip(
        tmp_path / "in.mkv",
        size=(96, 64),
        pts=[40 * i for i in range(400)],
        audio=False,
        subtitle=None,
    )
    out = tmp_path / "out.mkv"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vsr_cli",
            clip.path,
            out,
            "--weights",
            golden_checkpoint,
            "--chunk",
            "4",
            "--piece-seconds",  # written directly (pieces: tests/test_batch.py, test_resume.py)
            "60",
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.*.part.mkv")) and time.monotonic() < deadline:
        time.sleep(0.1)  # wait until it is writing
    assert list(tmp_path.glob(".out.*.part.mkv")), "never started writing"
    time.sleep(1)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    assert _nothing_written(tmp_path, "in.mkv")


def test_a_killed_runs_part_file_is_removed_by_the_next_run_and_vsr_clean(
    tmp_path, golden_checkpoint
):
    """SIGKILL leaves the hidden part file (nothing can delete it then); the next run for
    that output removes it, and ``vsr clean`` lists and removes leftovers, never a part
    file that a running process is writing (it holds the file's lock)."""
    clip = make_clip(tmp_path / "in.mkv", pts=[40 * i for i in range(16)], audio=False,
                     subtitle=None)  # fmt: skip
    out = tmp_path / "out.mkv"
    command = ["-m", "vsr_cli", clip.path, out, "--weights", golden_checkpoint, "--chunk", "4"]
    killed = subprocess.Popen([sys.executable, *command], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.*.part.mkv")) and time.monotonic() < deadline:
        time.sleep(0.05)
    killed.kill()
    killed.wait()
    (left,) = tmp_path.glob(".out.*.part.mkv")
    busy = tmp_path / ".other.0123abcd.part.mkv"  # another run's, still being written
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], "
         "os.O_RDWR | os.O_CREAT); fcntl.flock(fd, fcntl.LOCK_EX); print(1, flush=True); "
         "time.sleep(600)", busy],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "1\n"
        time.sleep(1.1)  # part files changed within the last second count as being made
        listed = vsr("clean", "--dry-run", tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.splitlines() == [str(left)]
        assert "would remove 1 leftover part files" in listed.stderr
        assert left.exists()

        again = subprocess.run([sys.executable, *command, "-q"], capture_output=True, text=True)
        assert again.returncode == 0, again.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == [busy.name, "in.mkv", "out.mkv"]
    finally:
        holder.kill()
        holder.wait()
    time.sleep(1.1)
    cleaned = vsr("clean", tmp_path)
    assert cleaned.returncode == 0, cleaned.stderr
    assert cleaned.stdout.splitlines() == [str(busy)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv", "out.mkv"]
