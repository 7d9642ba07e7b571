"""Encode upscaled frames, copy the other streams, and mux them into a file that appears
whole or not at all.

- Timestamps: the output video stream takes the input's time base and every
  frame keeps its pts, so variable frame rate survives (field notes: an
  encoder left at 1/rate snaps pts to a grid).
- Colour: RGB is converted to the output pix_fmt with the matrix and range the
  input was read with, and the stream is tagged with them.
- The header, with the encoder opened, is written when the writer is made:
  anything FFmpeg refuses is known before the model has run.
- Geometry: the sample aspect ratio is kept (anamorphic DVD video keeps its
  display shape: both axes grow by the same factor).
- A path is written under a temporary name beside it (``publish.PartFile``) and
  renamed when complete; on any failure the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import tempfile
from collections import deque
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from vsr_cli.config import EncodeSettings
from vsr_cli.context import RunContext
from vsr_cli.errors import OutputError, UsageError
from vsr_cli.video.color import EXACT
from vsr_cli.video.encoder import (
    check_encoder,
    choose_pix_fmt,
    default_codec,
    encoder_failure,
    encoder_options,
    fit_to_chroma,
    has_alpha,
    hdr_options,
    largest_frame,
    pixel_depth,
)
from vsr_cli.video.ffmpeg import ffmpeg_reason
from vsr_cli.video.gif import GifPalettes
from vsr_cli.video.publish import PartFile, is_special
from vsr_cli.video.spec import OutputSpec
from vsr_cli.video.streams import Copy, add_copies, fresh_tags


class VideoWriter:
    """The output file being written; ``finish()`` publishes it, leaving the context aborts it."""

    def __init__(
        self,
        target: Path | BinaryIO,
        spec: OutputSpec,
        settings: EncodeSettings,
        context: RunContext,
        format: str | None = None,
        video_template: av.video.stream.VideoStream | None = None,
    ) -> None:
        """``target``: a path (written atomically) or a binary stream such as stdout, which
        needs ``format`` (the container) since there is no extension to go by.
        ``video_template``: a stream whose packets ``write_encoded`` will copy, instead of
        frames to encode (joining pieces)."""
        self.name = str(target) if isinstance(target, Path) else "stdout"
        self._spec = spec
        self._context = context
        self._part: PartFile | None = None
        options = {"movflags": "use_metadata_tags"} if spec.apple_tags else {}
        if format == "yuv4mpegpipe" or (isinstance(target, Path) and target.suffix == ".y4m"):
            options["strict"] = "-1"  # YUV4MPEG's "unofficial" formats: those over 8 bits
        try:
            if isinstance(target, Path) and is_special(target):  # /dev/null, a FIFO: into it
                self._out = av.open(str(target), "w", format=format, options=options)
            elif isinstance(target, Path):
                self._part = PartFile(target, context.parts)
                self._out = av.open(
                    str(self._part.path),
                    "w",
                    format=format,
                    options=options,
                    metadata_errors="replace",
                )
            else:
                if not format:
                    raise OutputError("writing to a stream needs --format (e.g. matroska)")
                self._out = av.open(
                    target, "w", format=format, options=options | _pipe_options(format)
                )
        except PermissionError:
            raise OutputError(f"{self.name}: permission denied (cannot write there)") from None
        except OSError as e:
            self._drop_part()
            raise OutputError(f"{self.name}: cannot create the file ({ffmpeg_reason(e)})") from None
        except ValueError as e:
            self._drop_part()
            raise OutputError(f"{self.name}: cannot write this container ({e})") from None
        self._container = self._out.format.name.split(",")[0]
        self._pending: deque[av.Packet] = deque()
        self._last_dts: Fraction | None = None  # of write_encoded's packets
        try:
            self._encodes = video_template is None
            if self._encodes:
                self._video = self._add_video(settings)
            else:
                self._video = self._out.add_stream_from_template(video_template)
            self._copies: dict[int, Copy] = add_copies(
                self._out, self._container, self._video, spec, self._context
            )
            self._out.metadata.update(fresh_tags(spec.tags))
            with contextlib.suppress(AttributeError, av.error.FFmpegError, ValueError):
                self._out.set_chapters(spec.chapters)
            self._start()
        except BaseException:
            self.abort()
            raise

    def _drop_part(self) -> None:
        if self._part is not None:
            self._part.abort()

    def _start(self) -> None:
        """Open the encoder and write the header now: a refusal costs seconds, not hours."""
        try:
            self._out.start_encoding()
        except (av.error.FFmpegError, ValueError, OSError) as e:
            reason = ffmpeg_reason(e)
            raise self._too_big(reason) or OutputError(
                f"{self.name}: {self._container} cannot start this file ({reason}); another "
                "container (.mkv, .mp4) or --codec may take this video"
            ) from None

    def _too_big(self, reason: str) -> OutputError | None:
        """The encoder itself refusing a frame of the output's size (tried alone, in a child
        process), said with the largest frame it does take."""
        if not self._encodes:
            return None
        cc = self._video.codec_context
        codec, size = self._codec, (cc.width, cc.height)
        if encoder_failure(codec, cc.pix_fmt, size, dict(cc.options)) is None:
            return None
        width, height = largest_frame(codec, cc.pix_fmt, size, dict(cc.options))
        limits = [
            f"{limit} px {side}"
            for n, limit, side in ((size[0], width, "wide"), (size[1], height, "high"))
            if limit and limit < n
        ]
        most = f": it takes at most {' and '.join(limits)}" if limits else ""
        return OutputError(
            f"{self.name}: the encoder {codec} cannot open a frame of {size[0]}x{size[1]} "
            f"({reason}){most}; a smaller --scale or another --codec may fit"
        )

    @property
    def copied_streams(self) -> set[int]:
        """Input stream indices whose packets ``mux_packet`` wants."""
        return set(self._copies)

    def _add_video(self, settings: EncodeSettings) -> av.video.stream.VideoStream:
        spec = self._spec
        deep = spec.bit_depth > 8 and not spec.alpha
        codec = settings.codec or default_codec(self._container, spec.color.hdr, deep)
        if codec != (settings.codec or default_codec(self._container)):
            # Your --crf, --preset and --encoder-opt were checked with the container's
            # default encoder, before the input said it is HDR or deep.
            check_encoder(replace(settings, codec=codec), self._container)
        self._codec = codec
        pix_fmt = choose_pix_fmt(
            codec, spec.pix_fmt, spec.bit_depth, settings.pix_fmt, self._container
        )
        if 8 < spec.bit_depth and pixel_depth(pix_fmt) < spec.bit_depth and not settings.pix_fmt:
            self._context.warn(
                f"the video is {spec.bit_depth}-bit; {codec} writes {pixel_depth(pix_fmt)}-bit "
                f"{pix_fmt}; another --codec keeps the depth (libx265 or libsvtav1; ffv1 in .mkv)"
            )
        palettes = codec == "gif" and pix_fmt == "pal8"
        self.keeps_alpha = spec.alpha and (has_alpha(pix_fmt) or palettes)
        if spec.alpha and not self.keeps_alpha:
            self._context.warn(
                f"the alpha plane (transparency) is dropped; {codec} writes {pix_fmt} "
                "(libvpx-vp9 into .webm, prores_ks or ffv1 keep it)"
            )
        options = encoder_options(settings, codec)
        hdr, kept = hdr_options(spec.hdr, codec, options)
        if not kept:
            self._context.warn(
                f"the HDR10 mastering-display and content-light-level metadata is lost: {codec}"
                " cannot write it (libx265, the default for HDR, and libsvtav1 can); the "
                "colour tags and bit depth are kept"
            )
        options |= hdr
        try:
            stream = self._out.add_stream(codec, rate=spec.rate or Fraction(25))
        except (av.error.FFmpegError, ValueError) as e:
            hint = "" if settings.codec else "; choose an encoder with --codec"
            raise OutputError(f"{self.name}: cannot encode with {codec!r} ({e}){hint}") from None
        self.size = fit_to_chroma(spec.size, pix_fmt)
        if self.size != spec.size:
            (w, h), (sw, sh) = self.size, spec.size
            self._context.warn(
                f"output is {w}x{h} instead of {sw}x{sh}: "
                f"{pix_fmt} needs sizes that its chroma subsampling divides"
            )
        stream.width, stream.height = self.size
        stream.pix_fmt = pix_fmt
        stream.time_base = spec.time_base
        cc = stream.codec_context
        cc.time_base = spec.time_base
        cc.colorspace = spec.color.matrix
        cc.color_range = spec.color.range
        cc.color_primaries = spec.color.primaries
        cc.color_trc = spec.color.transfer
        cc.options = options
        if codec == "libx265" and self._container in ("mp4", "mov", "ipod"):
            cc.codec_tag = "hvc1"  # QuickTime and iOS play HEVC tagged hvc1 only, not hev1
        if spec.display_matrix:
            stream.set_display_matrix(spec.display_matrix)
        sar = spec.sample_aspect_ratio
        if sar and sar != 1:  # both axes grow alike, so the pixel shape is the same
            cc.sample_aspect_ratio = sar
        stream.metadata.update(fresh_tags(spec.video_tags))
        # Frames arrive as 16-bit RGB when the output keeps more than 8 bits.
        self.rgb_depth = 16 if av.VideoFormat(pix_fmt).components[0].bits > 8 else 8
        self._rgb_format = {
            (8, False): "rgb24",
            (16, False): "rgb48le",
            (8, True): "rgba",
            (16, True): "rgba64le",
        }[self.rgb_depth, self.keeps_alpha]
        self._reformatter = VideoReformatter()
        self._palettes = (
            GifPalettes(self.size, self.keeps_alpha, spec.time_base) if palettes else None
        )
        return stream

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
            copy = self._copies[packet.stream.index]
            ready = copy.packet_for(packet)
            if ready is None:
                continue
            try:
                self._out.mux(ready)
            except av.error.FFmpegError as e:
                at = float(ready.dts * ready.time_base) if ready.dts is not None else None
                copy.refused(self._container, at, ffmpeg_reason(e))

    def _mux(self, packet: av.Packet) -> None:
        """Mux a packet of the video: a refusal ends the file, said with what to do."""
        try:
            self._out.mux(packet)
        except av.error.FFmpegError as e:
            raise self._failed("writing the video", e) from None

    def _failed(self, doing: str, e: av.error.FFmpegError) -> OutputError:
        reason = ffmpeg_reason(e)
        if getattr(e, "errno", None) in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            what = "make room (or write elsewhere) and run the command again"
        else:
            what = "an .mkv output, or another --codec, may take it"
        return OutputError(f"{self.name}: {doing} into {self._container} failed ({reason}); {what}")

    def write_frame(
        self,
        rgb: np.ndarray,
        pts: int | None,
        time: float | None,
        alpha: np.ndarray | None = None,
    ) -> None:
        """Encode one output frame (with its alpha plane where kept), keeping the input
        frame's timestamp."""
        self._flush_pending(time)
        if self.keeps_alpha:
            opaque = np.full_like(rgb[..., 0], np.iinfo(rgb.dtype).max)
            rgb = np.dstack((rgb, alpha if alpha is not None else opaque))
        frame = av.VideoFrame.from_ndarray(rgb, format=self._rgb_format)
        if self._palettes is not None:
            frame = self._palettes.convert(frame)
        else:
            frame = self._reformatter.reformat(
                frame,
                format=self._video.pix_fmt,
                dst_colorspace=self._spec.color.sws_matrix,
                dst_color_range=self._spec.color.sws_range,
                interpolation=EXACT,
            )
        # The input's time base: the muxer may have picked another for the stream.
        frame.pts = pts
        frame.time_base = self._spec.time_base
        for packet in self._encode(frame):
            self._mux(packet)

    def write_encoded(self, packet: av.Packet) -> None:
        """Mux a packet that an encoder with this writer's settings made (a finished
        piece's), in place of encoding a frame. Pieces each begin their decode timestamps
        afresh, and Matroska leaves some out: a missing one, or one that would not follow
        the previous packet's, becomes the previous one plus one tick (presentation times
        are never moved)."""
        tb = packet.time_base
        if self._last_dts is not None and (packet.dts is None or packet.dts * tb <= self._last_dts):
            packet.dts = math.floor(self._last_dts / tb) + 1
        elif packet.dts is None:
            packet.dts = packet.pts
        if packet.dts is not None:
            self._flush_pending(float(packet.dts * tb))
            self._last_dts = packet.dts * tb
        packet.stream = self._video
        self._mux(packet)

    def _encode(self, frame: av.VideoFrame | None) -> list[av.Packet]:
        try:
            return self._video.encode(frame)
        except av.error.FFmpegError as e:
            raise self._failed(f"encoding the video with {self._codec}", e) from None

    def finish(self) -> None:
        """Flush, close and (for a file) move the complete file to its final name."""
        for packet in self._encode(None) if self._encodes else ():
            self._mux(packet)
        self._flush_pending(None)
        try:
            self._out.close()
        except av.error.FFmpegError as e:
            self.abort()
            raise self._failed("finishing the file", e) from None
        if self._part is not None:
            try:
                self._part.publish()
            except OSError as e:
                self.abort()
                raise OutputError(
                    f"{self.name}: cannot give the finished file its name ({e.strerror}); check "
                    "the folder's permissions and free space"
                ) from None
            self._part = None

    def abort(self) -> None:
        """Drop the temporary file; the final name is never touched."""
        with contextlib.suppress(Exception):  # a half-written container may fail in any way
            self._out.close()
        self._drop_part()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, *_: object) -> None:
        if exc_type is not None or self._part is not None:
            self.abort()


KNOWN_EXTENSIONS = ".mkv .mp4 .mov .webm .ts .m2ts .nut .avi .mpg .gif .y4m"


def muxer_for(target: Path, format: str | None = None) -> str:
    """The FFmpeg muxer that writes ``target``: ``format``'s, or the one its extension
    names (a usage error, with what would do, when FFmpeg knows neither)."""
    if format:
        try:
            return av.format.ContainerFormat(format, "w").name
        except (ValueError, av.error.FFmpegError):
            raise UsageError(
                f"--format: unknown container {format!r} (e.g. matroska, mp4, nut, mpegts)"
            ) from None
    with tempfile.TemporaryDirectory() as folder:
        try:
            with av.open(os.path.join(folder, f"probe{target.suffix}"), "w") as probe:
                return probe.format.name.split(",")[0]
        except (ValueError, av.error.FFmpegError):
            raise UsageError(
                f"{target}: no container is known by the extension {target.suffix or '(none)'!r};"
                f" use one of {KNOWN_EXTENSIONS}, or name it with --format"
            ) from None


def _pipe_options(format: str) -> dict[str, str]:
    """MP4 can't seek back to write its index on a pipe: write it fragmented."""
    if format in ("mp4", "mov", "ipod", "ismv"):
        return {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
    return {}
