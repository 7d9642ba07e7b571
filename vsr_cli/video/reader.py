"""Demux and decode the input: RGB frames with their timestamps, plus the packets to copy.

Frames come out as HxWx3 ``uint8`` (8-bit sources) or ``uint16`` (deeper
sources, so 10-bit precision survives), converted with the stream's own matrix
and range (see ``color``). Every failure becomes an ``InputError`` with one line.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from vsr_cli.context import RunContext
from vsr_cli.errors import InputError
from vsr_cli.video.color import EXACT
from vsr_cli.video.deinterlace import (
    Deinterlacer,
    Interlacing,
    deinterlace_plan,
    deinterlacing,
    detect_interlacing,
)
from vsr_cli.video.ffmpeg import ffmpeg_reason
from vsr_cli.video.hdr import HdrMetadata
from vsr_cli.video.image_input import FrameSequence, open_frames
from vsr_cli.video.probe import (
    ATTACHED_PIC,
    main_video_stream,
    open_container,
    video_info,
)
from vsr_cli.video.publish import is_special
from vsr_cli.video.scan import VideoScan, sample_packets, scan_video, stated_end
from vsr_cli.video.timeline import Timeline

# Containers whose timestamps are a frame index at a constant rate: their decoded frames
# carry reordered (B-frame) or missing pts, so frames are numbered in display order.
_INDEXED_CONTAINERS = {"avi"}
_LOOK_AHEAD = 6  # frames decoded at open: enough for idet to tell interlacing
_LIBVPX_DECODERS = {"vp8": "libvpx", "vp9": "libvpx-vp9"}  # the decoders that read WebM alpha


@dataclass(frozen=True)
class DecodedFrame:
    rgb: np.ndarray  # (h, w, 3) uint8 or uint16
    pts: int
    time: float
    alpha: np.ndarray | None = None  # (h, w), the rgb's dtype, where the input has alpha
    margin: bool = False  # read for the model to see beside a span, not to write (video/span.py)


def _usable(packet: av.Packet) -> bool:
    """A timed packet of another stream, or cover art (then timed at 0: one untimed
    picture); not the demuxer's empty end-of-stream packets."""
    if packet.dts is not None:
        return True
    if packet.size and packet.stream.disposition & ATTACHED_PIC:
        packet.pts = packet.dts = 0
        return True
    return False


class VideoReader:
    """An open input whose first frame has been decoded; use as a context manager.

    Decoding the first frames at once proves the file decodes before any model work,
    and tells what only frames carry: rotation and interlacing. Deinterlacing is
    chosen at open, so ``info`` (frame rate, time base) is final from then on.
    """

    def __init__(
        self,
        source: str | Path | BinaryIO,
        name: str | None = None,
        context: RunContext | None = None,
        count_frames: bool = True,
        deinterlace: str = "off",
    ) -> None:
        """``count_frames``: read the packets once to count them (for a progress total) and
        to learn their times. ``deinterlace``: one of ``DEINTERLACE_MODES`` (``auto``: when
        the stream, its first frames' flags or FFmpeg's ``idet`` on them say interlaced);
        what is done is said as a warning."""
        self.name = name or str(source)
        self._context = context or RunContext()
        self.sequence = source if isinstance(source, FrameSequence) else None
        self._container = (
            open_frames(self.sequence) if self.sequence else open_container(source, self.name)
        )
        try:
            self._video = main_video_stream(self._container, self.name)
            self._source = source
            # A file is read twice (its packets counted first); a FIFO, like a pipe, once.
            self._rereadable = isinstance(source, (str, Path)) and not is_special(Path(source))
            again = self._rereadable and count_frames
            self.scan: VideoScan | None = scan_video(source, self._video.index) if again else None
            if self.sequence is not None:  # every file is a frame
                count, fps = len(self.sequence.files), self.sequence.fps
                self.scan = VideoScan(count, tuple(float(i / fps) for i in range(count)), False)
                if gap := self.sequence.gap_note():
                    self._context.warn(gap)
            self.decoded = 0
            self._last_time: float | None = None
            self._last_pts: int | None = None
            self._resized = False
            self._fields: Deinterlacer | None = None
            self._raw = self._demux()
            self._ahead: list[av.VideoFrame | av.Packet] = []
            self.first = self._prime()
            self._look_ahead(_LOOK_AHEAD)
            self._learn_from_first_frames(source, deinterlace)
        except BaseException:
            self.close()
            raise

    def _learn_from_first_frames(self, source: str | Path | BinaryIO, deinterlace: str) -> None:
        """What only decoded frames tell: size, format, alpha, HDR, where "0 s" is,
        interlacing; then ``info``, final from here on."""
        first, video = self.first, self._video
        self.alpha = any(c.is_alpha for c in first.format.components)
        if self.alpha and video.codec_context.name == "gif":
            # FFmpeg gives every GIF an alpha plane: it has transparency if a frame uses it.
            frames = [first, *(f for f in self._ahead if isinstance(f, av.VideoFrame))]
            self.alpha = any(f.to_ndarray(format="rgba")[..., 3].min() < 255 for f in frames)
        self.hdr = HdrMetadata.of_frame(first)
        # Where "0 s" is for --ss and pieces: the first frame, whatever the container's
        # start time. Inputs timed by frame count start at 0 by construction.
        timed = first.pts is not None and self._container.format.name not in _INDEXED_CONTAINERS
        self.origin = float(first.time) if timed else 0.0
        self._end = stated_end(video, self._container)
        # Joined recordings' times are moved onto one timeline as they are read, so a
        # time can't be sought in the file.
        jumps = self.scan is not None and self.scan.jumps_back
        self._seekable = timed and not jumps and (self._rereadable or self.sequence is not None)
        frames = [f for f in self._ahead if isinstance(f, av.VideoFrame)]
        self.interlacing: Interlacing = detect_interlacing(video, frames)
        self._deinterlacing = deinterlace_plan(deinterlace, self.interlacing)
        self.info = video_info(
            self.name,
            self._container,
            video,
            first,
            self.scan.frames if self.scan else None,
            None if self._end is None else self._end - self.origin,
            self._deinterlacing,
        )
        if self._deinterlacing is not None:
            self._fields = Deinterlacer(video, *self._deinterlacing)
            self._context.warn(deinterlacing(self.interlacing, self._deinterlacing[0]))

    def _demux(self) -> Iterator[av.VideoFrame | av.Packet]:
        """Decoded video frames and every other stream's packets, in demux order."""
        # FFmpeg's own VP8 and VP9 decoders ignore the alpha WebM keeps beside each frame;
        # libvpx's read it.
        webm_alpha = self._video.metadata.get("alpha_mode") == "1"
        libvpx = _LIBVPX_DECODERS.get(self._video.codec_context.name)
        decoder = av.CodecContext.create(libvpx, "r") if webm_alpha and libvpx else None
        timeline = Timeline(self._container, self._context)
        frames = 0
        try:
            for packet in self._container.demux():
                timeline.place(packet)
                if packet.stream.index != self._video.index:
                    if _usable(packet):
                        yield packet
                    continue
                if not packet.size and packet.dts is not None:
                    continue  # Theora's "the previous frame again" (the timestamps say so)
                if decoder is None:
                    decoded = packet.decode()
                else:
                    decoded = decoder.decode(packet if packet.size else None)
                for frame in decoded:
                    frames += 1
                    yield frame
        except av.error.FFmpegError as e:
            raise InputError(
                f"{self.name}: decoding failed after {frames} frames ({ffmpeg_reason(e)})"
            ) from None

    def _prime(self) -> av.VideoFrame:
        """Read up to the first decoded frame, keeping what was read for ``media``."""
        for item in self._raw:
            self._ahead.append(item)
            if isinstance(item, av.VideoFrame):
                return item
        raise InputError(f"{self.name}: no frame could be decoded")

    def _look_ahead(self, count: int) -> None:
        """Decode up to ``count`` frames in all (kept for ``media``): what interlacing
        detection looks at, and a damaged start found at open."""
        frames = sum(isinstance(item, av.VideoFrame) for item in self._ahead)
        for item in self._raw:
            self._ahead.append(item)
            frames += isinstance(item, av.VideoFrame)
            if frames >= count:
                return

    def sample_packets(self, indices: set[int]) -> dict[int, tuple[av.Packet, ...]]:
        """The first packets of the ``indices`` streams, to try an output container with:
        read again from a file, or those read ahead of a pipe's first frames."""
        if self._rereadable:
            return sample_packets(self._source, indices)
        ahead = [p for p in self._ahead if isinstance(p, av.Packet)]
        return {i: tuple(p for p in ahead if p.stream.index == i)[:3] for i in indices}

    @property
    def can_seek(self) -> bool:
        """A file whose frames carry their own timestamps: AVI's are counted from the
        first frame decoded, and a pipe can't go back."""
        return self._seekable

    def seek(self, seconds: float) -> None:
        """Go on decoding from the keyframe at or before ``seconds`` after the first frame
        (for every stream). The timestamp checks and the deinterlacer start afresh."""
        if not self._seekable:
            raise InputError(f"{self.name}: this input can't be read from a given time")
        target = int((self.origin + max(0.0, seconds)) / self._video.time_base)
        try:
            self._container.seek(target, stream=self._video, backward=True)
        except av.error.FFmpegError as e:
            raise InputError(f"{self.name}: seeking failed ({ffmpeg_reason(e)})") from None
        self._ahead = []
        self._raw = self._demux()
        self._last_pts = self._last_time = None
        if self._deinterlacing is not None:
            self._fields = Deinterlacer(self._video, *self._deinterlacing)

    def cover_art(self) -> dict[int, bytes]:
        """Attached pictures (stream index -> image bytes): demuxers hand them out first,
        so they are among what was read ahead for the first frame."""
        return {
            p.stream.index: bytes(p)
            for p in self._ahead
            if isinstance(p, av.Packet) and p.stream.disposition & ATTACHED_PIC
        }

    @property
    def interlaced(self) -> bool:
        return self.interlacing.interlaced

    @property
    def container(self) -> av.container.InputContainer:
        return self._container

    @property
    def video_stream(self) -> av.video.stream.VideoStream:
        return self._video

    def _to_rgb(self, frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """RGB, and the alpha plane apart (the model sees RGB only)."""
        deep = self.info.bit_depth > 8
        fmt = ("rgba64le" if deep else "rgba") if self.alpha else ("rgb48le" if deep else "rgb24")
        pixels = frame.to_ndarray(
            format=fmt,
            src_colorspace=self.info.color.sws_matrix,
            src_color_range=self.info.color.sws_range,
            interpolation=EXACT,
        )
        if not self.alpha:
            return pixels, None
        return np.ascontiguousarray(pixels[..., :3]), np.ascontiguousarray(pixels[..., 3])

    def _timestamp(self, frame: av.VideoFrame) -> tuple[int, float]:
        """The frame's pts and time, on a timeline that only moves forward. Raw streams
        (.h264, .y4m pipes) carry no timestamps, MPEG-PS only on some frames, and AVI the
        coded order's: a frame without a usable one comes one frame period (at the
        stream's rate, 25 fps if it states none) after the previous frame."""
        period = 1 / float(self.info.average_rate or 25)
        usable = (
            frame.pts is not None
            and self.info.container not in _INDEXED_CONTAINERS
            and (self._last_pts is None or frame.pts > self._last_pts)
        )
        if usable:
            pts, seconds = frame.pts, float(frame.time)
        else:
            seconds = 0.0 if self._last_time is None else self._last_time + period
            pts = round(seconds / self.info.time_base)
            if self._last_pts is not None and pts <= self._last_pts:
                pts = self._last_pts + 1
        self._last_pts = pts
        return pts, seconds

    def media(self, copy: set[int]) -> Iterator[DecodedFrame | av.Packet]:
        """Decoded video frames and the packets of the ``copy`` streams, in demux order."""
        items = itertools.chain(self._ahead, self._raw)
        self._ahead = []
        for item in items:
            if isinstance(item, av.Packet):
                if item.stream.index in copy:
                    yield item
                continue
            for frame in self._fields.push(item) if self._fields else (item,):
                yield self._decoded(frame)
        for frame in self._fields.flush() if self._fields else ():
            yield self._decoded(frame)
        self._check_complete()

    def packets(self, copy: set[int]) -> Iterator[av.Packet]:
        """The ``copy`` streams' packets alone, in demux order, decoding no video (joining
        finished pieces needs the audio and subtitles, not the frames again)."""
        for item in self._ahead:
            if isinstance(item, av.Packet) and item.stream.index in copy:
                yield item
        self._ahead = []
        self._raw.close()
        timeline = Timeline(self._container, self._context)
        try:
            for packet in self._container.demux():
                timeline.place(packet)
                if packet.stream.index in copy and _usable(packet):
                    yield packet
        except av.error.FFmpegError as e:
            raise InputError(f"{self.name}: reading failed ({ffmpeg_reason(e)})") from None

    def _decoded(self, frame: av.VideoFrame) -> DecodedFrame:
        if (frame.width, frame.height) != (self.info.width, self.info.height) and self.sequence:
            path = self.sequence.files[min(self.decoded, len(self.sequence.files) - 1)]
            raise InputError(
                f"{path}: {frame.width}x{frame.height}, not the size of the sequence's first "
                f"frame ({self.info.width}x{self.info.height})"
            )
        if (frame.width, frame.height) != (self.info.width, self.info.height):
            if not self._resized:  # as ffmpeg does: the first size is the output's
                self._context.warn(
                    f"the frame size changes mid-stream ({frame.width}x{frame.height} after "
                    f"{self.info.width}x{self.info.height}); later frames are resized to the first"
                )
                self._resized = True
            frame = frame.reformat(self.info.width, self.info.height, interpolation="BICUBIC")
        pts, seconds = self._timestamp(frame)
        self.decoded += 1
        self._last_time = seconds
        rgb, alpha = self._to_rgb(frame)
        return DecodedFrame(rgb, pts, seconds, alpha)

    def _check_complete(self) -> None:
        """A clip that ends well before where its video stream says it ends must not pass
        for a shorter video. Frame counts are no evidence (edit lists, open GOPs, fields),
        nor is the container's duration (its longest stream's: audio may start before the
        video or run on after it): only decoding errors and the video's own stated end."""
        rate, end, last = self.info.average_rate, self._end, self._last_time
        # The last frame must reach to within ~1.5 frames of the stated end.
        if rate and end is not None and last is not None and last + 2.5 / float(rate) < end:
            raise InputError(
                f"{self.name}: the video ends at {last - self.origin:.2f} s but its stream "
                f"says {end - self.origin:.2f} s; it looks truncated"
            )

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
