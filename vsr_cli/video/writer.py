"""Encode upscaled frames and copy the other streams into a file that appears whole or not at all.

- Timestamps: the output video stream takes the input's time base and every
  frame keeps its pts, so variable frame rate survives (field notes: an
  encoder left at 1/rate snaps pts to a grid).
- Colour: RGB is converted to the output pix_fmt with the matrix and range the
  input was read with, and the stream is tagged with them.
- Other streams are copied packet for packet; subtitles a container refuses
  are converted between SubRip and mov_text where possible; whatever can't be
  kept is named in a warning.
- The file is written under a temporary name beside the output and renamed
  when complete; on any failure the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from vsr_cli.errors import OutputError
from vsr_cli.video.color import EXACT, ColorSpec
from vsr_cli.video.reader import VideoReader

# Tags the muxer writes itself; copying the input's would be wrong for the output.
_STALE_TAG = re.compile(r"^(DURATION|ENCODER|encoder|NUMBER_OF_.*|_STATISTICS_.*|BPS.*)$")
_TEXT_SUBTITLES = {"subrip", "srt", "mov_text", "text"}
# Refused only when the file is closed (field notes), so decided up front.
_LATE_REFUSALS = {"mp4": ("pcm_",)}


@dataclass(frozen=True)
class EncodeSettings:
    codec: str = "libx264"
    crf: int | None = None
    preset: str | None = None
    pix_fmt: str | None = None  # None: the input's format where the encoder takes it
    options: dict[str, str] = field(default_factory=dict)


def choose_pix_fmt(codec: str, source_pix_fmt: str, source_depth: int, wanted: str | None) -> str:
    """The requested pix_fmt, else the source's, else 4:2:0 at the source's bit depth."""
    try:
        formats = [f.name for f in av.codec.Codec(codec, "w").video_formats or ()]
    except (av.error.FFmpegError, ValueError):
        raise OutputError(f"unknown video encoder {codec!r}") from None
    if wanted:
        if formats and wanted not in formats:
            raise OutputError(f"{codec} cannot encode {wanted}; it takes {', '.join(formats)}")
        return wanted
    if not formats or source_pix_fmt in formats:
        return source_pix_fmt
    deep = [f for f in ("yuv420p10le", "yuv420p12le", "yuv420p16le") if f in formats]
    if source_depth > 8 and deep:
        return deep[0]
    return "yuv420p" if "yuv420p" in formats else formats[0]


def _text_of(payload: bytes, codec: str) -> str:
    if codec == "mov_text":  # 16-bit big-endian length, then UTF-8 text, then style boxes
        size = int.from_bytes(payload[:2], "big")
        return payload[2 : 2 + size].decode("utf-8", "replace")
    return payload.decode("utf-8", "replace")


def _subtitle_payload(text: str, codec: str) -> bytes:
    if codec == "mov_text":
        data = re.sub(r"<[^>]+>", "", text).encode("utf-8")  # mov_text has no inline tags
        return len(data).to_bytes(2, "big") + data
    return text.encode("utf-8")


class VideoWriter:
    """The output file being written; ``finish()`` publishes it, leaving the context aborts it."""

    def __init__(
        self,
        target: Path | BinaryIO,
        reader: VideoReader,
        settings: EncodeSettings,
        size: tuple[int, int],
        warn: Callable[[str], None],
        container_format: str | None = None,
    ) -> None:
        """``target``: a path (written atomically) or a binary stream such as stdout, which
        needs ``container_format`` since there is no extension to go by."""
        self.name = str(target) if isinstance(target, Path) else "stdout"
        info = reader.info
        self._color: ColorSpec = info.color
        self._warn = warn
        self._tmp: Path | None = None
        self._target = target
        try:
            if isinstance(target, Path):
                # Hidden, unique, and with the output's extension: FFmpeg picks the container
                # from it as ffmpeg would.
                self._tmp = target.with_name(
                    f".{target.stem}.{uuid.uuid4().hex[:8]}.part{target.suffix}"
                )
                self._out = av.open(str(self._tmp), "w", format=container_format)
            else:
                if not container_format:
                    raise OutputError("writing to a stream needs --format (e.g. matroska)")
                self._out = av.open(
                    target, "w", format=container_format, options=_stream_options(container_format)
                )
        except (av.error.FFmpegError, ValueError) as e:
            if self._tmp is not None:
                self._tmp.unlink(missing_ok=True)
            raise OutputError(f"{self.name}: cannot write this container ({e})") from None
        self._pending: deque[av.Packet] = deque()
        self._started = False
        try:
            self._video = self._add_video(reader, settings, size)
            self._copies: dict[int, tuple[av.stream.Stream, str | None]] = {}
            self._add_copies(reader)
            self._out.metadata.update(_fresh_tags(reader.container.metadata))
            with contextlib.suppress(AttributeError, av.error.FFmpegError, ValueError):
                self._out.set_chapters(reader.container.chapters())
        except BaseException:
            self.abort()
            raise

    @property
    def copied_streams(self) -> set[int]:
        """Input stream indices whose packets ``mux_packet`` wants."""
        return set(self._copies)

    def _add_video(self, reader: VideoReader, settings: EncodeSettings, size: tuple[int, int]):
        info = reader.info
        pix_fmt = choose_pix_fmt(settings.codec, info.pix_fmt, info.bit_depth, settings.pix_fmt)
        options = dict(settings.options)
        if settings.crf is not None:
            options.setdefault("crf", str(settings.crf))
        if settings.preset is not None:
            options.setdefault("preset", settings.preset)
        if settings.codec == "libx265":
            options.setdefault("x265-params", "log-level=error")  # x265 prints to stderr
        try:
            stream = self._out.add_stream(settings.codec, rate=info.average_rate or Fraction(25))
        except (av.error.FFmpegError, ValueError) as e:
            raise OutputError(f"cannot encode with {settings.codec!r} ({e})") from None
        self.size = _fit_to_chroma(size, pix_fmt)
        if self.size != size:
            self._warn(
                f"output is {self.size[0]}x{self.size[1]} instead of {size[0]}x{size[1]}: "
                f"{pix_fmt} needs sizes that its chroma subsampling divides"
            )
        stream.width, stream.height = self.size
        stream.pix_fmt = pix_fmt
        stream.time_base = info.time_base
        self._time_base = info.time_base
        cc = stream.codec_context
        cc.time_base = info.time_base
        cc.colorspace = self._color.matrix
        cc.color_range = self._color.range
        cc.color_primaries = self._color.primaries
        cc.color_trc = self._color.transfer
        cc.options = options
        stream.metadata.update(_fresh_tags(reader.video_stream.metadata))
        # Frames arrive as 16-bit RGB when the output keeps more than 8 bits.
        self.rgb_depth = 16 if av.VideoFormat(pix_fmt).components[0].bits > 8 else 8
        self._rgb_format = "rgb48le" if self.rgb_depth == 16 else "rgb24"
        self._reformatter = VideoReformatter()
        return stream

    def _add_copies(self, reader: VideoReader) -> None:
        container = self._out.format.name.split(",")[0]
        for stream in reader.container.streams:
            if stream.index == reader.video_stream.index:
                continue
            codec = stream.codec_context.name if stream.codec_context else stream.type
            dropped = (
                f"dropped {stream.type} stream #{stream.index} ({codec}): "
                f"{container} cannot hold it"
            )
            if any(codec.startswith(p) for p in _LATE_REFUSALS.get(container, ())):
                self._warn(dropped)
                continue
            try:
                out = self._out.add_stream_from_template(stream)
                convert_to = None
            except (ValueError, av.error.FFmpegError):
                out, convert_to = self._add_converted_subtitles(stream, codec)
                if out is None:
                    self._warn(dropped)
                    continue
                self._warn(
                    f"converted subtitle stream #{stream.index} from {codec} to {convert_to}"
                )
            out.metadata.update(_fresh_tags(stream.metadata))
            self._copies[stream.index] = (out, convert_to)

    def _add_converted_subtitles(self, stream, codec: str):
        if stream.type != "subtitle" or codec not in _TEXT_SUBTITLES:
            return None, None
        for target in ("mov_text", "subrip"):
            if target == codec:
                continue
            try:
                out = self._out.add_mux_stream(target)
            except (ValueError, av.error.FFmpegError):
                continue
            out.time_base = stream.time_base
            return out, target
        return None, None

    def mux_packet(self, packet: av.Packet) -> None:
        """Queue a packet of a copied stream; it is written in time order with the video."""
        self._pending.append(packet)

    def _flush_pending(self, until: float | None) -> None:
        while self._pending:
            packet = self._pending[0]
            if (
                until is not None
                and packet.dts is not None
                and packet.time_base
                and (float(packet.dts * packet.time_base) > until)
            ):
                return
            self._pending.popleft()
            out, convert_to = self._copies[packet.stream.index]
            if convert_to:
                text = _text_of(bytes(packet), packet.stream.codec_context.name)
                if not text.strip():
                    continue
                fresh = av.Packet(_subtitle_payload(text, convert_to))
                fresh.pts, fresh.dts, fresh.duration = packet.pts, packet.dts, packet.duration
                fresh.time_base = packet.time_base
                packet = fresh
            packet.stream = out
            self._mux(packet)

    def _mux(self, packet: av.Packet) -> None:
        try:
            self._out.mux(packet)
        except av.error.FFmpegError as e:
            raise OutputError(f"{self.name}: writing failed ({e})") from None

    def write_frame(
        self, rgb: np.ndarray, pts: int | None, time: float | None, rotation: int
    ) -> None:
        """Encode one output frame, keeping the input frame's timestamp."""
        if not self._started:
            if rotation:
                self._video.set_display_rotation(rotation)
            self._started = True
        self._flush_pending(time)
        frame = av.VideoFrame.from_ndarray(rgb, format=self._rgb_format)
        frame = self._reformatter.reformat(
            frame,
            format=self._video.pix_fmt,
            dst_colorspace=self._color.sws_matrix,
            dst_color_range=self._color.sws_range,
            interpolation=EXACT,
        )
        # The input's time base: the muxer may have picked another for the stream.
        frame.pts = pts
        frame.time_base = self._time_base
        for packet in self._encode(frame):
            self._mux(packet)

    def _encode(self, frame: av.VideoFrame | None) -> list[av.Packet]:
        try:
            return self._video.encode(frame)
        except av.error.FFmpegError as e:
            raise OutputError(f"{self.name}: encoding failed ({e})") from None

    def finish(self) -> None:
        """Flush, close and (for a file) move the complete file to its final name."""
        for packet in self._encode(None):
            self._mux(packet)
        self._flush_pending(None)
        try:
            self._out.close()
        except av.error.FFmpegError as e:
            self.abort()
            raise OutputError(f"{self.name}: finishing the file failed ({e})") from None
        if self._tmp is not None:
            os.replace(self._tmp, self._target)
            self._tmp = None

    def abort(self) -> None:
        """Drop the temporary file; the final name is never touched."""
        with contextlib.suppress(Exception):
            self._out.close()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, *_: object) -> None:
        if exc_type is not None or self._tmp is not None:
            self.abort()


def _stream_options(container_format: str) -> dict[str, str]:
    """MP4 can't seek back to write its index on a pipe: write it fragmented."""
    if container_format in ("mp4", "mov", "ipod", "ismv"):
        return {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
    return {}


def _fit_to_chroma(size: tuple[int, int], pix_fmt: str) -> tuple[int, int]:
    """Round down to what the format's chroma subsampling allows (even sizes for 4:2:0)."""
    fmt = av.VideoFormat(pix_fmt)
    step_x = round(1024 / fmt.chroma_width(1024)) if fmt.chroma_width(1024) else 1
    step_y = round(1024 / fmt.chroma_height(1024)) if fmt.chroma_height(1024) else 1
    return size[0] // step_x * step_x, size[1] // step_y * step_y


def _fresh_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not _STALE_TAG.match(k)}
