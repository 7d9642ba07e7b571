"""A video to look at, not to keep: RGB frames as plain H.264 (``vsr compare --video``)."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vsr_cli.context import PartFiles
from vsr_cli.errors import OutputError
from vsr_cli.video.ffmpeg import ffmpeg_reason
from vsr_cli.video.publish import PartFile


def write_rgb_video(target: Path, frames: Iterable[np.ndarray], rate: Fraction) -> int:
    """A plain H.264 file (yuv420p, CRF 16) of RGB frames at a constant ``rate``, published
    only when complete; returns the frames written."""
    part = PartFile(target, PartFiles())
    count = 0
    try:
        with av.open(str(part.path), "w") as out:
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
        part.publish()
    except (OSError, av.error.FFmpegError) as e:
        raise OutputError(f"{target}: cannot write ({ffmpeg_reason(e)})") from None
    finally:
        part.abort()
    return count
