"""Encode upscaled frames and copy the other streams into a file that appears whole or not at all.

- Timestamps: the output video stream takes the input's time base and every
  frame keeps its pts, so variable frame rate survives (field notes: an
  encoder left at 1/rate snaps pts to a grid).
- Colour: RGB is converted to the output pix_fmt with the matrix and range the
  input was read with, and the stream is tagged with them.
- Other streams (audio, subtitles, data, timecode, cover art) are copied
  packet for packet. Whether the output container takes each one is tried on
  a scratch file first, so a refusal is a warning with FFmpeg's reason at the
  start, never a failure at the end; subtitles a container refuses are
  converted between SubRip and mov_text where possible.
- The header, with the encoder opened, is written when the writer is made:
  anything FFmpeg refuses is known before the model has run.
- Geometry: the sample aspect ratio is kept (anamorphic DVD video keeps its
  display shape: both axes grow by the same factor).
- The file is written under a temporary name beside the output and renamed
  when complete; on any failure the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import sys
import tempfile
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from vsr_cli.errors import EncoderOptionError, OutputError
from vsr_cli.video.color import EXACT, ColorSpec
from vsr_cli.video.reader import ATTACHED_PIC, VideoReader, ffmpeg_reason
from vsr_cli.video.span import Span

# Tags the muxer writes itself; copying the input's would be wrong for the output.
# ALPHA_MODE says a WebM stream carries alpha, which this output's stream does not.
_STALE_TAG = re.compile(
    r"^(DURATION|ENCODER|encoder|NUMBER_OF_.*|_STATISTICS_.*|BPS.*|alpha_mode|ALPHA_MODE)$"
)
_TEXT_SUBTITLES = {"subrip", "srt", "mov_text", "text", "ass", "ssa"}
# Refused only when the file is closed (field notes), so decided up front.
_LATE_REFUSALS = {"mp4": ("pcm_",)}
# Encoders a container implies when --codec is not given, as ffmpeg picks them.
_CONTAINER_CODECS = {
    "webm": "libvpx-vp9",
    "gif": "gif",
    "apng": "apng",
    # MPEG program streams (.mpg, .vob: FFmpeg names the latter's muxer svcd or dvd):
    # MPEG-2 is what players of them decode.
    "mpeg": "mpeg2video",
    "vob": "mpeg2video",
    "svcd": "mpeg2video",
    "dvd": "mpeg2video",
}
_QUICKTIME_KEYS = "com.apple.quicktime."
_IMAGE_TYPES = {"mjpeg": ("jpg", "image/jpeg"), "png": ("png", "image/png")}


@dataclass(frozen=True)
class EncodeSettings:
    codec: str | None = None  # None: what the output container implies (libx264 mostly)
    crf: int | None = None
    preset: str | None = None
    pix_fmt: str | None = None  # None: the input's format where the encoder takes it
    options: dict[str, str] = field(default_factory=dict)


def default_codec(container: str) -> str:
    """The encoder ``ffmpeg`` would pick for a container: VP9 for WebM, GIF for GIF."""
    return _CONTAINER_CODECS.get(container, "libx264")


def encoder_options(settings: EncodeSettings, codec: str) -> dict[str, str]:
    options = dict(settings.options)
    if settings.crf is not None:
        options.setdefault("crf", str(settings.crf))
    if settings.preset is not None:
        options.setdefault("preset", settings.preset)
    if codec == "libx265":
        options.setdefault("x265-params", "log-level=error")  # x265 prints to stderr
    if codec == "libsvtav1":  # SVT-AV1 prints a banner to stderr unless told otherwise
        os.environ.setdefault("SVT_LOG", "1")
    return options


@contextlib.contextmanager
def _native_stderr() -> Iterator[list[str]]:
    """Collect what encoder libraries print straight to the process's stderr (x264 and
    x265 do, bypassing FFmpeg's log), so it becomes the reason in one error line instead
    of stray lines that would also break ``--json``."""
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines += sink.read().decode("utf-8", "replace").splitlines()


def _open_encoder(codec: str, pix_fmt: str, options: dict[str, str]) -> str | None:
    """None if ``codec`` opens with ``options`` on a small frame, else its reason."""
    with _native_stderr() as printed:
        try:
            cc = av.CodecContext.create(codec, "w")
            cc.width, cc.height, cc.pix_fmt = 64, 64, pix_fmt
            cc.time_base = Fraction(1, 25)
            cc.options = dict(options)
            cc.open()
            failure = None
        except (av.error.FFmpegError, ValueError) as e:
            failure = e
    if failure is None:
        return None
    said = [re.sub(r"^\S+ \[(error|warning)\]:\s*", "", line) for line in printed if line.strip()]
    return said[-1] if said else ffmpeg_reason(failure)


def check_encoder(settings: EncodeSettings, container: str) -> None:
    """Open the encoder with the user's options before any work, so a bad ``--preset``
    costs a second, not the model's hours; the error names the option at fault."""
    codec = settings.codec or default_codec(container)
    try:
        encoder = av.codec.Codec(codec, "w")
    except (av.error.FFmpegError, ValueError):
        raise EncoderOptionError("--codec", f"unknown video encoder {codec!r}") from None
    if encoder.type != "video":
        raise EncoderOptionError("--codec", f"{codec} encodes {encoder.type}, not video")
    formats = [f.name for f in encoder.video_formats or ()]
    if settings.pix_fmt and formats and settings.pix_fmt not in formats:
        raise EncoderOptionError(
            "--pix-fmt", f"{codec} cannot encode {settings.pix_fmt}; it takes {', '.join(formats)}"
        )
    pix_fmt = settings.pix_fmt or ("yuv420p" if "yuv420p" in formats or not formats else formats[0])
    options = encoder_options(settings, codec)
    if _open_encoder(codec, pix_fmt, options) is None:
        return
    flags = {"crf": "--crf", "preset": "--preset"}
    for key, value in options.items():
        reason = _open_encoder(codec, pix_fmt, {key: value})
        if reason is not None:
            option = flags.get(key, "--encoder-opt")
            shown = value if option != "--encoder-opt" else f"{key}={value}"
            raise EncoderOptionError(option, f"{shown!r}: {codec} refused it ({reason})")
    raise EncoderOptionError("--encoder-opt", f"{codec} refused these options together")


def choose_pix_fmt(codec: str, source_pix_fmt: str, source_depth: int, wanted: str | None) -> str:
    """The requested pix_fmt, else the source's, else the same chroma subsampling (and alpha
    plane, where the encoder has one) at the nearest depth, else 4:2:0 at the source's depth."""
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
    source = av.VideoFormat(source_pix_fmt)
    same_chroma = [
        f for f in formats if f.startswith("yuv") and _chroma(av.VideoFormat(f)) == _chroma(source)
    ]
    # Same chroma subsampling (ProRes 4444 stays 4:4:4), with the alpha plane if the source
    # has one and the encoder can, at the source's depth or the nearest the encoder has.
    if same_chroma and not source.is_rgb:
        alpha = has_alpha(source_pix_fmt)
        return min(
            same_chroma,
            key=lambda f: (
                has_alpha(f) != alpha,
                _depth(f) < source_depth,
                abs(_depth(f) - source_depth),
            ),
        )
    deep = [f for f in ("yuv420p10le", "yuv420p12le", "yuv420p16le") if f in formats]
    if source_depth > 8 and deep:
        return deep[0]
    return "yuv420p" if "yuv420p" in formats else formats[0]


def _chroma(fmt: av.VideoFormat) -> tuple[int, int]:
    return fmt.chroma_width(1024), fmt.chroma_height(1024)


def _depth(pix_fmt: str) -> int:
    return max(c.bits for c in av.VideoFormat(pix_fmt).components)


def has_alpha(pix_fmt: str) -> bool:
    return any(c.is_alpha for c in av.VideoFormat(pix_fmt).components)


def _text_of(payload: bytes, codec: str) -> str:
    if codec == "mov_text":  # 16-bit big-endian length, then UTF-8 text, then style boxes
        size = int.from_bytes(payload[:2], "big")
        return payload[2 : 2 + size].decode("utf-8", "replace")
    text = payload.decode("utf-8", "replace")
    if codec in ("ass", "ssa"):  # ReadOrder, Layer, Style, Name, margins, Effect, then Text
        text = text.split(",", 8)[-1]
        text = re.sub(r"\{[^}]*\}", "", text)  # override tags: {\i1}, {\pos(...)}
        text = text.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")
    return text


def _subtitle_payload(text: str, codec: str) -> bytes:
    if codec == "mov_text":
        data = re.sub(r"<[^>]+>", "", text).encode("utf-8")  # mov_text has no inline tags
        return len(data).to_bytes(2, "big") + data
    return text.encode("utf-8")


_UNFINISHED: set[Path] = set()  # temporary files being written, by any thread


def part_name(target: Path) -> Path:
    """Where ``target`` is written until complete: hidden, unique, short, and with its
    extension (FFmpeg picks the container from it, as ffmpeg would)."""
    return target.with_name(f".{target.stem[:40]}.{uuid.uuid4().hex[:8]}.part{target.suffix}")


def remove_unfinished() -> None:
    """Delete every temporary output still being written: an interrupted batch with one
    worker per device exits without those workers unwinding."""
    for path in list(_UNFINISHED):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


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
        span: Span | None = None,
        copy_streams: bool = True,
        video_template: av.video.stream.VideoStream | None = None,
    ) -> None:
        """``target``: a path (written atomically) or a binary stream such as stdout, which
        needs ``container_format`` since there is no extension to go by. ``span``: the
        section of the input this output holds; chapters are cut to it. ``copy_streams``:
        False writes the video alone (a piece).
        ``video_template``: a stream whose packets ``write_encoded`` will copy, instead of
        frames to encode (joining pieces)."""
        self.name = str(target) if isinstance(target, Path) else "stdout"
        info = reader.info
        self._color: ColorSpec = info.color
        self._warn = warn
        self._tmp: Path | None = None
        self._target = target
        options = (
            {"movflags": "use_metadata_tags"}  # Apple's make/model/location keys need mdta
            if any(k.startswith(_QUICKTIME_KEYS) for k in reader.container.metadata)
            else {}
        )
        try:
            if isinstance(target, Path):
                self._tmp = part_name(target)
                _UNFINISHED.add(self._tmp)
                self._out = av.open(
                    str(self._tmp),
                    "w",
                    format=container_format,
                    options=options,
                    metadata_errors="replace",
                )
            else:
                if not container_format:
                    raise OutputError("writing to a stream needs --format (e.g. matroska)")
                self._out = av.open(
                    target,
                    "w",
                    format=container_format,
                    options=options | _stream_options(container_format),
                )
        except PermissionError:
            raise OutputError(f"{self.name}: permission denied (cannot write there)") from None
        except OSError as e:
            if self._tmp is not None:
                self._tmp.unlink(missing_ok=True)
            raise OutputError(f"{self.name}: cannot create the file ({ffmpeg_reason(e)})") from None
        except ValueError as e:
            if self._tmp is not None:
                self._tmp.unlink(missing_ok=True)
            raise OutputError(f"{self.name}: cannot write this container ({e})") from None
        self._pending: deque[av.Packet] = deque()
        self._last_dts: Fraction | None = None  # of write_encoded's packets
        try:
            self._encodes = video_template is None
            if self._encodes:
                self._video = self._add_video(reader, settings, size)
            else:
                self._video = self._out.add_stream_from_template(video_template)
                self._container = self._out.format.name.split(",")[0]
            self._copies: dict[int, tuple[av.stream.Stream, str | None]] = {}
            if copy_streams:
                self._add_copies(reader)
            self._out.metadata.update(_fresh_tags(reader.container.metadata))
            with contextlib.suppress(AttributeError, av.error.FFmpegError, ValueError):
                chapters = reader.container.chapters()
                if span is not None and not span.whole:
                    length = None if span.end is None else span.end - span.start
                    chapters = cut_chapters(chapters, reader.origin + span.start, length)
                self._out.set_chapters(chapters)
            self._start()
        except BaseException:
            self.abort()
            raise

    def _start(self) -> None:
        """Open the encoder and write the header now: a refusal costs seconds, not hours."""
        try:
            self._out.start_encoding()
        except (av.error.FFmpegError, ValueError, OSError) as e:
            raise OutputError(
                f"{self.name}: cannot start the file ({ffmpeg_reason(e)}); another container "
                "(.mkv, .mp4) or --codec may take this video"
            ) from None

    @property
    def copied_streams(self) -> set[int]:
        """Input stream indices whose packets ``mux_packet`` wants."""
        return set(self._copies)

    def _add_video(self, reader: VideoReader, settings: EncodeSettings, size: tuple[int, int]):
        info = reader.info
        self._container = self._out.format.name.split(",")[0]
        codec = settings.codec or default_codec(self._container)
        pix_fmt = choose_pix_fmt(codec, info.pix_fmt, info.bit_depth, settings.pix_fmt)
        self.keeps_alpha = reader.alpha and has_alpha(pix_fmt)
        if reader.alpha and not self.keeps_alpha:
            self._warn(
                f"the alpha plane (transparency) is dropped; {codec} writes {pix_fmt} "
                "(libvpx-vp9 into .webm, prores_ks or ffv1 keep it)"
            )
        options = encoder_options(settings, codec)
        options |= self._hdr_options(reader, codec, options)
        try:
            stream = self._out.add_stream(codec, rate=info.average_rate or Fraction(25))
        except (av.error.FFmpegError, ValueError) as e:
            hint = "" if settings.codec else "; choose an encoder with --codec"
            raise OutputError(f"{self.name}: cannot encode with {codec!r} ({e}){hint}") from None
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
        if reader.first.rotation:
            stream.set_display_rotation(reader.first.rotation)
        sar = reader.video_stream.codec_context.sample_aspect_ratio
        if sar and sar != 1:  # both axes grow alike, so the pixel shape is the same
            cc.sample_aspect_ratio = sar
        stream.metadata.update(_fresh_tags(reader.video_stream.metadata))
        # Frames arrive as 16-bit RGB when the output keeps more than 8 bits.
        self.rgb_depth = 16 if av.VideoFormat(pix_fmt).components[0].bits > 8 else 8
        self._rgb_format = {
            (8, False): "rgb24",
            (16, False): "rgb48le",
            (8, True): "rgba",
            (16, True): "rgba64le",
        }[self.rgb_depth, self.keeps_alpha]
        self._reformatter = VideoReformatter()
        return stream

    def _hdr_options(
        self, reader: VideoReader, codec: str, options: dict[str, str]
    ) -> dict[str, str]:
        """HDR10 mastering display and light levels, as the encoders that take them want,
        added to the parameter string already in ``options``."""
        hdr = reader.hdr
        if hdr is None:
            return {}
        own = {"libx265": ("x265-params", hdr.x265_params()),
               "libsvtav1": ("svtav1-params", hdr.svtav1_params())}.get(codec)  # fmt: skip
        if own is None:
            self._warn(
                f"the HDR mastering-display and light-level metadata is not written by {codec}"
                " (use --codec libx265 or libsvtav1); the colour tags are kept"
            )
            return {}
        key, params = own
        return {key: ":".join(p for p in (options.get(key), params) if p)}

    def _add_copies(self, reader: VideoReader) -> None:
        container = self._container
        covers = reader.cover_art()
        for stream in reader.container.streams:
            if stream.index == reader.video_stream.index or not _worth_copying(stream):
                continue
            if container == "matroska" and stream.index in covers:
                self._attach_cover(stream, covers[stream.index])
                continue
            codec = stream.codec_context.name if stream.codec_context else stream.type
            kind = "cover art" if stream.disposition & ATTACHED_PIC else f"{stream.type} stream"
            late = any(codec.startswith(p) for p in _LATE_REFUSALS.get(container, ()))
            refusal = "refused when the file is closed" if late else self._refusal(stream)
            if refusal is None:
                out = self._out.add_stream_from_template(stream)
                out.disposition = stream.disposition
                convert_to = None
            else:
                out, convert_to = (None, None) if late else self._add_converted_subtitles(stream)
                if out is None:
                    self._warn(
                        f"dropped {kind} #{stream.index} ({codec}): {container} cannot hold "
                        f"it ({refusal})"
                    )
                    continue
                self._warn(
                    f"converted subtitle stream #{stream.index} from {codec} to {convert_to}"
                )
            out.metadata.update(_fresh_tags(stream.metadata))
            self._copies[stream.index] = (out, convert_to)

    def _attach_cover(self, stream: av.stream.Stream, data: bytes) -> None:
        """Matroska keeps cover art as an attachment named ``cover.*`` (its convention),
        not as a one-picture video track."""
        codec = stream.codec_context.name if stream.codec_context else ""
        ext, mime = _IMAGE_TYPES.get(codec, ("bin", "application/octet-stream"))
        self._out.add_attachment(f"cover.{ext}", mime, data)

    def _refusal(self, stream: av.stream.Stream) -> str | None:
        """Whether this container takes a copy of ``stream``, tried on a scratch file with
        the same video stream beside it (a timecode track needs one): None, or FFmpeg's
        reason. Deciding it here, not when the real header is written, keeps one refused
        stream from costing the whole file."""
        video = self._video
        try:
            with _native_stderr(), av.open(io.BytesIO(), "w", format=self._container) as probe:
                stand_in = probe.add_stream(video.codec_context.name, rate=video.average_rate)
                stand_in.width, stand_in.height = video.width, video.height
                stand_in.pix_fmt = video.pix_fmt
                stand_in.time_base = video.time_base
                copy = probe.add_stream_from_template(stream)
                copy.disposition = stream.disposition
                probe.start_encoding()
        except (av.error.FFmpegError, ValueError, OSError) as e:
            return ffmpeg_reason(e)
        return None

    def _add_converted_subtitles(self, stream):
        codec = stream.codec_context.name if stream.codec_context else ""
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
            raise OutputError(f"{self.name}: writing failed ({ffmpeg_reason(e)})") from None

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
            rgb = np.dstack(
                (
                    rgb,
                    alpha
                    if alpha is not None
                    else np.full_like(rgb[..., 0], np.iinfo(rgb.dtype).max),
                )
            )
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
            raise OutputError(f"{self.name}: encoding failed ({ffmpeg_reason(e)})") from None

    def finish(self) -> None:
        """Flush, close and (for a file) move the complete file to its final name."""
        for packet in self._encode(None) if self._encodes else ():
            self._mux(packet)
        self._flush_pending(None)
        try:
            self._out.close()
        except av.error.FFmpegError as e:
            self.abort()
            raise OutputError(
                f"{self.name}: finishing the file failed ({ffmpeg_reason(e)})"
            ) from None
        if self._tmp is not None:
            try:
                with open(self._tmp, "rb") as written:  # on disk before it takes the name
                    os.fsync(written.fileno())
                os.replace(self._tmp, self._target)
            except OSError as e:
                self.abort()
                raise OutputError(f"{self.name}: cannot publish the file ({e.strerror})") from None
            _UNFINISHED.discard(self._tmp)
            self._tmp = None

    def abort(self) -> None:
        """Drop the temporary file; the final name is never touched."""
        with contextlib.suppress(Exception):
            self._out.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.unlink(missing_ok=True)
            _UNFINISHED.discard(self._tmp)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, *_: object) -> None:
        if exc_type is not None or self._tmp is not None:
            self.abort()


def cut_chapters(chapters: list[dict], start: float, length: float | None) -> list[dict]:
    """The chapters that overlap ``[start, start + length)`` (seconds, the container's
    clock), clipped to it and moved back by ``start``."""
    kept = []
    for chapter in chapters:
        base = chapter["time_base"]
        begin = float(chapter["start"] * base) - start
        end = float(chapter["end"] * base) - start
        if length is not None:
            end = min(end, length)
        if end <= 0 or (length is not None and begin >= length):
            continue
        begin = max(begin, 0.0)
        kept.append(
            chapter | {"start": round(begin / base), "end": round(end / base), "id": len(kept)}
        )
    return kept


def _worth_copying(stream: av.stream.Stream) -> bool:
    """Not the streams the demuxer itself sets aside (MP4's chapter text track: chapters are
    copied as chapters), nor a timecode track, whose ``timecode`` tag the video stream
    carries and the MOV/MP4 muxers turn back into a track (as ffmpeg does)."""
    if stream.discard == av.stream.Discard.all:
        return False
    return not (stream.type == "data" and "timecode" in stream.metadata)


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


def write_rgb_video(target: Path, frames: Iterable[np.ndarray], rate: Fraction) -> int:
    """A plain H.264 file (yuv420p, CRF 16) of RGB frames at a constant ``rate``, for
    looking at, not for keeping (``vsr compare --video``); published only when complete."""
    tmp = part_name(target)
    _UNFINISHED.add(tmp)
    count = 0
    try:
        with av.open(str(tmp), "w") as out:
            stream: av.video.stream.VideoStream | None = None
            for rgb in frames:
                if stream is None:
                    stream = out.add_stream("libx264", rate=rate, options={"crf": "16"})
                    stream.height, stream.width = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
                    stream.pix_fmt = "yuv420p"
                frame = av.VideoFrame.from_ndarray(
                    np.ascontiguousarray(rgb[: stream.height, : stream.width]), format="rgb24"
                )
                frame.pts = count
                frame.time_base = 1 / rate
                out.mux(stream.encode(frame))
                count += 1
            if stream is None:
                raise OutputError(f"{target}: no frames to write")
            out.mux(stream.encode(None))
        os.replace(tmp, target)
    except (OSError, av.error.FFmpegError) as e:
        raise OutputError(f"{target}: cannot write ({ffmpeg_reason(e)})") from None
    finally:
        tmp.unlink(missing_ok=True)
        _UNFINISHED.discard(tmp)
    return count
