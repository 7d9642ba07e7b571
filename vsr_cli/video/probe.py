"""Opening an input and describing it: the container, its main video stream (never cover
art), and ``VideoInfo``, made once from the stream's header and its first decoded frame
(the header may state a later size, or leave out an alpha plane)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av

from vsr_cli.errors import InputError, NoVideoStreamError
from vsr_cli.video.color import ColorSpec
from vsr_cli.video.ffmpeg import ffmpeg_reason

VIDEO_EXTENSIONS = frozenset(
    ".3g2 .3gp .asf .avi .divx .f4v .flv .m2t .m2ts .m2v .m4v .mkv .mod .mov .mp4 .mpeg .mpg "
    ".mts .mxf .nut .ogv .tod .ts .vob .webm .wmv .y4m".split()
)  # what a batch takes from a folder
ATTACHED_PIC = av.stream.Disposition.attached_pic  # cover art, which is not the video


@dataclass(frozen=True)
class StreamInfo:
    index: int
    kind: str  # video, audio, subtitle, data, attachment
    codec: str
    language: str | None


@dataclass(frozen=True)
class VideoInfo:
    """What the tool sees in an input: its header, corrected by its first frame."""

    name: str
    container: str
    codec: str
    width: int
    height: int
    pix_fmt: str
    bit_depth: int
    time_base: Fraction  # of the frames as they come out (half the stream's when deinterlaced)
    average_rate: Fraction | None
    frame_count: int | None  # estimated from packets where the input can be read twice
    duration: float | None  # from the first frame to where the video stream says it ends
    color: ColorSpec
    streams: tuple[StreamInfo, ...] = field(default=())


def open_container(source: str | Path | BinaryIO, name: str) -> av.container.InputContainer:
    """Tags that are not UTF-8 (old AVI, MPEG-PS) are read with replacement characters
    rather than refusing the file; ``genpts`` fills in the timestamps that AVI and
    MPEG-PS leave out of packets."""
    try:
        return av.open(source, "r", metadata_errors="replace", options={"fflags": "+genpts"})
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a folder, not a video") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except av.error.FFmpegError as e:
        raise InputError(f"{name}: not a video file ({ffmpeg_reason(e)})") from None


def pick_video_stream(
    container: av.container.InputContainer,
) -> av.video.stream.VideoStream | None:
    """The main video stream: never cover art (an attached picture is a video stream too)."""
    moving = [s for s in container.streams.video if not s.disposition & ATTACHED_PIC]
    if not moving:
        return None
    best = container.streams.best("video")
    return best if best in moving else moving[0]


# No real video runs faster; raw DV's stream reports its time base's tick (60000) instead.
_FASTEST = 1000


def frame_rate(video: av.video.stream.VideoStream) -> Fraction | None:
    """The stream's average frame rate, or FFmpeg's guess where the average is no frame
    rate at all (above 1000 fps)."""
    rate = video.average_rate
    if rate and rate > _FASTEST and video.guessed_rate and video.guessed_rate <= _FASTEST:
        return video.guessed_rate
    return rate


def main_video_stream(
    container: av.container.InputContainer, name: str
) -> av.video.stream.VideoStream:
    """``pick_video_stream``, refused in one line where there is none or it can't decode."""
    video = pick_video_stream(container)
    if video is None:
        art = " (only cover art)" if container.streams.video else ""
        raise NoVideoStreamError(f"{name}: no video stream{art}")
    cc = video.codec_context
    if not cc.width or not cc.height or cc.format is None:
        raise InputError(f"{name}: the video stream has no decodable frames")
    return video


def video_info(
    name: str,
    container: av.container.InputContainer,
    video: av.video.stream.VideoStream,
    first: av.VideoFrame,
    frame_count: int | None,
    duration: float | None,
    deinterlacing: tuple[bool, bool] | None,
) -> VideoInfo:
    """``deinterlacing``: (per field, only flagged) when bwdif runs. It counts in half
    frames, whether it sends a frame per field or not: its frames' pts are in half the
    stream's time base, and per field there are twice the frames."""
    cc = video.codec_context
    header_format = cc.format.name
    time_base, rate = video.time_base, frame_rate(video)
    if deinterlacing is not None:
        time_base = time_base / 2
        rate = rate * 2 if rate and deinterlacing[0] else rate
    return VideoInfo(
        name=name,
        container=container.format.name,
        codec=cc.name,
        width=first.width,
        height=first.height,
        pix_fmt=first.format.name,
        bit_depth=max(c.bits for c in first.format.components),
        time_base=time_base,
        average_rate=rate,
        frame_count=frame_count,
        duration=duration,
        color=ColorSpec.of_stream(
            int(cc.colorspace),
            int(cc.color_range),
            int(cc.color_primaries),
            int(cc.color_trc),
            cc.height,
            header_format,
        ),
        streams=tuple(
            StreamInfo(
                s.index,
                s.type,
                s.codec_context.name if s.codec_context else "?",
                s.metadata.get("language"),
            )
            for s in container.streams
        ),
    )
