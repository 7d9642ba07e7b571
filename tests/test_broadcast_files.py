"""Broadcast and recorder files (real files, round three): DVB captures, joined and
restarted recordings, late video, Ogg Theora, interlaced MPEG-2 in TS, HDR, and a frame
too wide for the encoder. Each comes out right, or is refused in one line that says what
to do, before the model runs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest
import real_files
from cli import decoded_frames, upscale_file

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None and not os.environ.get("CI"),
    reason="needs the ffmpeg command-line tool to make the files (CI installs it)",
)


def _ok(result: subprocess.CompletedProcess) -> list[str]:
    """The run's warnings, past the one about running on the CPU."""
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "no GPU" not in line]
    assert all(line.startswith("warning:") for line in lines), result.stderr
    return lines


def _streams(path: Path) -> list[tuple[str, str, str | None]]:
    with av.open(str(path)) as c:
        return [(s.type, s.codec_context.name, s.metadata.get("language")) for s in c.streams]


def _audio(path: Path) -> list[bytes]:
    """The first audio stream's packets, without the ADTS header MPEG-TS puts on AAC: the
    same for a copy, different after re-encoding."""
    with av.open(str(path)) as c:
        payloads = [bytes(p) for p in c.demux(audio=0) if p.size]
    return [
        b[7 if b[1] & 1 else 9 :] if b[:2] in (b"\xff\xf1", b"\xff\xf9") else b for b in payloads
    ]


def _packets(path: Path, kind: str) -> int:
    with av.open(str(path)) as c:
        stream = next(s for s in c.streams if s.type == kind)
        return sum(1 for p in c.demux(stream) if p.size)


def _times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(f.time) for f in c.decode(video=0)]


@pytest.mark.parametrize(
    ("timed_clear", "suffix"), [(True, ".mkv"), (False, ".mkv"), (False, ".ts")]
)
def test_dvb_subtitles_are_kept_in_mkv_and_ts(tmp_path, bilinear_checkpoint, timed_clear, suffix):
    """A DVB capture's bitmap subtitles, audio and language come through a copy; where the
    clearing packet is timed before the showing one (decode times going backwards) it is
    moved forward with one warning naming the stream, never a bare "Invalid argument"."""
    src = real_files.make_dvb_ts(tmp_path, timed_clear)
    out = tmp_path / f"out{suffix}"
    warnings = _ok(upscale_file(src, out, bilinear_checkpoint))
    assert [kind for kind, _, _ in _streams(out)] == ["video", "audio", "subtitle"]
    assert _streams(out)[1:] == _streams(src)[1:]  # mp2, and dvbsub in German
    assert _packets(out, "subtitle") == _packets(src, "subtitle") == 2
    assert _audio(out) == _audio(src)
    assert decoded_frames(out) == decoded_frames(src)
    expected = [] if timed_clear else ["subtitle stream #2 (dvbsub): timestamps go backwards"]
    assert [w for w in warnings if not any(e in w for e in expected)] == []
    assert len(warnings) == len(expected)  # and no interlacing claimed of progressive MPEG-2


def test_streams_a_container_cannot_hold_are_dropped_by_name(tmp_path, bilinear_checkpoint):
    """DVB bitmaps into MP4, ASS into MPEG-TS (which would store it as unlabelled data): each
    dropped with a warning naming the stream and the reason, the audio still a copy."""
    cases = [(real_files.make_dvb_ts(tmp_path), "out.mp4", "subtitle stream #2 (dvbsub)"),
             (real_files.make_ass_mkv(tmp_path), "out.ts", "subtitle stream #2 (ssa)")]  # fmt: skip
    for src, name, stream in cases:
        out = tmp_path / name
        warnings = _ok(upscale_file(src, out, bilinear_checkpoint))
        assert len(warnings) == 1, warnings
        assert f"dropped {stream}" in warnings[0] and "an .mkv output keeps it" in warnings[0]
        assert [kind for kind, _, _ in _streams(out)] == ["video", "audio"]
        assert _audio(out) == _audio(src)


@pytest.mark.parametrize("restart", [False, True])
def test_joined_recordings(tmp_path, bilinear_checkpoint, restart):
    """Two recordings joined with ``cat``: the second at another size (resized to the first)
    with its audio overlapping the first's, or with timestamps starting again (moved to
    follow the first, as ffmpeg does). Every frame, in order, and every audio sample."""
    src = real_files.make_joined_ts(tmp_path, restart)
    out = tmp_path / "out.mkv"
    warnings = _ok(upscale_file(src, out, bilinear_checkpoint))
    assert any("frame size changes mid-stream" in w for w in warnings)
    assert any("audio stream #1 (aac): timestamps go backwards" in w for w in warnings)
    assert any("timestamps start again" in w for w in warnings) == restart
    times = _times(out)
    assert len(times) == decoded_frames(src) == 12
    if restart:  # the second part follows the first, a frame on
        assert np.allclose(np.diff(times), 1 / real_files.RATE, atol=2e-3)
    else:  # the times it has
        assert np.allclose(times, _times(src), atol=2e-3) and min(np.diff(times)) > 0
    assert _audio(out) == _audio(src)
    with av.open(str(out)) as c:
        assert {(f.width, f.height) for f in c.decode(video=0)} == {(256, 256)}


@pytest.mark.parametrize("piece_seconds", ["10", "0.1"])
def test_a_recorder_restarted_ten_minutes_later_keeps_its_gap(
    tmp_path, bilinear_checkpoint, piece_seconds
):
    """Six frames, then six more 600 s on: twelve frames come out with the gap where it was,
    written directly or in pieces (planned where the frames are, not over ten minutes of
    nothing), and no job folder is left."""
    src = real_files.make_gap_ts(tmp_path)
    out = tmp_path / "out.mkv"
    _ok(upscale_file(src, out, bilinear_checkpoint, "--piece-seconds", piece_seconds))
    assert np.allclose(_times(out), _times(src), atol=2e-3)
    assert 599 < _times(out)[6] - _times(out)[5] < 601
    assert _audio(out) == _audio(src)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gap.ts", "out.mkv"]


def test_video_that_starts_after_its_audio_is_not_called_truncated(tmp_path, bilinear_checkpoint):
    """Matroska's duration is its longest stream's (the audio, 1 s); the video, 0.4 s late,
    ends at 0.64 s, and that is complete."""
    src = real_files.make_late_video_mkv(tmp_path)
    out = tmp_path / "out.mkv"
    assert _ok(upscale_file(src, out, bilinear_checkpoint)) == []
    assert np.allclose(_times(out), _times(src), atol=2e-3)
    assert _times(out)[0] > 0.39
    assert _audio(out) == _audio(src)


def test_ogg_theora_with_repeated_frames(tmp_path, bilinear_checkpoint):
    """libtheora codes a repeated frame as an empty packet: every coded frame comes out at
    its time (the repeats are the frames' durations), and the Vorbis audio is copied."""
    src = real_files.make_theora_ogv(tmp_path)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", src],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = tmp_path / "out.mkv"
    assert _ok(upscale_file(src, out, bilinear_checkpoint)) == []
    times = _times(out)
    assert len(times) == int(probe.stdout) == 5
    assert times[:2] == [0.0, 0.2] and times[-1] == pytest.approx(0.48)
    assert [codec for _, codec, _ in _streams(out)] == ["h264", "vorbis"]
    assert _audio(out) == _audio(src)


@pytest.mark.parametrize("flagged", [True, False])
def test_interlaced_mpeg2_in_ts_is_found_and_deinterlaced(tmp_path, bilinear_checkpoint, flagged):
    """Broadcast MPEG-2 (top field first, AC-3): found from the stream's field order when it
    is coded as fields, and by looking at the pictures (as ffmpeg's idet) when it is coded
    as progressive frames; deinterlaced either way, one frame per frame."""
    src = real_files.make_interlaced_mpeg2_ts(tmp_path, flagged)
    out = tmp_path / "out.mkv"
    warnings = _ok(upscale_file(src, out, bilinear_checkpoint))
    assert len(warnings) == 1 and "top field first" in warnings[0], warnings
    assert "deinterlaced with bwdif" in warnings[0]
    assert ("not flagged" in warnings[0]) != flagged
    assert np.allclose(_times(out), _times(src), atol=2e-3)  # frames, and where they are
    assert [codec for _, codec, _ in _streams(out)] == ["h264", "ac3"]


def test_hdr_input_defaults_to_an_encoder_that_keeps_hdr(tmp_path, bilinear_checkpoint):
    """HLG (broadcast HDR) is written with libx265 too, its transfer kept; an encoder chosen
    that can't carry HDR10's mastering display and light levels costs one warning."""
    hlg = real_files.make_hdr10_hevc(tmp_path, ".mkv", hlg=True)
    out = tmp_path / "hlg.mp4"
    assert _ok(upscale_file(hlg, out, bilinear_checkpoint)) == []
    with av.open(str(out)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.name, cc.pix_fmt, int(cc.color_trc)) == ("hevc", "yuv420p10le", 18)
    hdr10 = real_files.make_hdr10_hevc(tmp_path, ".mkv")
    out = tmp_path / "x264.mkv"
    warnings = _ok(upscale_file(hdr10, out, bilinear_checkpoint, "--codec", "libx264"))
    assert len(warnings) == 1 and "metadata is lost: libx264 cannot write it" in warnings[0]
    with av.open(str(out)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.pix_fmt, int(cc.color_primaries), int(cc.color_trc)) == ("yuv420p10le", 9, 16)


def test_a_frame_too_wide_for_the_encoder_says_the_largest_it_takes(tmp_path, bilinear_checkpoint):
    """4097x2 at x4 is 16388 px wide, past H.264's 16384: one line naming the encoder, the
    size and the limit, before the model runs; nothing is left behind."""
    src = real_files.make_wide_strip(tmp_path)
    result = upscale_file(src, tmp_path / "out.mp4", bilinear_checkpoint)
    assert result.returncode == 1
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error == [
        f"error: {tmp_path / 'out.mp4'}: the encoder libx264 cannot open a frame of 16388x8 "
        "(invalid width x height (16388x8)): it takes at most 16384 px wide; a smaller "
        "--scale or another --codec may fit"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["strip.mkv"]


def test_a_concat_input_reads_split_recordings_as_one(tmp_path, bilinear_checkpoint):
    """``concat:a.ts|b.ts``, ffmpeg's way to read a recording split into files as one: the
    same frames, times and sound as the parts joined by ``cat``, in resumable pieces too;
    a missing part is named."""
    parts = [real_files._ts_part(tmp_path, name, real_files.SIZE, 6, offset)
             for name, offset in (("a.ts", 0.0), ("b.ts", 6 / real_files.RATE))]  # fmt: skip
    joined = tmp_path / "joined.ts"
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    concat = f"concat:{parts[0]}|{parts[1]}"
    out, reference = tmp_path / "out.mkv", tmp_path / "reference.mkv"
    _ok(upscale_file(concat, out, bilinear_checkpoint, "--piece-seconds", "0.16"))
    _ok(upscale_file(joined, reference, bilinear_checkpoint))
    assert len(_times(out)) == 12 and _times(out) == _times(reference)
    assert _audio(out) == _audio(reference)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["a.ts", "b.ts", "joined.ts", "out.mkv", "reference.mkv"]
    )
    missing = upscale_file(f"concat:{parts[0]}|{tmp_path / 'c.ts'}", tmp_path / "x.mkv",
                           bilinear_checkpoint)  # fmt: skip
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1] == (
        f"error: {tmp_path / 'c.ts'}: no such file (in concat:{parts[0]}|{tmp_path / 'c.ts'})"
    )
