"""What ``vsr info`` says about a video: plain facts, the same whether printed or as JSON."""

from __future__ import annotations

from dataclasses import asdict

from vsr_cli.video.pyav import display_matrix
from vsr_cli.video.reader import VideoReader

# FFmpeg's names for its colour codes (libavutil's av_color_*_name), as ffprobe prints them.
MATRICES = {
    0: "gbr",
    1: "bt709",
    2: "unknown",
    4: "fcc",
    5: "bt470bg",
    6: "smpte170m",
    7: "smpte240m",
    8: "ycgco",
    9: "bt2020nc",
    10: "bt2020c",
    11: "smpte2085",
    12: "chroma-derived-nc",
    13: "chroma-derived-c",
    14: "ictcp",
}
RANGES = {0: "unknown", 1: "tv", 2: "pc"}
PRIMARIES = {
    1: "bt709",
    2: "unknown",
    4: "bt470m",
    5: "bt470bg",
    6: "smpte170m",
    7: "smpte240m",
    8: "film",
    9: "bt2020",
    10: "smpte428",
    11: "smpte431",
    12: "smpte432",
    22: "ebu3213",
}
TRANSFERS = {
    1: "bt709",
    2: "unknown",
    4: "bt470m",
    5: "bt470bg",
    6: "smpte170m",
    7: "smpte240m",
    8: "linear",
    9: "log100",
    10: "log316",
    11: "iec61966-2-4",
    12: "bt1361e",
    13: "iec61966-2-1",
    14: "bt2020-10",
    15: "bt2020-12",
    16: "smpte2084",
    17: "smpte428",
    18: "arib-std-b67",
}


def _name(names: dict[int, str], code: int) -> str:
    return names.get(code, f"reserved ({code})")


def describe(reader: VideoReader) -> dict:
    """Plain facts about an open input, for ``vsr info`` (rotation and interlacing from its
    first frame)."""
    info = reader.info
    sequence = reader.sequence.describe() if reader.sequence else {}
    return sequence | {
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
        # As the tool reads them (an untagged matrix and range resolved as players do).
        "color_matrix": _name(MATRICES, info.color.matrix),
        "color_range": _name(RANGES, info.color.range),
        "color_primaries": _name(PRIMARIES, info.color.primaries),
        "color_transfer": _name(TRANSFERS, info.color.transfer),
        "rotation": reader.first.rotation,
        "mirrored": _mirrored(display_matrix(reader.first)),
        "interlaced": reader.interlaced,
        "field_order": (
            ("top first" if reader.interlacing.top_first else "bottom first")
            if reader.interlaced
            else None
        ),
        "sample_aspect_ratio": str(reader.video_stream.codec_context.sample_aspect_ratio or 1),
        "streams": [asdict(s) for s in info.streams],
    }


def _mirrored(matrix: tuple[int, ...] | None) -> bool:
    """A display matrix that flips the picture (its 2x2 part has a negative determinant):
    a front camera's selfie, whose rotation alone would read 180 degrees."""
    return matrix is not None and matrix[0] * matrix[4] - matrix[1] * matrix[3] < 0
