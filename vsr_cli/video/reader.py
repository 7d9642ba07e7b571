"""Demux and decode the input: RGB frames with their timestamps, plus the packets to copy.

Frames come out as HxWx3 ``uint8`` (8-bit sources) or ``uint16`` (deeper
sources, so 10-bit precision survives), converted with the stream's own matrix
and range (see ``color``). Every failure becomes an ``InputError`` with one line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from vsr_cli.errors import InputError, NoVideoStreamError
from vsr_cli.video.color import EXACT, ColorSpec


@dataclass(frozen=True)
class StreamInfo:
    index: int
    kind: str  # video, audio, subtitle, data, attachment
    codec: str
    language: str | None


@dataclass(frozen=True)
class VideoInfo:
    """What the tool sees in an input before decoding it."""

    name: str
    container: str
    codec: str
    width: int
    height: int
    pix_fmt: str
    bit_depth: int
    time_base: Fraction
    average_rate: Fraction | None
    frame_count: int | None  # counted from packets where the input can be read twice
    duration: float | None  # of the video stream, seconds, where the container says
    color: ColorSpec
    streams: tuple[StreamInfo, ...] = field(default=())


@dataclass(frozen=True)
class DecodedFrame:
    rgb: np.ndarray  # (h, w, 3) uint8 or uint16
    pts: int
    time: float
    rotation: int


def _open(source: str | Path | BinaryIO, name: str) -> av.container.InputContainer:
    try:
        return av.open(source, "r")
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a folder, not a video") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except av.error.FFmpegError as e:
        raise InputError(f"{name}: not a video PyAV can read ({_reason(e)})") from None


def _reason(e: Exception) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text).strip().rstrip(".")


def _stream_duration(stream: av.video.stream.VideoStream) -> float | None:
    """The video stream's own duration: mp4 stores it, Matroska keeps a DURATION tag."""
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    m = re.fullmatch(r"(\d+):(\d+):(\d+(?:\.\d+)?)", tag or "")
    return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3]) if m else None


def _count_frames(path: str | Path) -> int | None:
    """Video packets with a payload: as many as decoded frames, without decoding."""
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            return sum(1 for p in container.demux(stream) if p.size)
    except av.error.FFmpegError:
        return None


class VideoReader:
    """An open input; use as a context manager."""

    def __init__(self, source: str | Path | BinaryIO, name: str | None = None) -> None:
        self.name = name or str(source)
        self._container = _open(source, self.name)
        try:
            if not self._container.streams.video:
                raise NoVideoStreamError(f"{self.name}: no video stream")
            self._video = self._container.streams.video[0]
            self.info = self._probe(source)
        except BaseException:
            self._container.close()
            raise
        self.decoded = 0
        self._last_time: float | None = None

    def _probe(self, source: str | Path | BinaryIO) -> VideoInfo:
        c = self._container
        v = self._video
        cc = v.codec_context
        if not cc.width or not cc.height or cc.format is None:
            raise InputError(f"{self.name}: the video stream has no decodable frames")
        pix_fmt = cc.format.name
        depth = max(comp.bits for comp in cc.format.components)
        streams = tuple(
            StreamInfo(
                s.index,
                s.type,
                s.codec_context.name if s.codec_context else "?",
                s.metadata.get("language"),
            )
            for s in c.streams
        )
        seekable = isinstance(source, (str, Path))
        return VideoInfo(
            name=self.name,
            container=c.format.name,
            codec=cc.name,
            width=cc.width,
            height=cc.height,
            pix_fmt=pix_fmt,
            bit_depth=depth,
            time_base=v.time_base,
            average_rate=v.average_rate,
            frame_count=(v.frames or _count_frames(source)) if seekable else None,
            duration=_stream_duration(v),
            color=ColorSpec.of_stream(
                int(cc.colorspace),
                int(cc.color_range),
                int(cc.color_primaries),
                int(cc.color_trc),
                cc.height,
                pix_fmt,
            ),
            streams=streams,
        )

    @property
    def container(self) -> av.container.InputContainer:
        return self._container

    @property
    def video_stream(self) -> av.video.stream.VideoStream:
        return self._video

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        fmt = "rgb48le" if self.info.bit_depth > 8 else "rgb24"
        return frame.to_ndarray(
            format=fmt,
            src_colorspace=self.info.color.sws_matrix,
            src_color_range=self.info.color.sws_range,
            interpolation=EXACT,
        )

    def _timestamp(self, frame: av.VideoFrame) -> tuple[int, float]:
        """The frame's pts and time; raw streams (.h264, .y4m pipes) carry none, so they are
        numbered at the stream's frame rate (25 fps if it states none)."""
        if frame.pts is not None:
            return frame.pts, float(frame.time)
        seconds = self.decoded / float(self.info.average_rate or 25)
        return round(seconds / self.info.time_base), seconds

    def media(self, copy: set[int]) -> Iterator[DecodedFrame | av.Packet]:
        """Decoded video frames and the packets of the ``copy`` streams, in demux order."""
        streams = [self._video, *(s for s in self._container.streams if s.index in copy)]
        try:
            for packet in self._container.demux(streams):
                if packet.stream.index != self._video.index:
                    if packet.dts is not None:
                        yield packet
                    continue
                for frame in packet.decode():
                    pts, seconds = self._timestamp(frame)
                    self.decoded += 1
                    self._last_time = seconds
                    yield DecodedFrame(self._to_rgb(frame), pts, seconds, frame.rotation)
        except av.error.FFmpegError as e:
            raise InputError(
                f"{self.name}: decoding failed after {self.decoded} frames ({_reason(e)})"
            ) from None
        self._check_complete()

    def _check_complete(self) -> None:
        """A clip that ends early must not pass for a shorter video."""
        expected = self.info.frame_count
        if self.decoded == 0:
            raise InputError(f"{self.name}: no frame could be decoded")
        if expected and self.decoded < expected:
            raise InputError(
                f"{self.name}: only {self.decoded} of {expected} frames could be decoded"
            )
        rate, duration, last = self.info.average_rate, self.info.duration, self._last_time
        if rate and duration and last is not None:
            start = (
                float(self._video.start_time * self._video.time_base)
                if (self._video.start_time is not None)
                else 0.0
            )
            # The last frame must reach to within ~1.5 frames of the stated end.
            if last - start + 2.5 / float(rate) < duration:
                raise InputError(
                    f"{self.name}: video ends at {last - start:.2f} s but the file says "
                    f"{duration:.2f} s; it looks truncated"
                )

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def describe(reader: VideoReader) -> dict:
    """Plain facts about an open input, for ``vsr info`` (decodes one frame for the rotation)."""
    info = reader.info
    first = next(reader.container.decode(reader.video_stream), None)
    return {
        "file": info.name,
        "container": info.container,
        "codec": info.codec,
        "width": info.width,
        "height": info.height,
        "pix_fmt": info.pix_fmt,
        "bit_depth": info.bit_depth,
        "fps": float(info.average_rate) if info.average_rate else None,
        "frames": info.frame_count,
        "duration": info.duration,
        "time_base": str(info.time_base),
        "color_matrix": info.color.matrix,
        "color_range": info.color.range,
        "color_primaries": info.color.primaries,
        "color_transfer": info.color.transfer,
        "rotation": first.rotation if first is not None else 0,
        "streams": [asdict(s) for s in info.streams],
    }
