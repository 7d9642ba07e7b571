"""What the input's packets say without decoding anything: the video's frames and their
times, whether its timestamps ever go back, where the video stream says it ends, and the
first packets of the streams to copy (to try the output container with)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import av

JUMP_BACK = 0.1  # seconds: a decode timestamp this far behind the previous one is a jump
_SAMPLE_PACKETS = 2000  # read at most this many packets looking for samples
_NO_STREAM_DURATIONS = {"matroska", "flv"}


@dataclass(frozen=True)
class VideoScan:
    frames: int  # video packets that decode to a shown frame
    times: tuple[float, ...]  # their presentation times (seconds, the file's clock), sorted
    jumps_back: bool  # joined recordings: times are not one timeline, so no seeking by time


def scan_video(path: str | Path, index: int) -> VideoScan | None:
    """Every packet of video stream ``index``: a payload the decoder keeps (an edit list of a
    trimmed MP4 marks the ones before the cut as discarded; a zero-byte Theora packet
    repeats the previous frame) is a frame. None if the file can't be read again."""
    times: list[float] = []
    frames, jumps_back, last = 0, False, None
    try:
        with av.open(path, metadata_errors="replace") as container:
            stream = container.streams[index]
            for packet in container.demux(stream):
                if not packet.size or packet.is_discard:
                    continue
                frames += 1
                if packet.pts is not None and packet.time_base:
                    times.append(float(packet.pts * packet.time_base))
                if packet.dts is not None and packet.time_base:
                    dts = float(packet.dts * packet.time_base)
                    jumps_back |= last is not None and dts < last - JUMP_BACK
                    last = dts
    except av.error.FFmpegError:
        return None
    return VideoScan(frames, tuple(sorted(times)), jumps_back)


def sample_packets(
    path: str | Path, indices: set[int], per_stream: int = 3
) -> dict[int, tuple[av.Packet, ...]]:
    """The first ``per_stream`` packets of each stream in ``indices`` (fewer where the first
    few thousand packets hold fewer: a subtitle stream may be silent for minutes)."""
    found: dict[int, list[av.Packet]] = {i: [] for i in indices}
    if not indices:
        return {}
    try:
        with av.open(path, metadata_errors="replace") as container:
            for count, packet in enumerate(container.demux()):
                wanted = found.get(packet.stream.index)
                if wanted is not None and len(wanted) < per_stream and packet.dts is not None:
                    wanted.append(packet)
                full = all(len(p) >= per_stream for p in found.values())
                if full or count >= _SAMPLE_PACKETS:
                    break
    except av.error.FFmpegError:
        pass
    return {i: tuple(p) for i, p in found.items()}


def stated_end(stream: av.stream.Stream, container: av.container.InputContainer) -> float | None:
    """Where the video stream itself says it ends (seconds, the file's clock): Matroska's
    per-track DURATION tag, or a duration the demuxer read for this stream. Never the
    container's, which is the longest stream's (audio may start before the video or run
    on after it): Matroska and FLV store no duration per stream, so whatever FFmpeg shows
    for one there is the container's, copied."""
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    m = re.fullmatch(r"(\d+):(\d+):(\d+(?:\.\d+)?)", tag or "")
    if m:
        return int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
    own = container.format.name.split(",")[0] not in _NO_STREAM_DURATIONS
    if not own or stream.duration is None or not stream.time_base:
        return None
    start = stream.start_time * stream.time_base if stream.start_time is not None else 0
    return float(start + stream.duration * stream.time_base)
