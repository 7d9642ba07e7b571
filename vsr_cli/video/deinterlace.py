"""Deinterlacing with FFmpeg's ``bwdif``, as a player would: per frame or per field."""

from __future__ import annotations

import av

DEINTERLACE_MODES = ("auto", "off", "frame", "field")


class Deinterlacer:
    """FFmpeg's ``bwdif`` on decoded frames: it needs the next frame to finish one, so
    frames come out one behind, and ``flush`` returns the last."""

    def __init__(
        self, stream: av.video.stream.VideoStream, per_field: bool, only_flagged: bool
    ) -> None:
        self._graph = av.filter.Graph()
        source = self._graph.add_buffer(template=stream)
        mode = "send_field" if per_field else "send_frame"
        deint = "interlaced" if only_flagged else "all"
        bwdif = self._graph.add("bwdif", f"mode={mode}:parity=auto:deint={deint}")
        sink = self._graph.add("buffersink")
        source.link_to(bwdif)
        bwdif.link_to(sink)
        self._graph.configure()

    def push(self, frame: av.VideoFrame | None) -> list[av.VideoFrame]:
        self._graph.push(frame)
        out = []
        while True:
            try:
                out.append(self._graph.pull())
            except (av.error.BlockingIOError, av.error.EOFError):
                return out

    def flush(self) -> list[av.VideoFrame]:
        return self.push(None)


def deinterlacing(stream: av.video.stream.VideoStream, interlaced: bool, per_field: bool) -> str:
    """What is done to the video, for a warning."""
    field_order = str(stream.codec_context.field_order or "")
    order = {"bb": "bottom field first", "bt": "bottom field first"}.get(
        field_order, "top field first"
    )
    what = "one frame per field (twice the frame rate)" if per_field else "one frame per frame"
    source = "interlaced" if interlaced else "treated as interlaced"
    return f"input is {source} ({order}): deinterlaced with bwdif, {what}"
