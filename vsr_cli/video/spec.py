"""What an output takes from its source, read once from the open input: a value the writer
works from, so that the writer never reads a live reader (and the order in which
readers are set up can't change what a writer does).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from fractions import Fraction

import av

from vsr_cli.config import Span
from vsr_cli.video.color import ColorSpec
from vsr_cli.video.hdr import HdrMetadata
from vsr_cli.video.pyav import display_matrix
from vsr_cli.video.reader import VideoReader

_QUICKTIME_KEYS = "com.apple.quicktime."


@dataclass(frozen=True)
class OutputSpec:
    size: tuple[int, int]  # (width, height) of the upscaled frames
    rate: Fraction | None  # the input's average frame rate (after deinterlacing)
    time_base: Fraction  # the input's: every frame keeps its pts
    pix_fmt: str  # the source's, which the encoder keeps where it can
    bit_depth: int
    color: ColorSpec
    alpha: bool  # the source has an alpha plane
    hdr: HdrMetadata | None
    display_matrix: tuple[int, ...] | None  # rotation and mirroring, as the source's
    sample_aspect_ratio: Fraction | None
    video_tags: dict[str, str]
    tags: dict[str, str]  # the container's
    chapters: list[dict]  # cut to the span
    # Input streams to copy where the container takes them (templates for the output's:
    # usable while the reader is open), attached pictures' bytes by stream index, and each
    # stream's first packets (to try the container with before any work).
    streams: tuple[av.stream.Stream, ...] = field(default=())
    covers: dict[int, bytes] = field(default_factory=dict)
    samples: dict[int, tuple[av.Packet, ...]] = field(default_factory=dict)

    @property
    def apple_tags(self) -> bool:
        """Apple's make/model/location keys, which MP4/MOV keep only as mdta metadata."""
        return any(k.startswith(_QUICKTIME_KEYS) for k in self.tags)

    @classmethod
    def from_source(
        cls, reader: VideoReader, scale: int, span: Span | None = None, copy_streams: bool = True
    ) -> OutputSpec:
        """The output of ``span`` of ``reader``'s video at ``scale``; ``copy_streams``: False
        for the video alone (a piece of a resumable job)."""
        info = reader.info
        chapters: list[dict] = []
        with contextlib.suppress(AttributeError, av.error.FFmpegError, ValueError):
            chapters = reader.container.chapters()
            if span is not None and not span.whole:
                length = None if span.end is None else span.end - span.start
                chapters = cut_chapters(chapters, reader.origin + span.start, length)
        video = reader.video_stream
        streams = tuple(
            s for s in reader.container.streams if s.index != video.index and _worth_copying(s)
        )
        return cls(
            size=(info.width * scale, info.height * scale),
            rate=info.average_rate,
            time_base=info.time_base,
            pix_fmt=info.pix_fmt,
            bit_depth=info.bit_depth,
            color=info.color,
            alpha=reader.alpha,
            hdr=reader.hdr,
            display_matrix=display_matrix(reader.first),
            sample_aspect_ratio=video.codec_context.sample_aspect_ratio,
            video_tags=dict(video.metadata),
            tags=dict(reader.container.metadata),
            chapters=chapters,
            streams=streams if copy_streams else (),
            covers=reader.cover_art() if copy_streams else {},
            samples=reader.sample_packets({s.index for s in streams}) if copy_streams else {},
        )


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
