"""Frames written as numbered image files: an ffmpeg-style pattern (``out/%06d.png``), or
a folder that takes the input sequence's own file names.

The frames are the pipeline's RGB frames, written as they are (PNG and TIFF in 16 bits
when the source has more than 8, else 8; JPEG, WebP, EXR where this FFmpeg encodes
them): the same pixels a lossless RGB video would hold. Each file is written under a
hidden part name and renamed when complete, so a killed run leaves only whole frames.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vsr_cli.context import RunContext
from vsr_cli.errors import OutputError, UsageError
from vsr_cli.video.spec import OutputSpec

# suffix -> (encoder, pixel format for 8-bit frames, for deeper ones)
ENCODERS = {
    ".png": ("png", "rgb24", "rgb48be"),
    ".tif": ("tiff", "rgb24", "rgb48le"),
    ".tiff": ("tiff", "rgb24", "rgb48le"),
    ".jpg": ("mjpeg", "yuvj444p", "yuvj444p"),
    ".jpeg": ("mjpeg", "yuvj444p", "yuvj444p"),
    ".webp": ("libwebp", "yuv420p", "yuv420p"),
    ".exr": ("exr", "gbrpf32le", "gbrpf32le"),
    ".bmp": ("bmp", "bgr24", "bgr24"),
}
DEEP = {".png", ".tif", ".tiff", ".exr"}  # where 16-bit frames reach the file
_PRINTF = re.compile(r"%(0?\d*)d")


@dataclass(frozen=True)
class SequenceTarget:
    """Where the frames go: ``folder``, each named by ``pattern`` (numbered from
    ``start``, 1 as ffmpeg's image2 muxer) or by ``names`` (the input's, in order).
    ``first``: the index of the first frame this run writes (a resumed run's)."""

    folder: Path
    pattern: str | None = None
    names: tuple[str, ...] | None = None
    start: int = 1
    first: int = 0

    @property
    def suffix(self) -> str:
        name = self.pattern if self.pattern is not None else (self.names or ("",))[0]
        return Path(name).suffix.lower()

    def name_of(self, index: int) -> str:
        if self.names is not None:
            return self.names[index]
        assert self.pattern is not None
        return _PRINTF.sub(lambda m: f"{self.start + index:{m.group(1) or ''}d}", self.pattern)

    def __str__(self) -> str:
        return str(self.folder / self.pattern) if self.pattern else f"{self.folder}{os.sep}"

    def make_folder(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"{self.folder}: cannot create the folder ({e.strerror})") from None


def encoder_for(target: SequenceTarget) -> str:
    """The image encoder an output's extension names; a usage error where there is none."""
    found = ENCODERS.get(target.suffix)
    if found is None or found[0] not in av.codecs_available:
        known = ", ".join(s for s, e in ENCODERS.items() if e[0] in av.codecs_available)
        suffix = target.suffix or "(none)"
        raise UsageError(f"{target}: no image encoder for {suffix} here; use one of {known}")
    return found[0]


class FrameSequenceWriter:
    """What ``pump`` writes into, as a ``VideoWriter`` is: one image file per frame."""

    def __init__(self, target: SequenceTarget, spec: OutputSpec, context: RunContext) -> None:
        _, eight, deep = ENCODERS[target.suffix]
        self.name = str(target)
        self.size = spec.size
        self._target = target
        self._context = context
        self._pix_fmt = deep if spec.bit_depth > 8 else eight
        self.rgb_depth = 16 if spec.bit_depth > 8 and target.suffix in DEEP else 8
        self.keeps_alpha = False
        self.copied_streams: set[int] = set()
        # Image encoders keep no frames back: one context encodes every frame.
        self._codec = av.CodecContext.create(encoder_for(target), "w")
        self._codec.width, self._codec.height = self.size
        self._codec.pix_fmt = self._pix_fmt
        self._codec.time_base = Fraction(1, 25)  # image encoders ask for one, and ignore it
        self._index = target.first
        self._part: Path | None = None  # the frame being written
        target.make_folder()

    def mux_packet(self, packet: av.Packet) -> None:
        """No other streams go into image files."""

    def write_frame(
        self, rgb: np.ndarray, pts: int, seconds: float, alpha: np.ndarray | None = None
    ) -> None:
        name = self._target.name_of(self._index)
        final = self._target.folder / name
        self._part = final.with_name(f".{name}.part")
        try:
            self._part.write_bytes(self._encode(rgb))
            os.replace(self._part, final)
        except OSError as e:
            self.abort()
            raise OutputError(f"{final}: cannot write the frame ({e.strerror})") from None
        self._part = None
        self._index += 1

    def _encode(self, rgb: np.ndarray) -> bytes:
        fmt = "rgb48le" if rgb.dtype == np.uint16 else "rgb24"
        frame = av.VideoFrame.from_ndarray(rgb, format=fmt)
        if frame.format.name != self._pix_fmt:
            full = self._pix_fmt.startswith("yuvj")  # JPEG's full range; WebP's is limited
            frame = frame.reformat(format=self._pix_fmt, dst_color_range="JPEG" if full else None)
        return b"".join(bytes(p) for p in self._codec.encode(frame))

    def finish(self) -> None:
        """Every frame is already in place."""

    def abort(self) -> None:
        """Whole frames stay (a rerun resumes from them); the frame being written goes."""
        if self._part is not None:
            with contextlib.suppress(OSError):
                self._part.unlink()
            self._part = None

    def __enter__(self) -> FrameSequenceWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None:
            self.abort()
