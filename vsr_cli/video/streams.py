"""Which of the input's other streams (audio, subtitles, data, cover art) an output keeps,
and how their packets are made fit for it.

Each stream is tried on a scratch file first, the way the real output will write it: the
header, the stream's first packets (through the same timestamp repairs), the trailer,
and then the file read back. So a muxer that refuses a packet rather than the header,
and one that would store a stream as something else (ASS in MPEG-TS reads back as
``bin_data``), are both found before the model runs; the stream is then converted (text
subtitles, between SubRip and mov_text) or dropped with a warning giving the reason.
While writing, decode timestamps that go backwards are moved forward as ffmpeg does, and
a packet the muxer still refuses ends that one stream's copy, never the file.
Matroska keeps cover art as an attachment.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import av

from vsr_cli.context import RunContext
from vsr_cli.events import CallbackReporter
from vsr_cli.video.ffmpeg import ffmpeg_reason, logged
from vsr_cli.video.probe import ATTACHED_PIC
from vsr_cli.video.spec import OutputSpec
from vsr_cli.video.subtitles import convert, targets_for

# Tags the muxer writes itself; copying the input's would be wrong for the output.
# ALPHA_MODE says a WebM stream carries alpha, which this output's stream does not.
_STALE_TAG = re.compile(
    r"^(DURATION|ENCODER|encoder|NUMBER_OF_.*|_STATISTICS_.*|BPS.*|alpha_mode|ALPHA_MODE)$"
)
_IMAGE_TYPES = {"mjpeg": ("jpg", "image/jpeg"), "png": ("png", "image/png")}
_NONSTRICT = av.format.Flags.ts_nonstrict.value


def fresh_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not _STALE_TAG.match(k)}


def describe(stream: av.stream.Stream) -> str:
    """``subtitle stream #2 (dvb_subtitle)``: how warnings and errors name a stream."""
    kind = "cover art" if stream.disposition & ATTACHED_PIC else f"{stream.type} stream"
    return f"{kind} #{stream.index} ({_codec(stream)})"


def _codec(stream: av.stream.Stream) -> str:
    return stream.codec_context.name if stream.codec_context else stream.type


@dataclass(eq=False)
class Copy:
    """An input stream's place in the output: its stream there, the subtitle format its text
    is rewritten into (None: packets are copied as they are), and its timestamp state."""

    stream: av.stream.Stream
    source: str  # the input stream, as ``describe`` names it
    codec: str  # the input stream's codec
    convert_to: str | None
    strict: bool  # the muxer wants strictly increasing decode timestamps
    context: RunContext
    stopped: bool = False
    _last_dts: int | None = field(default=None, repr=False)
    _moved: bool = field(default=False, repr=False)

    def packet_for(self, packet: av.Packet) -> av.Packet | None:
        """``packet`` ready to mux into this stream (None: an empty subtitle, or a stream
        whose copy has stopped)."""
        if self.stopped:
            return None
        if self.convert_to:
            payload = convert(bytes(packet), self.codec, self.convert_to)
            if payload is None:
                return None
            packet = _clone(packet, payload)
        packet.stream = self.stream
        self._forward(packet)
        return packet

    def _forward(self, packet: av.Packet) -> None:
        """A decode timestamp behind the previous one (a DVB subtitle's clear packet timed
        before its show packet, audio overlapping where two recordings were joined) is
        moved up to it, plus a tick where the muxer wants them strictly increasing: what
        ffmpeg does when it copies. Said once per stream."""
        base = self.stream.time_base
        if packet.dts is None or not base or not packet.time_base:
            return
        _rebase(packet, base)
        floor = None if self._last_dts is None else self._last_dts + self.strict
        if floor is not None and packet.dts < floor:
            if not self._moved:
                self.context.warn(
                    f"{self.source}: timestamps go backwards at {float(packet.dts * base):.3f} s;"
                    " moved forward as ffmpeg does"
                )
                self._moved = True
            if packet.pts is not None and packet.pts >= packet.dts:
                packet.pts = max(packet.pts, floor)
            packet.dts = floor
        self._last_dts = packet.dts

    def refused(self, container: str, at: float | None, reason: str) -> None:
        """The muxer refused one of this stream's packets after the header was written: the
        rest of this stream is left out, with a warning, and the file goes on."""
        self.stopped = True
        when = f" from {at:.3f} s on" if at is not None else ""
        self.context.warn(f"dropped {self.source}{when}: {container} refused its packet ({reason})")


def add_copies(
    out: av.container.OutputContainer,
    container: str,
    video: av.video.stream.VideoStream,
    spec: OutputSpec,
    context: RunContext,
) -> dict[int, Copy]:
    """Add to ``out`` every stream of ``spec`` that ``container`` takes (as a copy, or
    converted); warn of each it drops, with FFmpeg's reason. Input index -> its copy."""
    copies: dict[int, Copy] = {}
    for stream in spec.streams:
        if container == "matroska" and stream.index in spec.covers:
            _attach_cover(out, stream, spec.covers[stream.index])
            continue
        samples = spec.samples.get(stream.index, ())
        refusal = functools.partial(_refusal, video=video, stream=stream, samples=samples)
        reason, target, name = refusal(container), None, describe(stream)
        if reason is not None:
            fits = (t for t in _targets(stream) if not refusal(container, convert_to=t))
            target = next(fits, None)
            if target is None:
                keeps = container != "matroska" and not refusal("matroska")
                hint = "; an .mkv output keeps it" if keeps else ""
                context.warn(f"dropped {name}: {container} cannot hold it ({reason}){hint}")
                continue
            context.warn(f"converted {name} to {target}: {container} cannot hold {_codec(stream)}")
        copy = _add(out, stream, target, context)
        copy.stream.metadata.update(fresh_tags(stream.metadata))
        copies[stream.index] = copy
    return copies


def _targets(stream: av.stream.Stream) -> list[str]:
    return targets_for(_codec(stream)) if stream.type == "subtitle" else []


def _add(
    out: av.container.OutputContainer,
    stream: av.stream.Stream,
    convert_to: str | None,
    context: RunContext,
) -> Copy:
    """``stream``'s place in ``out``: a copy of it, or a ``convert_to`` subtitle stream."""
    if convert_to is None:
        added = out.add_stream_from_template(stream)
        added.disposition = stream.disposition
    else:
        added = out.add_mux_stream(convert_to)
        added.time_base = stream.time_base
    lenient = out.format.flags & _NONSTRICT or stream.type in ("subtitle", "data")
    return Copy(added, describe(stream), _codec(stream), convert_to, not lenient, context)


def _attach_cover(out: av.container.OutputContainer, stream: av.stream.Stream, data: bytes) -> None:
    """Matroska keeps cover art as an attachment named ``cover.*`` (its convention), not as
    a one-picture video track."""
    codec = stream.codec_context.name if stream.codec_context else ""
    ext, mime = _IMAGE_TYPES.get(codec, ("bin", "application/octet-stream"))
    out.add_attachment(f"cover.{ext}", mime, data)


# A scratch copy's own repairs are not worth a word: the real output's are said.
_SILENT = RunContext(CallbackReporter(None, lambda _: None))


def _refusal(
    container: str,
    video: av.video.stream.VideoStream,
    stream: av.stream.Stream,
    samples: Sequence[av.Packet],
    convert_to: str | None = None,
) -> str | None:
    """Whether ``container`` takes ``stream`` (copied, or converted to ``convert_to``):
    None, or the reason. Tried on a scratch file with a stand-in for the output's video
    beside it (a timecode track needs one): header, ``samples`` (the stream's first
    packets, through the same repairs as the real ones), trailer, then read back."""
    scratch = io.BytesIO()
    try:
        with logged(), av.open(scratch, "w", format=container) as probe:
            # The output's encoder, on small frames (so that one refusing the output's size
            # refuses no stream here): its header data is what muxers want of a video.
            stand_in = probe.add_stream(video.codec_context.name, rate=video.average_rate or 25)
            stand_in.width = stand_in.height = 64
            stand_in.pix_fmt = video.codec_context.pix_fmt
            stand_in.time_base = video.time_base
            stand_in.codec_context.options = dict(video.codec_context.options)
            copy = _add(probe, stream, convert_to, _SILENT)
            probe.start_encoding()
            for packet in _blank_picture(stand_in) if samples else ():
                probe.mux(packet)
            for sample in samples:
                packet = copy.packet_for(_clone(sample, bytes(sample)))
                if packet is not None:
                    probe.mux(packet)
    except (av.error.FFmpegError, ValueError, OSError) as e:
        return ffmpeg_reason(e)
    if not samples:  # nothing written to read back
        return None
    return _read_back(scratch.getvalue(), container, stream.type)


def _blank_picture(video: av.video.stream.VideoStream) -> list[av.Packet]:
    """One blank frame, encoded: a muxer may take no other packet before a picture (MXF
    refuses audio before its header, which the first video packet completes)."""
    frame = av.VideoFrame(video.width, video.height, video.pix_fmt)
    frame.pts = 0
    try:
        return [*video.encode(frame), *video.encode(None)]
    except (av.error.FFmpegError, ValueError):
        return []  # the samples alone, then


def _read_back(data: bytes, container: str, kind: str) -> str | None:
    """None if the scratch file's copy (its last stream: a muxer may leave out the stand-in,
    which has no packets) reads back as a ``kind`` stream; else what it reads back as
    (MPEG-TS writes a subtitle it has no code for as unlabelled data). A file FFmpeg
    can't read back by that container's name is taken on trust."""
    try:
        with av.open(io.BytesIO(data), format=container) as back:
            if not back.streams:
                return None
            found, name = back.streams[-1].type, _codec(back.streams[-1])
    except (av.error.FFmpegError, ValueError, OSError):
        return None
    if found == kind:
        return None
    return f"it would be stored as a {found} stream" + (f" ({name})" if name != found else "")


def _clone(packet: av.Packet, payload: bytes) -> av.Packet:
    """A packet of ``payload`` with ``packet``'s timing: a sample tried on scratch files
    more than once, or a subtitle's rewritten text."""
    fresh = av.Packet(payload)
    fresh.pts, fresh.dts, fresh.duration = packet.pts, packet.dts, packet.duration
    fresh.time_base = packet.time_base
    return fresh


def _rebase(packet: av.Packet, base: Fraction) -> None:
    """Express ``packet``'s times in ``base`` (rounded to the nearest tick, as the muxer
    would), so they can be compared with the previous packet's there."""
    scale = packet.time_base / base
    if scale != 1:
        if packet.pts is not None:
            packet.pts = round(packet.pts * scale)
        packet.dts = round(packet.dts * scale)
        if packet.duration:
            packet.duration = round(packet.duration * scale)
        packet.time_base = base
