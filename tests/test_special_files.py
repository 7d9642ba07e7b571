"""Outputs and inputs that are not regular files: a device is written into and never
replaced, a named pipe is read once, stdout on a terminal is refused; and HEVC in MP4 is
tagged as Apple's players want it."""

from __future__ import annotations

import os
import pty
import stat
import subprocess
import sys
import threading

import av
import pytest
from cli import vsr_upscale
from media import make_clip

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root (CI runs as root)")


@needs_root
def test_a_device_output_is_written_into_never_replaced(tmp_path, golden_checkpoint):
    """A node like /dev/null, made here (never the machine's own)."""
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    result = vsr_upscale(
        clip.path, null, "--weights", golden_checkpoint, "-f", "matroska", "-y", "-q"
    )
    assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(null.stat().st_mode)  # still the device
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv", "null"]


def test_a_named_pipe_is_read_once(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    fifo = tmp_path / "live.mkv"
    os.mkfifo(fifo)

    def produce() -> None:
        with open(fifo, "wb") as pipe:  # blocks until the reader opens it
            pipe.write(clip.path.read_bytes())

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    out = tmp_path / "out.mkv"
    command = [sys.executable, "-m", "vsr_cli", fifo, out, "--weights", golden_checkpoint, "-q"]
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    producer.join(timeout=5)
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 6


def test_stdout_on_a_terminal_is_refused(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    controller, terminal = pty.openpty()
    command = [
        sys.executable,
        "-m",
        "vsr_cli",
        clip.path,
        "-",
        "-f",
        "matroska",
        "--weights",
        golden_checkpoint,
    ]
    result = subprocess.run(
        [str(c) for c in command], stdout=terminal, stderr=subprocess.PIPE, text=True, timeout=120
    )
    os.close(terminal)
    os.close(controller)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: -: stdout is a terminal; redirect it (> out.mkv) or pipe it on"
    )


def test_hevc_in_mp4_is_tagged_hvc1(tmp_path, bilinear_checkpoint):
    clip = make_clip(tmp_path / "in.mp4", audio=False, subtitle=None)
    out = tmp_path / "out.mp4"
    result = vsr_upscale(
        clip.path, out, "--weights", bilinear_checkpoint, "--codec", "libx265", "-q"
    )
    assert result.returncode == 0, result.stderr
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.codec_tag == "hvc1"
