"""Tiny test clips made with PyAV, and ways to read results back."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation

MS = Fraction(1, 1000)


def moving_pattern(index: int, width: int, height: int, depth: int = 8) -> np.ndarray:
    """A smooth colour pattern that drifts by one pixel per frame (so flows are non-zero)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    x = x + index
    rgb = np.stack(
        [
            0.5 + 0.4 * np.sin(x / 7.0),
            0.5 + 0.4 * np.cos(y / 5.0 + x / 11.0),
            0.5 + 0.4 * np.sin((x + y) / 9.0),
        ],
        axis=-1,
    )
    peak = 255 if depth == 8 else 65535
    return np.round(rgb * peak).astype(np.uint8 if depth == 8 else np.uint16)


@dataclass(frozen=True)
class Clip:
    path: Path
    pts: list[int]  # in 1/1000 s
    subtitle: str | None


def make_clip(
    path: Path,
    *,
    size: tuple[int, int] = (64, 48),
    pts: list[int] | None = None,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    audio: bool = True,
    subtitle: str | None = "Hello, world",
    rotation: int = 0,
    mirrored: bool = False,
    colorspace: int | None = 1,
    options: dict[str, str] | None = None,
    title: str | None = None,
) -> Clip:
    """Write a clip with a video stream (VFR when ``pts`` is irregular), optional AAC audio
    and an optional text subtitle (SubRip in Matroska, mov_text in MP4); with a ``title``,
    also that container title and two chapters (0-0.1 s "Intro", 0.1-0.24 s "Main")."""
    pts = pts if pts is not None else [40 * i for i in range(6)]
    width, height = size
    depth = av.VideoFormat(pix_fmt).components[0].bits
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=25)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.time_base = MS
        video.codec_context.time_base = MS
        if colorspace is not None:
            cc = video.codec_context
            cc.colorspace, cc.color_range, cc.color_primaries, cc.color_trc = colorspace, 1, 1, 1
        video.options = options or {}
        if rotation or mirrored:  # mirrored: as phones' front cameras write it
            video.set_display_rotation(rotation, hflip=mirrored)
        sound = out.add_stream("aac", rate=48000) if audio else None
        if title is not None:
            out.metadata["title"] = title
            out.set_chapters(
                [
                    {
                        "id": 1,
                        "start": 0,
                        "end": 100,
                        "time_base": MS,
                        "metadata": {"title": "Intro"},
                    },
                    {
                        "id": 2,
                        "start": 100,
                        "end": 240,
                        "time_base": MS,
                        "metadata": {"title": "Main"},
                    },
                ]
            )
        sub = None
        sub_codec = "mov_text" if path.suffix in (".mp4", ".mov") else "subrip"
        if subtitle is not None:
            sub = out.add_mux_stream(sub_codec)
            sub.time_base = MS
            sub.metadata["language"] = "eng"
        for i, p in enumerate(pts):
            fmt = "rgb24" if depth == 8 else "rgb48le"
            frame = av.VideoFrame.from_ndarray(moving_pattern(i, width, height, depth), format=fmt)
            frame = frame.reformat(
                format=pix_fmt,
                dst_colorspace=av.video.reformatter.Colorspace.ITU709 if colorspace == 1 else None,
            )
            frame.pts, frame.time_base = p, MS
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            seconds = (pts[-1] + 40) / 1000
            t = np.arange(int(48000 * seconds)) / 48000
            samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, len(samples), 1024):
                frame = av.AudioFrame.from_ndarray(
                    samples[None, start : start + 1024], format="fltp", layout="mono"
                )
                frame.sample_rate, frame.pts = 48000, start
                out.mux(sound.encode(frame))
            out.mux(sound.encode(None))
        if sub is not None:
            text = subtitle.encode()
            payload = text if sub_codec == "subrip" else len(text).to_bytes(2, "big") + text
            packet = av.Packet(payload)
            packet.stream, packet.pts, packet.dts = sub, 10, 10
            packet.duration, packet.time_base = 100, MS
            out.mux(packet)
    return Clip(path, pts, subtitle)


EXACT = Interpolation.BICUBIC | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


def read_frames(path: Path, fmt: str = "rgb24") -> list[np.ndarray]:
    """Decoded RGB frames, converted with exact rounding and the stream's own tags."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format=fmt, interpolation=EXACT) for f in c.decode(video=0)]


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(f.time) for f in c.decode(video=0)]


def packets_of(path: Path, kind: str) -> list[bytes]:
    with av.open(str(path)) as c:
        streams = [s for s in c.streams if s.type == kind]
        return [bytes(p) for p in c.demux(streams) if p.size]


def chapter_spans(path: Path) -> list[tuple[float, float, str]]:
    with av.open(str(path)) as c:
        return [
            (
                float(ch["start"] * ch["time_base"]),
                float(ch["end"] * ch["time_base"]),
                ch["metadata"].get("title", ""),
            )
            for ch in c.chapters()
        ]
