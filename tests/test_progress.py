"""What a user watches: a bar whose time left holds when frames arrive a chunk at a time,
the whole video in piece mode, what runs while nothing has come out, a closing line."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

from cli import vsr_upscale
from media import make_clip
from rich.console import Console

from vsr_cli.events import JsonReporter, RichReporter


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_time_left_reads_the_whole_run_not_the_last_burst():
    """48 frames in bursts of 6, every 10 s after a 20 s first chunk: midway (24 frames at
    50 s) 40 s remain. Each burst arrives within a second; a rate read from the last
    updates would say seconds."""
    clock, stream = _Clock(), io.StringIO()
    reporter = JsonReporter(stream, clock)
    reporter.start("a.mkv", 48)
    for burst in range(8):
        clock.now = 20.0 + 10 * burst
        for _ in range(6):
            clock.now += 0.1
            reporter.advance("a.mkv", 1)
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    midway = next(e for e in events if e["event"] == "progress" and e["frames"] >= 24)
    truth = 20.0 + 10 * 7 + 0.6 - (20.0 + 10 * 3 + 0.6)
    assert truth / 2 <= midway["eta_s"] <= truth * 2
    assert events[-1]["frames"] == 48 and events[-1]["eta_s"] == 0


def _bar_lines(raw: bytes) -> list[str]:
    text = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", raw).decode("utf-8", "replace")
    return [line.strip() for line in re.split(r"[\r\n]", text) if line.strip()]


def test_the_bar_on_a_terminal_shows_the_first_chunk_and_an_honest_time_left(
    tmp_path, golden_checkpoint
):
    """The real command in a pseudo-terminal (as under tmux): chunks of 3 new frames
    arrive in bursts; midway through, the time left is within 2x of what it really was."""
    clip = make_clip(
        tmp_path / "in.mkv", size=(64, 64), pts=[40 * i for i in range(12)], audio=False,
        subtitle=None,
    )  # fmt: skip
    out = tmp_path / "out.mkv"
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 250, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("VSR_DEBUG", "COLUMNS")}
    command = [sys.executable, "-m", "vsr_cli", clip.path, out, "--weights", golden_checkpoint,
               "--chunk", "3", "--chunk-overlap", "1", "--codec", "ffv1"]  # fmt: skip
    process = subprocess.Popen(command, stderr=terminal, stdout=subprocess.DEVNULL, env=env)
    os.close(terminal)
    seen: list[tuple[float, str]] = []
    buffered = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal's other side closed
                break
            if not chunk:
                break
            buffered += chunk
            seen += [(time.monotonic(), line) for line in _bar_lines(chunk)]
        elif process.poll() is not None:
            break
    ended = time.monotonic()
    assert process.wait(timeout=60) == 0, _bar_lines(buffered)
    lines = [line for _, line in seen]
    assert any("computing the first chunk (5 frames)" in line for line in lines), lines
    assert any(line.startswith(f"{out}: 12 frames") for line in lines), lines
    bars = [(t, re.search(r"(\d+)/12 .* (\d+):(\d\d):(\d\d) left", line)) for t, line in seen]
    midway = next((t, m) for t, m in bars if m and int(m[1]) >= 6)
    left = int(midway[1][2]) * 3600 + int(midway[1][3]) * 60 + int(midway[1][4])
    truth = ended - midway[0]
    assert truth / 2 - 1 <= left <= truth * 2 + 1, (left, truth)


def test_a_resumed_job_shows_the_whole_video_and_says_so(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mp4", pts=[40 * i for i in range(20)], options={"g": "12"})
    out = tmp_path / "out.mkv"
    common = ["--weights", golden_checkpoint, "--piece-seconds", "0.16", "--codec", "ffv1",
              "--chunk", "4", "--chunk-overlap", "2", "--json"]  # fmt: skip
    first = vsr_upscale(clip.path, out, *common, "--segment", "1/2")
    assert first.returncode == 0, first.stderr
    again = vsr_upscale(clip.path, out, *common)
    assert again.returncode == 0, again.stderr
    events = [json.loads(line) for line in again.stderr.splitlines()]
    start = next(e for e in events if e["event"] == "start")
    assert start["total"] == 20 and 4 <= start["done"] <= 12  # 2 of 5 pieces: ~8 frames
    assert any(
        e["event"] == "status" and e["message"] == "resuming: 2 of 5 pieces already done"
        for e in events
    )
    progress = [e for e in events if e["event"] == "progress"]
    assert progress[-1]["frames"] == progress[-1]["total"] == 20
    done = next(e for e in events if e["event"] == "done")
    assert done["frames"] == 12 and done["video_seconds"] == 0.8


def test_the_first_chunk_is_counted_whole(tmp_path, golden_checkpoint):
    """A 12-frame clip computed as one chunk: its frames are counted together once made,
    so no rate (or time left) is read from one frame of the burst."""
    clip = make_clip(tmp_path / "in.mkv", pts=[40 * i for i in range(12)], audio=False,
                     subtitle=None)  # fmt: skip
    out = tmp_path / "out.mkv"
    result = vsr_upscale(clip.path, out, "--weights", golden_checkpoint, "--chunk", "0",
                         "--codec", "ffv1", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]
    progress = [e for e in events if e["event"] == "progress"]
    assert [(e["frames"], e["eta_s"]) for e in progress] == [(12, 0)]


def test_the_bar_fits_80_columns(tmp_path):
    """A long path and a long status: the name is cut short, the numbers stay whole and
    nothing wraps."""
    screen = io.StringIO()
    console = Console(file=screen, width=80, force_terminal=True, color_system=None)
    clock = _Clock()
    reporter = RichReporter(console, clock)
    name = str(tmp_path / "a folder with a long name" / "holiday.mkv")
    reporter.start(name, 1200)
    reporter.status(name, "computing the first chunk (12 frames)")
    reporter._progress.refresh()
    clock.now = 27.0
    reporter.advance(name, 12)
    reporter._progress.refresh()
    reporter.finish(name)
    shown = re.split(r"\x1b\[[0-9;?]*[A-Za-z]|[\r\n]", screen.getvalue())  # each render
    lines = [line.rstrip() for line in shown if line.strip()]
    assert lines and all(len(line) <= 80 for line in lines), lines
    assert any(line.startswith("computing the first chunk (12 frames) ") for line in lines)
    assert any(
        re.fullmatch(r"holiday\.mkv +12/1200 0\.44 fps 0:44:33 left", line) for line in lines
    )
