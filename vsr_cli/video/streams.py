"""Which of the input's other streams (audio, subtitles, data, cover art) an output keeps,
and how their packets are made fit for it.

Whether the output container takes a copy of each stream is tried on a scratch
file first, so a refusal is a warning with FFmpeg's reason at the start, never a
failure at the end. Text subtitles a container refuses are converted between
SubRip and mov_text where possible; Matroska keeps cover art as an attachment.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import av

from vsr_cli.video.ffmpeg import ffmpeg_reason, logged
from vsr_cli.video.reader import ATTACHED_PIC
from vsr_cli.video.spec import OutputSpec

# Tags the muxer writes itself; copying the input's would be wrong for the output.
# ALPHA_MODE says a WebM stream carries alpha, which this output's stream does not.
_STALE_TAG = re.compile(
    r"^(DURATION|ENCODER|encoder|NUMBER_OF_.*|_STATISTICS_.*|BPS.*|alpha_mode|ALPHA_MODE)$"
)
_TEXT_SUBTITLES = {"subrip", "srt", "mov_text", "text", "ass", "ssa"}
# Refused only when the file is closed (field notes), so decided up front.
_LATE_REFUSALS = {"mp4": ("pcm_",)}
_IMAGE_TYPES = {"mjpeg": ("jpg", "image/jpeg"), "png": ("png", "image/png")}


def fresh_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not _STALE_TAG.match(k)}


@dataclass(frozen=True)
class Copy:
    """An input stream's place in the output: its stream there, and the subtitle codec its
    text is rewritten into (None: packets are copied as they are)."""

    stream: av.stream.Stream
    convert_to: str | None = None

    def packet_for(self, packet: av.Packet) -> av.Packet | None:
        """``packet`` ready to mux into this stream (None: an empty subtitle, dropped)."""
        if self.convert_to:
            text = _text_of(bytes(packet), packet.stream.codec_context.name)
            if not text.strip():
                return None
            fresh = av.Packet(_subtitle_payload(text, self.convert_to))
            fresh.pts, fresh.dts, fresh.duration = packet.pts, packet.dts, packet.duration
            fresh.time_base = packet.time_base
            packet = fresh
        packet.stream = self.stream
        return packet


def add_copies(
    out: av.container.OutputContainer,
    container: str,
    video: av.video.stream.VideoStream,
    spec: OutputSpec,
    warn: Callable[[str], None],
) -> dict[int, Copy]:
    """Add to ``out`` every stream of ``spec`` that ``container`` takes (as a copy, or
    converted); warn of each it drops, with FFmpeg's reason. Input index -> its copy."""
    copies: dict[int, Copy] = {}
    for stream in spec.streams:
        if container == "matroska" and stream.index in spec.covers:
            _attach_cover(out, stream, spec.covers[stream.index])
            continue
        codec = stream.codec_context.name if stream.codec_context else stream.type
        kind = "cover art" if stream.disposition & ATTACHED_PIC else f"{stream.type} stream"
        late = any(codec.startswith(p) for p in _LATE_REFUSALS.get(container, ()))
        refusal = "refused when the file is closed" if late else _refusal(container, video, stream)
        if refusal is None:
            copy = Copy(out.add_stream_from_template(stream))
            copy.stream.disposition = stream.disposition
        else:
            copy = None if late else _converted_subtitles(out, stream)
            if copy is None:
                warn(
                    f"dropped {kind} #{stream.index} ({codec}): {container} cannot hold it "
                    f"({refusal})"
                )
                continue
            warn(f"converted subtitle stream #{stream.index} from {codec} to {copy.convert_to}")
        copy.stream.metadata.update(fresh_tags(stream.metadata))
        copies[stream.index] = copy
    return copies


def _attach_cover(out: av.container.OutputContainer, stream: av.stream.Stream, data: bytes) -> None:
    """Matroska keeps cover art as an attachment named ``cover.*`` (its convention), not as
    a one-picture video track."""
    codec = stream.codec_context.name if stream.codec_context else ""
    ext, mime = _IMAGE_TYPES.get(codec, ("bin", "application/octet-stream"))
    out.add_attachment(f"cover.{ext}", mime, data)


def _refusal(
    container: str, video: av.video.stream.VideoStream, stream: av.stream.Stream
) -> str | None:
    """Whether ``container`` takes a copy of ``stream``, tried on a scratch file with the
    same video stream beside it (a timecode track needs one): None, or FFmpeg's reason.
    Deciding it here, not when the real header is written, keeps one refused stream from
    costing the whole file."""
    try:
        with logged(), av.open(io.BytesIO(), "w", format=container) as probe:
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


def _converted_subtitles(
    out: av.container.OutputContainer, stream: av.stream.Stream
) -> Copy | None:
    codec = stream.codec_context.name if stream.codec_context else ""
    if stream.type != "subtitle" or codec not in _TEXT_SUBTITLES:
        return None
    for target in ("mov_text", "subrip"):
        if target == codec:
            continue
        try:
            converted = out.add_mux_stream(target)
        except (ValueError, av.error.FFmpegError):
            continue
        converted.time_base = stream.time_base
        return Copy(converted, target)
    return None


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
