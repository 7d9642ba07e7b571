"""Files people really have, made by ffmpeg itself: each comes out right (as ffprobe would
show it) or is refused in one line before the model runs, with nothing left behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import real_files
from cli import decoded_frames as _decoded_frames
from cli import upscale_file as _upscale
from cli import warnings_in as _warnings

pytestmark = pytest.mark.skipif(
    shutil.which("ffmpeg") is None and not os.environ.get("CI"),
    reason="needs the ffmpeg command-line tool to make the files (CI installs it)",
)


def _ok(result) -> None:
    assert result.returncode == 0, result.stderr


def _nothing_left(folder: Path, *keep: str) -> bool:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep) == []


def test_a_trimmed_mp4_with_an_edit_list(tmp_path, bilinear_checkpoint):
    """`ffmpeg -ss 0.2 -i a.mp4 -t 0.2 -c copy b.mp4`: the header counts packets that the
    edit list discards; every frame a player shows comes out, and none is called missing."""
    src = real_files.make_edit_list_mp4(tmp_path)
    with av.open(str(src)) as c:
        assert c.streams.video[0].frames > _decoded_frames(src)  # the trap
    result = _upscale(src, tmp_path / "out.mp4", bilinear_checkpoint)
    _ok(result)
    assert _decoded_frames(tmp_path / "out.mp4") == _decoded_frames(src)


def test_a_phone_mov_keeps_timecode_apple_tags_and_audio(tmp_path, bilinear_checkpoint):
    src = real_files.make_phone_mov(tmp_path)
    out = tmp_path / "out.mov"
    result = _upscale(src, out, bilinear_checkpoint)
    _ok(result)
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams].count("audio") == 1
        tags = dict(c.metadata)
        kinds = {s.codec_context.name if s.codec_context else s.type for s in c.streams}
    assert tags.get("com.apple.quicktime.make") == "Apple"
    assert tags.get("com.apple.quicktime.location.ISO6709") == "+48.8584+002.2945+035.000/"
    timecode_kept = "timecode" in tags or any("tmcd" in k or k == "data" for k in kinds)
    timecode_dropped = any("timecode" in w or "data stream" in w for w in _warnings(result))
    assert timecode_kept or timecode_dropped


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_an_action_cam_data_track_is_kept_or_dropped_with_a_warning(
    tmp_path, bilinear_checkpoint, suffix
):
    src = real_files.make_data_track_mp4(tmp_path)
    out = tmp_path / f"out{suffix}"
    result = _upscale(src, out, bilinear_checkpoint)
    _ok(result)
    with av.open(str(out)) as c:
        has_data = any(s.type == "data" for s in c.streams)
        assert any(s.type == "audio" for s in c.streams)
    if not has_data:
        assert any("dropped data stream #2" in w for w in _warnings(result)), result.stderr


@pytest.mark.parametrize(("wide", "sar"), [(True, Fraction(32, 27)), (False, Fraction(8, 9))])
def test_anamorphic_dvd_video_keeps_its_shape(tmp_path, bilinear_checkpoint, wide, sar):
    src = real_files.make_dvd_mpeg2(tmp_path, wide)
    out = tmp_path / "out.mkv"
    _ok(_upscale(src, out, bilinear_checkpoint))
    with av.open(str(out)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.width, cc.height) == (384, 256)
        assert cc.sample_aspect_ratio == sar
        assert any(s.type == "audio" for s in c.streams)


def _combing(path: Path) -> float:
    """Mean difference between neighbouring lines minus that between lines two apart:
    high where the two fields of a frame disagree (combing)."""
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
    y = frames[len(frames) // 2].to_ndarray(format="gray").astype(float)
    return float(abs(y[1:-1] - y[:-2]).mean() - abs(y[2:] - y[:-2]).mean() / 2)


def test_interlaced_video_is_deinterlaced_by_default(tmp_path, bilinear_checkpoint):
    src = real_files.make_interlaced(tmp_path)
    out = tmp_path / "out.mkv"
    result = _upscale(src, out, bilinear_checkpoint)
    _ok(result)
    assert any("interlaced" in w and "bwdif" in w for w in _warnings(result)), result.stderr
    with av.open(str(src)) as a, av.open(str(out)) as b:  # every frame, at its time
        assert [round(f.time, 3) for f in a.decode(video=0)] == [
            round(f.time, 3) for f in b.decode(video=0)
        ]

    kept = tmp_path / "kept.mkv"
    _ok(_upscale(src, kept, bilinear_checkpoint, "--deinterlace", "off"))
    assert _combing(out) < _combing(kept)


def test_field_mode_doubles_the_frame_rate(tmp_path, bilinear_checkpoint):
    src = real_files.make_interlaced(tmp_path, "mpeg2")
    out = tmp_path / "out.mkv"
    _ok(_upscale(src, out, bilinear_checkpoint, "--deinterlace", "field"))
    frames = _decoded_frames(src)
    assert _decoded_frames(out) in (2 * frames, 2 * frames - 1)
    with av.open(str(out)) as c:
        times = [float(f.time) for f in c.decode(video=0)]
    steps = {round(b - a, 3) for a, b in zip(times, times[1:])}
    assert steps == {0.02}  # 50 fields a second, evenly spaced


@pytest.mark.parametrize("suffix", [".mp3", ".m4a"])
def test_a_song_with_cover_art_is_not_a_video(tmp_path, bilinear_checkpoint, suffix):
    src = real_files.make_audio_with_cover(tmp_path, suffix)
    result = _upscale(src, tmp_path / "out.mp4", bilinear_checkpoint)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].endswith("no video stream (only cover art)")
    assert _nothing_left(tmp_path, src.name)


def test_cover_art_beside_a_video_is_kept_as_cover_art(tmp_path, bilinear_checkpoint):
    src = real_files.make_video_with_cover(tmp_path)
    with av.open(str(src)) as c:
        cover = next(bytes(p) for p in c.demux(c.streams[1]) if p.size)
    for suffix in (".mkv", ".mp4"):
        out = tmp_path / f"out{suffix}"
        _ok(_upscale(src, out, bilinear_checkpoint))
        with av.open(str(out)) as c:
            video, art = c.streams.video
            assert (video.codec_context.width, video.codec_context.height) == (256, 256)
            assert art.disposition & av.stream.Disposition.attached_pic
            assert next(bytes(p) for p in c.demux(art) if p.size) == cover  # not re-encoded


def test_names_with_brackets_are_printed_literally(tmp_path, bilinear_checkpoint):
    first, second = real_files.make_bracket_names(tmp_path)
    out = tmp_path / "up [4k].mkv"
    _ok(_upscale(first, out, bilinear_checkpoint))
    assert out.exists()
    missing = tmp_path / "[/x] gone [red].mp4"
    result = _upscale(missing, tmp_path / "o.mkv", bilinear_checkpoint)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {missing}: no such file"
    batch = _upscale(second.parent, tmp_path / "batch [/x]", bilinear_checkpoint)
    _ok(batch)
    assert (tmp_path / "batch [/x]" / "x].mp4").exists()


def test_dvd_bitmap_subtitles_stay_in_mkv(tmp_path, bilinear_checkpoint):
    src = real_files.make_dvdsub_mkv(tmp_path)
    out = tmp_path / "out.mkv"
    _ok(_upscale(src, out, bilinear_checkpoint))
    with av.open(str(out)) as c:
        subs = [s for s in c.streams if s.type == "subtitle"]
        assert [s.codec_context.name for s in subs] == ["dvdsub"]
        assert subs[0].metadata.get("language") == "eng"


def test_ass_subtitles_into_mp4_become_mov_text(tmp_path, bilinear_checkpoint):
    src = real_files.make_ass_mkv(tmp_path)
    out = tmp_path / "out.mp4"
    result = _upscale(src, out, bilinear_checkpoint)
    _ok(result)
    with av.open(str(out)) as c:
        subs = [s for s in c.streams if s.type == "subtitle"]
        assert [s.codec_context.name for s in subs] == ["mov_text"]
        payloads = [bytes(p) for p in c.demux(subs[0]) if p.size]
    assert any(b"Hello, world" in p for p in payloads)  # text kept, ASS override tags gone
    assert not any(b"\\i1" in p for p in payloads)


def test_mov_text_into_mp4_and_mkv(tmp_path, bilinear_checkpoint):
    src = real_files.make_mov_text_mp4(tmp_path)
    for suffix, codecs in ((".mp4", {"mov_text"}), (".mkv", {"srt", "subrip"})):
        out = tmp_path / f"out{suffix}"
        _ok(_upscale(src, out, bilinear_checkpoint))
        with av.open(str(out)) as c:
            (sub,) = [s for s in c.streams if s.type == "subtitle"]
            assert sub.codec_context.name in codecs
            assert any(b"Hello, world" in bytes(p) for p in c.demux(sub) if p.size)


def test_latin1_tags_do_not_stop_the_file(tmp_path, bilinear_checkpoint):
    src = real_files.make_latin1_tags(tmp_path)
    out = tmp_path / "out.mkv"
    _ok(_upscale(src, out, bilinear_checkpoint))
    with av.open(str(out), metadata_errors="replace") as c:
        tags = {k.lower(): v for k, v in c.metadata.items()}
    assert tags["artist"].startswith("Bj") and tags["artist"].endswith("rk")


def test_a_size_change_mid_stream_is_resized_to_the_first(tmp_path, bilinear_checkpoint):
    src = real_files.make_size_change_ts(tmp_path)
    out = tmp_path / "out.mkv"
    result = _upscale(src, out, bilinear_checkpoint)
    _ok(result)
    assert any("frame size changes mid-stream" in w for w in _warnings(result))
    with av.open(str(out)) as c:
        sizes = {(f.width, f.height) for f in c.decode(video=0)}
    assert sizes == {(256, 256)}
    assert _decoded_frames(out) == _decoded_frames(src)


def test_h264_with_b_frames_in_avi(tmp_path, bilinear_checkpoint):
    src = real_files.make_h264_avi(tmp_path)
    out = tmp_path / "out.mkv"
    _ok(_upscale(src, out, bilinear_checkpoint))
    assert _decoded_frames(out) == _decoded_frames(src)
    with av.open(str(out)) as c:
        times = [f.time for f in c.decode(video=0)]
    assert times == sorted(times) and len(set(times)) == len(times)


def test_prores_4444_stays_444_and_keeps_alpha_where_the_encoder_can(tmp_path, bilinear_checkpoint):
    src = real_files.make_prores4444_mov(tmp_path)
    out = tmp_path / "out.mkv"
    result = _upscale(src, out, bilinear_checkpoint)
    _ok(result)
    assert any("alpha" in w for w in _warnings(result)), result.stderr
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv444p10le"
    master = tmp_path / "out.mov"
    _ok(_upscale(src, master, bilinear_checkpoint, "--codec", "prores_ks"))
    with av.open(str(master)) as c:
        frame = next(c.decode(video=0))
    assert frame.format.name.startswith("yuva444p")


def _alpha_planes(path: Path) -> list:
    """Alpha of each frame, decoded as players do (libvpx reads WebM's alpha side data)."""
    with av.open(str(path)) as c:
        video = c.streams.video[0]
        libvpx = {"vp8": "libvpx", "vp9": "libvpx-vp9"}.get(video.codec_context.name)
        decoder = av.CodecContext.create(libvpx, "r") if libvpx else video.codec_context
        frames = [f for p in c.demux(video) for f in decoder.decode(p if p.size else None)]
    return [f.to_ndarray(format="rgba")[..., 3] for f in frames]


@pytest.mark.parametrize("codec", ["libvpx-vp9", "libvpx"])
def test_webm_alpha_is_upscaled_with_the_picture(tmp_path, bilinear_checkpoint, codec):
    """VP9 and VP8: the test clip is opaque on its left half and 25% opaque on its right."""
    src = real_files.make_alpha_webm(tmp_path, codec)
    out = tmp_path / "out.webm"
    result = _upscale(src, out, bilinear_checkpoint)
    _ok(result)
    assert not _warnings(result)[1:], result.stderr  # only "no GPU found"
    planes = _alpha_planes(out)
    assert len(planes) == len(_alpha_planes(src))
    assert planes[0].shape == (256, 256)
    left, right = planes[0][:, :120].mean(), planes[0][:, 136:].mean()
    assert left > 250 and 55 < right < 75

    flat = tmp_path / "flat.mp4"  # H.264 has no alpha: said, and not claimed
    result = _upscale(src, flat, bilinear_checkpoint)
    _ok(result)
    assert any("alpha plane (transparency) is dropped" in w for w in _warnings(result))
    with av.open(str(flat)) as c:
        assert "alpha_mode" not in {k.lower() for k in c.streams.video[0].metadata}


def test_webm_and_gif_outputs_pick_their_own_encoder(tmp_path, bilinear_checkpoint):
    src = real_files.make_latin1_tags(tmp_path)
    for suffix, codec in ((".webm", "vp9"), (".gif", "gif")):
        out = tmp_path / f"out{suffix}"
        _ok(_upscale(src, out, bilinear_checkpoint))
        with av.open(str(out)) as c:
            assert c.streams.video[0].codec_context.name == codec


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("suffix", "codec", "expected"),
    [(".mkv", None, "hevc"), (".mp4", None, "hevc"), (".mkv", "libsvtav1", "av1")],
)
def test_hdr10_keeps_its_tags_and_light_levels(
    tmp_path, bilinear_checkpoint, suffix, codec, expected
):
    """By default (libx265 for an HDR input) and with SVT-AV1: both carry the mastering
    display and light levels, which libx264 can't."""
    src = real_files.make_hdr10_hevc(tmp_path, suffix)
    out = tmp_path / f"out{suffix}"
    result = _upscale(src, out, bilinear_checkpoint, *(["--codec", codec] if codec else []))
    _ok(result)
    assert [line for line in result.stderr.splitlines() if "no GPU" not in line] == []
    with av.open(str(out)) as c:
        cc = c.streams.video[0].codec_context
        assert cc.codec.canonical_name == expected  # the decoder may be libdav1d
        assert cc.pix_fmt == "yuv420p10le"
        assert (int(cc.color_primaries), int(cc.color_trc), int(cc.colorspace)) == (9, 16, 9)
        frame = next(c.decode(video=0))
        kinds = {str(getattr(sd, "type", sd)).lower() for sd in frame.side_data}
    assert any("mastering" in k for k in kinds), kinds
    assert any("light" in k for k in kinds), kinds


def test_an_mp4_with_chapters_can_be_upscaled_again(tmp_path, bilinear_checkpoint):
    src = real_files.make_chapters_mp4(tmp_path)
    once, twice = tmp_path / "once.mp4", tmp_path / "twice.mp4"
    _ok(_upscale(src, once, bilinear_checkpoint, "--scale", "2"))
    _ok(_upscale(once, twice, bilinear_checkpoint, "--scale", "2"))
    with av.open(str(twice)) as c:
        assert [ch["metadata"].get("title") for ch in c.chapters()] == ["Opening", "Ending"]


def test_a_closed_stdout_ends_quietly(tmp_path, bilinear_checkpoint):
    src = real_files.make_latin1_tags(tmp_path)
    command = (
        f"{sys.executable} -m vsr_cli {src} - --format matroska --weights "
        f"{bilinear_checkpoint} --codec ffv1 -q | head -c 1000 > /dev/null; "
        "echo ${PIPESTATUS[0]}"
    )
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip() == "1"
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert lines == ["error: the output pipe was closed before the video was complete"]


def test_unwritable_places_fail_before_any_work(tmp_path, bilinear_checkpoint):
    src = real_files.make_latin1_tags(tmp_path)
    long_name = tmp_path / ("x" * 260 + ".mkv")
    result = _upscale(src, long_name, bilinear_checkpoint)
    assert result.returncode == 1
    assert "file name longer than 255 bytes" in result.stderr.strip().splitlines()[-1]
    assert _nothing_left(tmp_path, src.name)
    # 254 bytes is allowed, though the temporary name beside it must then be shorter.
    longest = tmp_path / ("x" * 250 + ".mkv")
    _ok(_upscale(src, longest, bilinear_checkpoint))
    assert _nothing_left(tmp_path, src.name, longest.name)


def test_a_ts_cut_mid_gop(tmp_path, bilinear_checkpoint):
    """Frames before the first keyframe can't be decoded; what the decoder gives comes out,
    with no claim that the file is truncated."""
    src = real_files.make_mid_gop_ts(tmp_path)
    out = tmp_path / "out.mkv"
    _ok(_upscale(src, out, bilinear_checkpoint))
    assert _decoded_frames(out) == _decoded_frames(src) > 0


def test_gray_full_range_and_rgb_sources(tmp_path, bilinear_checkpoint):
    """Each keeps its look: gray stays gray, full-range JPEG colour stays full range (no
    washed-out blacks), RGB comes out as YUV without a colour shift."""
    for src in real_files.make_odd_formats(tmp_path):
        out = tmp_path / f"up_{src.stem}.mkv"
        _ok(_upscale(src, out, bilinear_checkpoint))
        with av.open(str(src)) as c:
            first_in = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(float)
        with av.open(str(out)) as c:
            frame = next(c.decode(video=0))
            first_out = frame.to_ndarray(format="rgb24").astype(float)
        # Same levels: a range or matrix mistake moves the darkest and brightest parts and
        # the average (sharp test-pattern edges make a per-pixel comparison meaningless).
        for q in (1, 50, 99):
            assert abs(np.percentile(first_out, q) - np.percentile(first_in, q)) <= 6, src.name
        assert abs(first_out.mean(axis=(0, 1)) - first_in.mean(axis=(0, 1))).max() < 3
        if src.stem == "gray":  # no colour creeps in
            assert abs(first_out[..., 0] - first_out[..., 2]).max() <= 2
