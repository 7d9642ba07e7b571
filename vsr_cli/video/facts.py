"""What ``vsr info`` says about a video: plain facts, the same whether printed or as JSON."""

from __future__ import annotations

from dataclasses import asdict

from vsr_cli.video.reader import VideoReader


def describe(reader: VideoReader) -> dict:
    """Plain facts about an open input, for ``vsr info`` (rotation and interlacing from its
    first frame)."""
    info = reader.info
    return {
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
        "color_matrix": info.color.matrix,
        "color_range": info.color.range,
        "color_primaries": info.color.primaries,
        "color_transfer": info.color.transfer,
        "rotation": reader.first.rotation,
        "interlaced": reader.interlaced,
        "sample_aspect_ratio": str(reader.video_stream.codec_context.sample_aspect_ratio or 1),
        "streams": [asdict(s) for s in info.streams],
    }
