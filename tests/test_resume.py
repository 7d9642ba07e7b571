"""Long videos: pieces that survive SIGKILL, segments on several machines, `vsr join`.

A 0.48 s clip with pieces of 0.16 s (4 frames) stands for a film with pieces of 10 s.
The golden model is recurrent, so a piece's frames depend on the frames around it:
equal outputs mean the same frames were fed the same way.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from cli import vsr, vsr_upscale
from media import frame_times, make_clip, packets_of, read_frames

PIECE = ["--piece-seconds", "0.16", "--codec", "ffv1", "--chunk", "4", "--chunk-overlap", "2"]
FRAMES, PIECES = 12, 3


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume")
    return make_clip(
        folder / "in.mp4", pts=[40 * i for i in range(FRAMES)], options={"g": "12"}, title="ch"
    ).path


@pytest.fixture(scope="module")
def reference(source, golden_checkpoint, tmp_path_factory):
    """An uninterrupted run."""
    out = tmp_path_factory.mktemp("reference") / "out.mkv"
    result = vsr_upscale(source, out, "--weights", golden_checkpoint, *PIECE)
    assert result.returncode == 0, result.stderr
    assert not (out.parent / ".out.mkv.vsr-job").exists()
    return out


def _same_video(a, b) -> None:
    assert frame_times(a) == frame_times(b)
    for x, y in zip(read_frames(a), read_frames(b), strict=True):
        np.testing.assert_array_equal(x, y)
    assert packets_of(a, "audio") == packets_of(b, "audio")
    assert packets_of(a, "subtitle") == packets_of(b, "subtitle")


def _done_event(stderr: str) -> dict:
    return next(e for e in map(json.loads, stderr.splitlines()) if e["event"] == "done")


def test_sigkill_then_the_same_command_resumes(tmp_path, source, reference, golden_checkpoint):
    out = tmp_path / "out.mkv"
    job = tmp_path / ".out.mkv.vsr-job"
    command = [sys.executable, "-m", "vsr_cli", source, out, "--weights", golden_checkpoint,
               *PIECE, "--json"]  # fmt: skip
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while len(list(job.glob("piece-*.mkv"))) < 2 and run.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)
    run.wait()
    kept = {p.name: p.stat().st_mtime_ns for p in job.glob("piece-*.mkv")}
    assert 2 <= len(kept) < PIECES and not out.exists()
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    # Only the missing pieces were computed (4 frames each).
    assert _done_event(again.stderr)["frames"] == FRAMES // PIECES * (PIECES - len(kept))
    _same_video(out, reference)
    assert not job.exists()
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


def _segment(source, out, weights, k: int, n: int):
    return vsr_upscale(source, out, "--weights", weights, *PIECE, "--segment", f"{k}/{n}")


def test_segments_then_join_equal_the_single_run(tmp_path, source, reference, golden_checkpoint):
    out = tmp_path / "out.mkv"
    for k in (3, 1):
        result = _segment(source, out, golden_checkpoint, k, PIECES)
        assert result.returncode == 0, result.stderr
        assert "still to make" in result.stderr and not out.exists()
    early = vsr("join", out)
    assert early.returncode == 1 and "pieces are not made yet" in early.stderr
    last = _segment(source, out, golden_checkpoint, 2, PIECES)
    assert last.returncode == 0 and "every piece is made" in last.stderr
    joined = vsr("join", out)
    assert joined.returncode == 0, joined.stderr
    _same_video(out, reference)
    assert not (tmp_path / ".out.mkv.vsr-job").exists()


def test_plain_command_after_segments_only_joins(tmp_path, source, reference, golden_checkpoint):
    out = tmp_path / "out.mkv"
    for k in (1, 2):
        result = _segment(source, out, golden_checkpoint, k, 2)
        assert result.returncode == 0, result.stderr
    plain = vsr_upscale(source, out, "--weights", golden_checkpoint, *PIECE, "--json")
    assert plain.returncode == 0, plain.stderr
    assert _done_event(plain.stderr)["frames"] == 0
    _same_video(out, reference)


def test_changed_settings_or_input_never_mix(tmp_path, golden_checkpoint):
    source = make_clip(tmp_path / "in.mp4", pts=[40 * i for i in range(FRAMES)]).path
    out = tmp_path / "out.mkv"

    def run(*args: str):
        return vsr_upscale(source, out, "--weights", golden_checkpoint, *PIECE, *args)

    assert run("--segment", f"1/{PIECES}").returncode == 0
    # Another segment with other settings refuses to add to that job ...
    other = run("--segment", f"2/{PIECES}", "--chunk-overlap", "1")
    assert other.returncode == 1 and "other settings" in other.stderr
    # ... and a plain run with them starts over: every frame computed.
    changed = run("--chunk-overlap", "1", "--json")
    assert changed.returncode == 0, changed.stderr
    assert "starting over" in changed.stderr and _done_event(changed.stderr)["frames"] == FRAMES
    # The same settings, another file under the input's name: starts over.
    out.unlink()
    assert run("--segment", f"1/{PIECES}").returncode == 0
    make_clip(source, pts=[40 * i for i in range(FRAMES)], size=(96, 64))
    replaced = run("--json")
    assert replaced.returncode == 0, replaced.stderr
    assert "starting over" in replaced.stderr and _done_event(replaced.stderr)["frames"] == FRAMES
    assert read_frames(out)[0].shape == (256, 384, 3)
    # --no-resume: starts over without a word.
    out.unlink()
    assert run("--segment", f"1/{PIECES}").returncode == 0
    again = run("--no-resume", "--json")
    assert again.returncode == 0 and "starting over" not in again.stderr
    assert _done_event(again.stderr)["frames"] == FRAMES


def test_a_section_in_pieces_into_mp4_past_the_end(tmp_path, bilinear_checkpoint):
    """-t beyond the end, a section starting between keyframes, H.264 with B-frames into
    MP4: pieces joined like a direct run (the bilinear model treats frames alone)."""
    source = make_clip(tmp_path / "in.mp4", pts=[40 * i for i in range(50)],
                       options={"g": "12", "bf": "2"}).path  # fmt: skip
    common = ["--weights", bilinear_checkpoint, "--ss", "0.5", "-t", "30", "--json"]
    pieces, direct = tmp_path / "pieces.mp4", tmp_path / "direct.mp4"
    result = vsr_upscale(source, pieces, *common, "--piece-seconds", "0.4")
    assert result.returncode == 0, result.stderr
    assert _done_event(result.stderr)["frames"] == 37
    assert vsr_upscale(source, direct, *common).returncode == 0
    assert frame_times(pieces) == frame_times(direct)
    assert frame_times(pieces)[0] == 0 and len(frame_times(pieces)) == 37
    assert packets_of(pieces, "audio") == packets_of(direct, "audio")
    for a, b in zip(read_frames(pieces), read_frames(direct), strict=True):
        assert np.abs(a.astype(int) - b).mean() < 4  # both x264 at its default quality
