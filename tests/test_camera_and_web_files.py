"""Round four's files: raw DV from a camcorder, WebM with more than 8 bits, a selfie's
mirrored picture, MXF with its sound tracks, WebVTT into MP4, YUV4MPEG out. Each is made
with the ffmpeg CLI (or PyAV), run through the real command and read back."""

from __future__ import annotations

import json
import struct

import av
import numpy as np
import pytest
from cli import decoded_frames, upscale_file, vsr, warnings_in
from media import make_clip
from real_files import _audio, _video, ffmpeg

from vsr_cli.context import RunContext
from vsr_cli.events import CallbackReporter
from vsr_cli.video.reader import DecodedFrame, VideoReader


def _ok(result) -> None:
    assert result.returncode == 0, result.stderr


def test_raw_dv_is_whole_and_bottom_field_first(tmp_path):
    """Raw DV's stream says 60000 fps (its time base's tick): read as that, every DV file
    looked truncated. Its frames are interlaced bottom field first, as PAL and NTSC DV
    always are. (A 720x576 frame costs the CPU half a minute of model, so the real
    command's view is ``vsr info`` and its reader's, decoding the whole file.)"""
    src = tmp_path / "tape.dv"
    ffmpeg(*_video("720x576", 25, 0.2), "-c:v", "dvvideo", "-pix_fmt", "yuv420p", "-f", "dv", src)
    shown = vsr("info", src, "--json")
    assert shown.returncode == 0, shown.stderr
    facts = json.loads(shown.stdout)
    assert (facts["fps"], facts["interlaced"], facts["field_order"]) == (25.0, True, "bottom first")
    said: list[str] = []
    context = RunContext(CallbackReporter(None, said.append))
    with VideoReader(src, context=context, deinterlace="auto") as reader:
        frames = [item for item in reader.media(set()) if isinstance(item, DecodedFrame)]
    assert [round(f.time, 2) for f in frames] == [0.0, 0.04, 0.08, 0.12, 0.16]
    assert any("interlaced (bottom field first)" in w for w in said), said


def _webm_10bit(tmp_path):
    src = tmp_path / "deep.webm"
    ffmpeg(*_video(), "-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p10le", "-deadline", "realtime",
           "-cpu-used", "8", src)  # fmt: skip
    return src


def test_10_bit_webm_stays_10_bit(tmp_path, bilinear_checkpoint):
    """PyAV's libvpx-vp9 writes 8 bits only: a deeper WebM is written as AV1 (WebM holds
    it), and asking for VP9 anyway is said to lose the depth."""
    src = _webm_10bit(tmp_path)
    out = tmp_path / "out.webm"
    _ok(upscale_file(src, out, bilinear_checkpoint))
    with av.open(str(out)) as c:
        video = c.streams.video[0]
        assert (video.codec_context.codec.canonical_name, video.codec_context.pix_fmt) == (
            "av1",
            "yuv420p10le",
        )
    vp9 = tmp_path / "vp9.webm"
    result = upscale_file(src, vp9, bilinear_checkpoint, "--codec", "libvpx-vp9")
    _ok(result)
    assert any("10-bit; libvpx-vp9 writes 8-bit" in w for w in warnings_in(result))


def _matrix(path) -> tuple[int, ...]:
    with av.open(str(path)) as c:
        data = next(c.decode(video=0)).side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)
        return struct.unpack("=9i", bytes(data))


def test_a_mirrored_selfie_stays_mirrored(tmp_path, bilinear_checkpoint):
    """A front camera's mirror (-65536 0 0 / 0 65536 0) is no 180-degree turn."""
    clip = make_clip(tmp_path / "selfie.mp4", mirrored=True, audio=False, subtitle=None)
    assert _matrix(clip.path)[:5] == (-65536, 0, 0, 0, 65536)
    out = tmp_path / "out.mp4"
    _ok(upscale_file(clip.path, out, bilinear_checkpoint))
    assert _matrix(out) == _matrix(clip.path)
    shown = vsr("info", out, "--json")
    assert json.loads(shown.stdout)["mirrored"] is True, shown.stderr


def test_mxf_keeps_its_four_pcm_tracks(tmp_path, bilinear_checkpoint):
    """A broadcast OP1a MXF: MPEG-2 video and four mono PCM tracks."""
    src = tmp_path / "news.mxf"
    ffmpeg(*_video(), *_audio(), "-filter_complex", "[1:a]asplit=4[a][b][c][d]", "-map", "0:v",
           *(x for t in "abcd" for x in ("-map", f"[{t}]")), "-c:v", "mpeg2video",
           "-pix_fmt", "yuv422p", "-c:a", "pcm_s16le", "-f", "mxf", src)  # fmt: skip
    out = tmp_path / "out.mxf"
    result = upscale_file(src, out, bilinear_checkpoint)
    _ok(result)
    assert not [w for w in warnings_in(result) if "dropped" in w], result.stderr
    with av.open(str(out)) as c:
        tracks = [s for s in c.streams if s.type == "audio"]
        assert [s.codec_context.name for s in tracks] == ["pcm_s16le"] * 4
        samples = [f.samples for f in c.decode(tracks[0])]
    assert abs(sum(samples) - 0.48 * 48000) <= 48000 * 0.05


def test_webvtt_into_mp4_becomes_mov_text(tmp_path, bilinear_checkpoint):
    cues = "WEBVTT\n\n00:00:00.000 --> 00:00:00.300\n<v Bob>Tea &amp; <i>cake</i></v>\n"
    (tmp_path / "cues.vtt").write_text(cues)
    src = tmp_path / "talk.mkv"
    ffmpeg(*_video(), "-i", tmp_path / "cues.vtt", "-c:v", "libx264", "-preset", "ultrafast",
           "-c:s", "webvtt", src)  # fmt: skip
    out = tmp_path / "talk.mp4"
    result = upscale_file(src, out, bilinear_checkpoint)
    _ok(result)
    with av.open(str(out)) as c:
        subtitles = c.streams.subtitles[0]
        assert subtitles.codec_context.name == "mov_text"
        texts = [bytes(p)[2:] for p in c.demux(subtitles) if p.size]
    assert texts == [b"Tea & cake"]


@pytest.mark.parametrize(
    ("pix_fmt", "expected"),
    [("yuv420p", "yuv420p"), ("yuv420p10le", "yuv420p10le"), ("rgb24", "yuv444p")],
)
def test_yuv4mpeg_out(tmp_path, bilinear_checkpoint, pix_fmt, expected):
    """``.y4m`` is raw frames, as ffmpeg writes it, 10-bit too; it holds no RGB, so RGB
    goes 4:4:4."""
    src = tmp_path / "in.mkv"
    ffmpeg(*_video(), "-c:v", "ffv1", "-pix_fmt", pix_fmt, src)
    out = tmp_path / "out.y4m"
    _ok(upscale_file(src, out, bilinear_checkpoint))
    with av.open(str(out)) as c:
        video = c.streams.video[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("rawvideo", expected)
    assert decoded_frames(out) == 12


def test_a_transparent_gif_stays_transparent_and_true_to_colour(tmp_path, bilinear_checkpoint):
    """A sticker: opaque on its left half, transparent on its right. Out as GIF, each frame
    gets a palette of its own (within a few levels of a lossless output of the same run)
    and the transparent half stays transparent."""
    src = tmp_path / "sticker.gif"
    ffmpeg(*_video(rate=10), "-filter_complex",
           "format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,32),255,0)',split[a][b];"
           "[a]palettegen=reserve_transparent=1[p];[b][p]paletteuse=alpha_threshold=128",
           src)  # fmt: skip
    out, lossless = tmp_path / "out.gif", tmp_path / "lossless.mkv"
    result = upscale_file(src, out, bilinear_checkpoint)
    _ok(result)
    assert not warnings_in(result)[1:], result.stderr  # only "no GPU found"
    _ok(upscale_file(src, lossless, bilinear_checkpoint, "--codec", "ffv1", "--pix-fmt", "bgra"))
    for gif, truth in zip(_rgba(out), _rgba(lossless), strict=True):
        assert (gif[:, :120, 3] == 255).all() and (gif[:, 136:, 3] == 0).all()
        difference = np.abs(gif[:, :120, :3].astype(int) - truth[:, :120, :3]).mean()
        assert difference < 3, difference


def test_an_opaque_gif_has_no_alpha_to_lose(tmp_path, bilinear_checkpoint):
    src = tmp_path / "loop.gif"
    ffmpeg(*_video(rate=10), src)
    result = upscale_file(src, tmp_path / "loop.mp4", bilinear_checkpoint)
    _ok(result)
    assert not [w for w in warnings_in(result) if "alpha" in w], result.stderr


def _rgba(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgba") for f in c.decode(video=0)]
