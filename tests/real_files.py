"""Tiny files shaped like the ones people really feed an upscaler, made with the ffmpeg CLI.

Each ``make_X(dir)`` writes one small file (64 px minimum side, at most 12 frames, under a
second) into ``dir`` and returns its path. They need the ``ffmpeg`` command-line tool on
PATH (``apt-get install ffmpeg``) and fail loudly without it. PyAV is not used to make them,
on purpose: these files should carry what ffmpeg's muxers and encoders really write.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

SIZE = "64x64"
RATE = 25
FRAMES = 12  # 0.48 s at 25 fps
SECONDS = FRAMES / RATE


def ffmpeg(*args: str | bytes | Path) -> None:
    """Run ``ffmpeg -y ARGS`` quietly; raise with ffmpeg's own message when it fails."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise RuntimeError("the ffmpeg command-line tool is needed to make these files")
    cmd = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    cmd += [a if isinstance(a, bytes) else str(a) for a in args]
    result = subprocess.run(cmd, capture_output=True)
    if result.returncode != 0:
        shown = " ".join(os.fsdecode(a) for a in cmd)
        message = result.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"{shown}\nfailed ({result.returncode}): {message}")


def _video(size: str = SIZE, rate: int = RATE, seconds: float = SECONDS) -> list[str]:
    """A moving test pattern (lavfi testsrc2) as input."""
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]


def _audio(seconds: float = SECONDS, rate: int = 48000) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={rate}:duration={seconds}"]


X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


@contextlib.contextmanager
def _side_file(path: Path, content: str | bytes) -> Iterator[Path]:
    """A file an ffmpeg command reads (subtitles, chapters, raw data), gone afterwards."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


# 1 -------------------------------------------------------------------------------------
def make_edit_list_mp4(dir: Path) -> Path:
    """An MP4 cut with stream copy (``ffmpeg -ss 0.2 -i a.mp4 -t 0.2 -c copy b.mp4``) as
    people trim clips without re-encoding: the cut starts between keyframes, so the file
    keeps the GOP's earlier packets and an edit list tells players to skip them;
    ``stream.frames`` counts those packets, though the decoder discards their frames."""
    source = dir / "edit_list_source.mp4"
    # One keyframe, B-frames: the cut cannot start on a keyframe.
    ffmpeg(
        *_video(seconds=0.6),
        "-c:v",
        "libx264",
        "-preset",
        "medium",
        "-bf",
        "3",
        "-g",
        "250",
        "-pix_fmt",
        "yuv420p",
        source,
    )
    out = dir / "edit_list.mp4"
    ffmpeg("-ss", "0.2", "-i", source, "-t", "0.2", "-c", "copy", out)
    source.unlink()
    return out


# 2 -------------------------------------------------------------------------------------
def make_phone_mov(dir: Path) -> Path:
    """An iPhone-style .mov: H.264 + AAC, a timecode (tmcd) data track, and Apple's
    QuickTime metadata keys (make, model, ISO 6709 location) in the ``mdta`` key list."""
    out = dir / "IMG_0001.MOV"
    ffmpeg(
        *_video(),
        *_audio(seconds=SECONDS, rate=44100),
        *X264,
        "-c:a",
        "aac",
        "-timecode",
        "01:02:03:04",
        "-metadata",
        "com.apple.quicktime.make=Apple",
        "-metadata",
        "com.apple.quicktime.model=iPhone 12",
        "-metadata",
        "com.apple.quicktime.software=16.1",
        "-metadata",
        "com.apple.quicktime.location.ISO6709=+48.8584+002.2945+035.000/",
        "-metadata",
        "com.apple.quicktime.creationdate=2023-05-01T12:00:00+0200",
        "-movflags",
        "use_metadata_tags",
        out,
    )
    return out


# 3 -------------------------------------------------------------------------------------
def make_data_track_mp4(dir: Path) -> Path:
    """An action-cam-style MP4 (GoPro): video, audio, and a binary telemetry track
    tagged ``gpmd`` with handler "GoPro MET" (timed packets no decoder understands). ffmpeg
    gets a ``bin_data`` stream from a raw blob by way of an MPEG-TS private-data stream."""
    carrier = dir / "telemetry.ts"
    # Packets of 256 bytes, one every 0.1 s (GoPro writes one per second), each 0.1 s long.
    with _side_file(dir / "telemetry.bin", bytes(range(256)) * 4) as blob:
        ffmpeg(
            "-raw_packet_size",
            "256",
            "-f",
            "data",
            "-i",
            blob,
            "-map",
            "0",
            "-c",
            "copy",
            "-bsf:d",
            "setts=ts=N*9000:duration=9000",
            "-f",
            "mpegts",
            carrier,
        )
    out = dir / "GX010001.MP4"
    ffmpeg(
        *_video(),
        *_audio(),
        "-i",
        carrier,
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-map",
        "2:d",
        *X264,
        "-c:a",
        "aac",
        "-c:d",
        "copy",
        "-tag:d",
        "gpmd",
        "-metadata:s:d",
        "handler_name=GoPro MET",
        out,
    )
    carrier.unlink()
    return out


# 4 -------------------------------------------------------------------------------------
def make_dvd_mpeg2(dir: Path, wide: bool = True) -> Path:
    """A DVD-like anamorphic MPEG-2 program stream (.mpg) with MP2 audio: 720x480 NTSC
    scaled to 96x64 keeping the DVD sample aspect ratio, 32:27 with the 16:9 flag
    (``wide``) or 8:9 with the 4:3 flag."""
    sar, dar = ("32/27", "16:9") if wide else ("8/9", "4:3")
    out = dir / ("dvd_16x9.mpg" if wide else "dvd_4x3.mpg")
    ffmpeg(
        *_video(size="96x64"),
        *_audio(),
        "-vf",
        f"setsar={sar}",
        "-aspect",
        dar,
        "-c:v",
        "mpeg2video",
        "-pix_fmt",
        "yuv420p",
        "-b:v",
        "800k",
        "-c:a",
        "mp2",
        "-f",
        "vob",
        out,
    )
    return out


# 5 -------------------------------------------------------------------------------------
def make_interlaced(dir: Path, codec: str = "h264") -> Path:
    """Interlaced camcorder/broadcast video, top field first, with visible combing:
    50 fields/s of a moving pattern woven into 25 frames/s, coded as fields
    (``-flags +ilme+ildct``): H.264 (MBAFF, as AVCHD) in .mp4, or MPEG-2 in .mpg."""
    # A white bar sweeping 5 px per field: the two fields of each frame disagree on it.
    weave = (
        "color=c=white:size=8x48:rate=50[bar];[0:v][bar]overlay=x='mod(n*5,56)':y=8:"
        "shortest=1,interlace=scan=tff:lowpass=0,setfield=tff"
    )
    if codec == "h264":
        out = dir / "interlaced_h264.mp4"
        enc = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    else:
        out = dir / "interlaced_mpeg2.mpg"
        enc = ["-c:v", "mpeg2video", "-b:v", "800k", "-top", "1"]
    ffmpeg(
        *_video(rate=2 * RATE),
        "-filter_complex",
        weave,
        *enc,
        "-flags",
        "+ilme+ildct",
        "-field_order",
        "tt",
        out,
    )
    return out


# 6 -------------------------------------------------------------------------------------
def make_audio_with_cover(dir: Path, suffix: str = ".mp3") -> Path:
    """A music file (.mp3 with ID3v2 APIC, or .m4a with ``covr``) whose only "video"
    stream is the album art: one JPEG/PNG picture with the attached_pic disposition."""
    cover = ["-f", "lavfi", "-i", "color=c=orange:size=64x64:duration=0.04,format=yuvj420p"]
    out = dir / f"song{suffix}"
    audio = ["-c:a", "libmp3lame", "-id3v2_version", "3"] if suffix == ".mp3" else ["-c:a", "aac"]
    pic = "mjpeg" if suffix == ".mp3" else "png"
    ffmpeg(
        *_audio(seconds=0.8, rate=44100),
        *cover,
        "-map",
        "0:a",
        "-map",
        "1:v",
        *audio,
        "-c:v",
        pic,
        "-frames:v",
        "1",
        "-disposition:v",
        "attached_pic",
        "-metadata",
        "title=Song",
        "-metadata",
        "artist=Band",
        out,
    )
    return out


def make_video_with_cover(dir: Path) -> Path:
    """A downloaded episode or music video with a thumbnail: H.264 plus a JPEG cover
    (attached_pic), the cover stream listed second."""
    out = dir / "episode_with_thumbnail.mp4"
    thumb = ["-f", "lavfi", "-i", "color=c=orange:size=64x64:duration=0.04"]
    ffmpeg(
        *_video(),
        *thumb,
        "-map",
        "0:v",
        "-map",
        "1:v",
        "-c:v:0",
        "libx264",
        "-c:v:1",
        "mjpeg",
        "-frames:v:1",
        "1",
        "-disposition:v:1",
        "attached_pic",
        out,
    )
    return out


# 7 -------------------------------------------------------------------------------------
def make_bracket_names(dir: Path) -> list[Path]:
    """Names as downloaders and rippers write them: ``clip [1080p].mp4``, and a path whose
    text contains ``[/x]`` (a folder ending in ``[`` holding ``x].mp4``), which glob- or
    pattern-matching code misreads."""
    first = dir / "clip [1080p].mp4"
    ffmpeg(*_video(), *X264, first)
    folder = dir / "take ["
    folder.mkdir(exist_ok=True)
    second = folder / "x].mp4"
    shutil.copyfile(first, second)
    return [first, second]


# 8 -------------------------------------------------------------------------------------
def _pgs_segment(kind: int, pts: int, payload: bytes) -> bytes:
    return b"PG" + struct.pack(">IIBH", pts, 0, kind, len(payload)) + payload


def _pgs_file(width: int, height: int) -> bytes:
    """A minimal Blu-ray PGS (.sup) stream: one 32x8 box shown at 0.04 s, cleared at 0.4 s."""
    w, h = 32, 8
    x, y = (width - w) // 2, height - h - 4
    # RLE: one run of colour 1 per line (00, 10LLLLLL, colour), then end of line (00 00).
    rle = (b"\x00" + bytes([0x80 | w, 1]) + b"\x00\x00") * h
    pcs = struct.pack(">HHBHBBBB", width, height, 0x10, 0, 0x80, 0, 0, 1)
    pcs += struct.pack(">HBBHH", 0, 0, 0, x, y)
    wds = struct.pack(">BBHHHH", 1, 0, x, y, w, h)
    pds = bytes([0, 0]) + bytes([1, 235, 128, 128, 255])  # entry 1: white, opaque
    ods = struct.pack(">HBB", 0, 0, 0xC0) + (len(rle) + 4).to_bytes(3, "big")
    ods += struct.pack(">HH", w, h) + rle
    show, clear = 3600, 36000  # 90 kHz
    data = b"".join(
        [
            _pgs_segment(0x16, show, pcs),
            _pgs_segment(0x17, show, wds),
            _pgs_segment(0x14, show, pds),
            _pgs_segment(0x15, show, ods),
            _pgs_segment(0x80, show, b""),
        ]
    )
    pcs_clear = struct.pack(">HHBHBBBB", width, height, 0x10, 1, 0x00, 0, 0, 0)
    data += _pgs_segment(0x16, clear, pcs_clear)
    data += _pgs_segment(0x17, clear, wds)
    data += _pgs_segment(0x80, clear, b"")
    return data


def _mpeg2_with_bitmaps(out: Path, audio: str, subtitles: str, language: str, *extra: str) -> Path:
    """MPEG-2 video, ``audio`` and a bitmap ``subtitles`` track in ``language``. ffmpeg
    cannot render text to bitmaps, so the subtitle is a hand-made Blu-ray PGS picture
    converted bitmap-to-bitmap. ``extra``: options for the subtitle input."""
    with _side_file(out.parent / "subs.sup", _pgs_file(64, 64)) as sup:
        ffmpeg(*_video(), *_audio(), *extra, "-i", sup, "-map", "0:v", "-map", "1:a",
               "-map", "2:s", "-c:v", "mpeg2video", "-b:v", "800k", "-c:a", audio,
               "-c:s", subtitles, "-metadata:s:s:0", f"language={language}", out)  # fmt: skip
    return out


def make_dvdsub_mkv(dir: Path) -> Path:
    """A DVD rip in Matroska (MakeMKV-style): MPEG-2 video, AC-3 audio and a bitmap
    ``dvd_subtitle`` (VobSub) track."""
    return _mpeg2_with_bitmaps(dir / "dvd_rip.mkv", "ac3", "dvdsub", "eng", "-fix_sub_duration")


def make_pgs_mkv(dir: Path) -> Path:
    """A Blu-ray rip in Matroska: H.264 with a PGS (hdmv_pgs_subtitle) bitmap track."""
    out = dir / "bluray_rip.mkv"
    with _side_file(dir / "subs.sup", _pgs_file(64, 64)) as sup:
        ffmpeg(*_video(), "-i", sup, "-map", "0:v", "-map", "1:s", *X264, "-c:s", "copy", out)
    return out


# 9 -------------------------------------------------------------------------------------
ASS = """[Script Info]
ScriptType: v4.00+
PlayResX: 64
PlayResY: 64

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, \
Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, \
Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,12,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,1,\
0,2,2,2,2,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:00.04,0:00:00.40,Default,,0,0,0,,{\\i1}Hello{\\i0}, world
"""

SRT = "1\n00:00:00,040 --> 00:00:00,400\nHello, <i>world</i>\n"


def _text_subtitled(dir: Path, text: str, suffix: str, codec: str, name: str) -> Path:
    """H.264, AAC and ``text`` (a ``suffix`` subtitle file) as a ``codec`` track."""
    out = dir / name
    with _side_file(dir / f"subs{suffix}", text) as subs:
        ffmpeg(*_video(), *_audio(), "-i", subs, "-map", "0", "-map", "1", "-map", "2",
               *X264, "-c:a", "aac", "-c:s", codec, "-metadata:s:s:0", "language=eng",
               out)  # fmt: skip
    return out


def make_ass_mkv(dir: Path) -> Path:
    """An anime-fansub-style MKV: H.264, AAC and styled ASS subtitles (override tags)."""
    return _text_subtitled(dir, ASS, ".ass", "ass", "episode_ass.mkv")


def make_mov_text_mp4(dir: Path) -> Path:
    """An MP4 with a 3GPP timed-text (mov_text) subtitle track, as HandBrake writes."""
    return _text_subtitled(dir, SRT, ".srt", "mov_text", "movie_mov_text.mp4")


def make_latin1_tags(dir: Path, suffix: str = ".mp4") -> Path:
    """A file whose tags are Latin-1 bytes, not UTF-8 (old taggers, Windows tools):
    title ``Café Noël`` and artist ``Björk`` written byte for byte (0xE9, 0xEB, 0xF6)."""
    out = dir / f"latin1_tags{suffix}"
    ffmpeg(
        *_video(),
        *X264,
        "-metadata",
        "title=Caf\xe9 No\xebl".encode("latin-1"),
        "-metadata",
        "artist=Bj\xf6rk".encode("latin-1"),
        "-metadata:s:v:0",
        "handler_name=Vid\xe9o".encode("latin-1"),
        out,
    )
    return out


# 11 ------------------------------------------------------------------------------------
def make_size_change_ts(dir: Path) -> Path:
    """Concatenated MPEG-TS (``cat a.ts b.ts``, as recordings and HLS segments of
    different renditions are joined): 6 frames at 64x64, then 6 at 96x80, timestamps
    continuing, one program."""
    parts = []
    for i, (size, offset) in enumerate([("64x64", 0.0), ("96x80", 6 / RATE)]):
        part = dir / f"part{i}.ts"
        ffmpeg(
            *_video(size=size, seconds=6 / RATE),
            *X264,
            "-bf",
            "0",
            "-output_ts_offset",
            str(offset),
            "-mpegts_flags",
            "+resend_headers",
            "-f",
            "mpegts",
            part,
        )
        parts.append(part)
    out = dir / "size_change.ts"
    out.write_bytes(b"".join(p.read_bytes() for p in parts))
    for p in parts:
        p.unlink()
    return out


# 12 ------------------------------------------------------------------------------------
def make_h264_avi(dir: Path) -> Path:
    """H.264 with B-frames in AVI (packed by old muxers/converters), MP3 audio: AVI has
    no presentation timestamps, only a packet index at a fixed rate."""
    out = dir / "h264_bframes.avi"
    ffmpeg(
        *_video(),
        *_audio(rate=44100),
        "-c:v",
        "libx264",
        "-preset",
        "medium",
        "-bf",
        "3",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "libmp3lame",
        out,
    )
    return out


# 13 ------------------------------------------------------------------------------------
def make_alpha_webm(dir: Path, codec: str = "libvpx-vp9") -> Path:
    """A transparent WebM overlay (stickers, web animations): VP9 (or VP8) yuva420p; the
    alpha plane travels in Matroska BlockAdditional data, flagged by the ALPHA_MODE tag."""
    out = dir / f"alpha_{codec}.webm"
    ffmpeg(
        *_video(),
        "-vf",
        "format=yuva420p,geq=lum='lum(X,Y)':cb='cb(X,Y)':cr='cr(X,Y)':a='if(lt(X,32),255,64)'",
        "-c:v",
        codec,
        "-pix_fmt",
        "yuva420p",
        "-auto-alt-ref",
        "0",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        out,
    )
    return out


def make_prores4444_mov(dir: Path) -> Path:
    """An editor's ProRes 4444 master with alpha (yuva444p10le) in .mov, as motion-graphics
    tools export for compositing."""
    out = dir / "prores4444.mov"
    ffmpeg(
        *_video(),
        "-vf",
        "format=yuva444p10le",
        "-c:v",
        "prores_ks",
        "-profile:v",
        "4444",
        "-pix_fmt",
        "yuva444p10le",
        out,
    )
    return out


# 14 ------------------------------------------------------------------------------------
def make_hdr10_hevc(dir: Path, suffix: str = ".mp4", hlg: bool = False) -> Path:
    """An HDR10 clip (phone or streaming download): HEVC Main10 yuv420p10le tagged
    BT.2020 / SMPTE 2084 (PQ) / bt2020nc, with mastering-display and content-light-level
    metadata (SEI in the bitstream), in ``suffix``'s container. ``hlg``: the broadcast
    kind instead, ARIB STD-B67 (HLG) with no static metadata."""
    out = dir / f"{'hlg' if hlg else 'hdr10'}{suffix}"
    transfer = "arib-std-b67" if hlg else "smpte2084"
    params = f"log-level=error:colorprim=bt2020:transfer={transfer}:colormatrix=bt2020nc" + (
        ""
        if hlg
        else ":hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)"
        "L(10000000,1):max-cll=1000,400"
    )
    ffmpeg(
        *_video(),
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p10le",
        "-x265-params",
        params,
        *(["-tag:v", "hvc1"] if suffix == ".mp4" else []),
        "-color_primaries",
        "bt2020",
        "-color_trc",
        transfer,
        "-colorspace",
        "bt2020nc",
        "-color_range",
        "tv",
        out,
    )
    return out


# 15 ------------------------------------------------------------------------------------
CHAPTERS = """;FFMETADATA1
title=Chaptered

[CHAPTER]
TIMEBASE=1/1000
START=0
END=200
title=Opening

[CHAPTER]
TIMEBASE=1/1000
START=200
END=480
title=Ending
"""


def make_chapters_mp4(dir: Path) -> Path:
    """An MP4 with chapter marks (a Nero ``chpl`` list and a QuickTime chapter text
    track), as HandBrake or a podcast/lecture editor writes them."""
    out = dir / "chapters.mp4"
    with _side_file(dir / "chapters.txt", CHAPTERS) as meta:
        ffmpeg(
            *_video(),
            *_audio(),
            "-i",
            meta,
            "-map",
            "0",
            "-map",
            "1",
            "-map_metadata",
            "2",
            "-map_chapters",
            "2",
            *X264,
            "-c:a",
            "aac",
            out,
        )
    return out


def make_mid_gop_ts(dir: Path) -> Path:
    """A broadcast capture cut at an arbitrary packet: MPEG-TS whose first frames reference
    a keyframe that is not in the file (the decoder drops or conceals them)."""
    source = dir / "broadcast.ts"
    ffmpeg(
        *_video(seconds=0.8),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "12",
        "-bf",
        "2",
        "-pix_fmt",
        "yuv420p",
        "-f",
        "mpegts",
        source,
    )
    data = source.read_bytes()
    out = dir / "mid_gop.ts"
    out.write_bytes(data[(len(data) // 3) // 188 * 188 :])  # whole 188-byte TS packets
    source.unlink()
    return out


def make_odd_formats(dir: Path) -> list[Path]:
    """Sources that are not 4:2:0 limited-range YUV: 8-bit gray (FFV1), full-range MJPEG
    from a camera (AVI), and RGB (FFV1 bgr0)."""
    outs = [dir / "gray.mkv", dir / "camera_mjpeg.avi", dir / "rgb.mkv"]
    ffmpeg(*_video(), "-c:v", "ffv1", "-pix_fmt", "gray", outs[0])
    ffmpeg(*_video(), "-c:v", "mjpeg", "-pix_fmt", "yuvj422p", "-q:v", "3", outs[1])
    ffmpeg(*_video(), "-c:v", "ffv1", "-pix_fmt", "bgr0", outs[2])
    return outs


# Round three: broadcast and recorder files ----------------------------------------------
def make_dvb_ts(dir: Path, timed_clear: bool = True) -> Path:
    """A DVB broadcast capture: MPEG-2 video, MP2 audio and German DVB bitmap subtitles
    (``dvb_subtitle``, two packets per subtitle: one shows it, one clears it), in TS.
    Without ``timed_clear`` the subtitle has no duration, as a capture cut mid-subtitle,
    and ffmpeg times the clearing packet before the showing one: decode times go back."""
    out = dir / ("dvb.ts" if timed_clear else "dvb_backwards.ts")
    timing = ["-fix_sub_duration"] if timed_clear else []
    return _mpeg2_with_bitmaps(out, "mp2", "dvbsub", "deu", *timing)


def _ts_part(dir: Path, name: str, size: str, frames: int, offset: float | None) -> Path:
    """H.264 + AAC in MPEG-TS, ``frames`` long; ``offset``: its first timestamp (None:
    ffmpeg's own start, 1.4 s)."""
    part = dir / name
    shift = [] if offset is None else ["-output_ts_offset", str(offset)]
    ffmpeg(*_video(size=size, seconds=frames / RATE), *_audio(seconds=frames / RATE), *X264,
           "-bf", "0", "-c:a", "aac", *shift, "-f", "mpegts", part)  # fmt: skip
    return part


def _cat(out: Path, parts: list[Path]) -> Path:
    out.write_bytes(b"".join(p.read_bytes() for p in parts))
    for p in parts:
        p.unlink()
    return out


def make_joined_ts(dir: Path, restart: bool = False) -> Path:
    """Two recordings joined with ``cat`` (HLS segments of two renditions, a recorder that
    changed resolution): 6 frames at 64x64 then 6 at 96x80, both with AAC audio. The
    second part's timestamps continue the first's (its audio overlapping by part of a
    frame, as AAC's priming makes it), or ``restart`` from where the first began."""
    second = None if restart else 6 / RATE
    parts = [_ts_part(dir, "a.ts", "64x64", 6, None if restart else 0.0),
             _ts_part(dir, "b.ts", "96x80", 6, second)]  # fmt: skip
    return _cat(dir / ("joined_restart.ts" if restart else "joined.ts"), parts)


def make_gap_ts(dir: Path) -> Path:
    """A recorder restarted ten minutes later into the same file: 6 frames (and their
    MP2 audio), then 6 more whose timestamps are 600 s on: a 10-minute "duration" that
    holds 12 frames."""
    parts = [_ts_part(dir, "a.ts", SIZE, 6, 0.0), _ts_part(dir, "b.ts", SIZE, 6, 600.0)]
    return _cat(dir / "gap.ts", parts)


def make_late_video_mkv(dir: Path) -> Path:
    """A capture whose video starts 0.4 s after its audio (``-itsoffset``), Matroska: the
    container's duration is the audio's, a second; the video's own is 0.64 s."""
    out = dir / "late_video.mkv"
    ffmpeg("-itsoffset", "0.4", *_video(seconds=0.24), *_audio(seconds=1.0),
           "-map", "0:v", "-map", "1:a", *X264, "-c:a", "aac", out)  # fmt: skip
    return out


def make_theora_ogv(dir: Path) -> Path:
    """An Ogg Theora + Vorbis clip (Wikimedia, old open-source tools): a 5 fps source at
    25 fps, so libtheora codes the repeated frames as zero-byte packets ("the previous
    frame again"), which FFmpeg skips."""
    out = dir / "clip.ogv"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate=5:duration={SECONDS}",
           *_audio(), "-vf", f"fps={RATE}", "-c:v", "libtheora", "-q:v", "7",
           "-c:a", "libvorbis", out)  # fmt: skip
    return out


def make_interlaced_mpeg2_ts(dir: Path, flagged: bool = True) -> Path:
    """Interlaced broadcast: top field first MPEG-2 with AC-3 audio in MPEG-TS, 50 moving
    fields a second woven into 25 frames. ``flagged``: coded as fields (``+ilme+ildct``,
    ``-top 1``); else coded as progressive frames, the fields still in the pictures (only
    looking at them tells, as ffmpeg's ``idet`` does)."""
    weave = (
        "color=c=white:size=8x48:rate=50[bar];[0:v][bar]overlay=x='mod(n*5,56)':y=8:"
        "shortest=1,interlace=scan=tff:lowpass=0,setfield=tff"
    )
    fields = ["-flags", "+ilme+ildct", "-top", "1"] if flagged else []
    out = dir / ("interlaced_flagged.ts" if flagged else "interlaced_unflagged.ts")
    ffmpeg(*_video(rate=2 * RATE), *_audio(), "-filter_complex", weave, "-c:v", "mpeg2video",
           "-b:v", "800k", *fields, "-c:a", "ac3", "-f", "mpegts", out)  # fmt: skip
    return out


def make_wide_strip(dir: Path) -> Path:
    """A 4097x2 strip (a panorama or a scope trace), FFV1 RGB, two frames: 16388 px wide at
    x4, more than H.264 allows."""
    out = dir / "strip.mkv"
    ffmpeg("-f", "lavfi", "-i", f"color=c=gray:size=64x2:rate={RATE}:duration={2 / RATE}",
           "-vf", "scale=4097:2", "-c:v", "ffv1", "-pix_fmt", "bgr0", out)  # fmt: skip
    return out


ALL = {
    "edit_list_mp4": make_edit_list_mp4,
    "phone_mov": make_phone_mov,
    "data_track_mp4": make_data_track_mp4,
    "dvd_mpeg2": make_dvd_mpeg2,
    "interlaced": make_interlaced,
    "audio_with_cover": make_audio_with_cover,
    "video_with_cover": make_video_with_cover,
    "dvdsub_mkv": make_dvdsub_mkv,
    "pgs_mkv": make_pgs_mkv,
    "ass_mkv": make_ass_mkv,
    "mov_text_mp4": make_mov_text_mp4,
    "latin1_tags": make_latin1_tags,
    "size_change_ts": make_size_change_ts,
    "h264_avi": make_h264_avi,
    "vp9_alpha_webm": make_alpha_webm,
    "prores4444_mov": make_prores4444_mov,
    "hdr10_hevc": make_hdr10_hevc,
    "chapters_mp4": make_chapters_mp4,
    "mid_gop_ts": make_mid_gop_ts,
    "dvb_ts": make_dvb_ts,
    "joined_ts": make_joined_ts,
    "gap_ts": make_gap_ts,
    "late_video_mkv": make_late_video_mkv,
    "theora_ogv": make_theora_ogv,
    "interlaced_mpeg2_ts": make_interlaced_mpeg2_ts,
    "wide_strip": make_wide_strip,
}
"""Every single-file maker, by name (``make_bracket_names`` returns two paths)."""
