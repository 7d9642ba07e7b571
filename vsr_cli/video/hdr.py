"""HDR10 static metadata: read from the first decoded frame, handed to the encoders that
can write it (x265 and SVT-AV1 take it as parameters, in their own units).

FFmpeg attaches it to frames as side data: ``AVMasteringDisplayMetadata`` (primaries
R, G, B and white point as rationals, then min and max luminance, then two flags)
and ``AVContentLightMetadata`` (MaxCLL, MaxFALL).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av

from vsr_cli.video.pyav import side_data


@dataclass(frozen=True)
class HdrMetadata:
    primaries: tuple[tuple[Fraction, Fraction], ...] | None  # R, G, B (x, y)
    white_point: tuple[Fraction, Fraction] | None
    luminance: tuple[Fraction, Fraction] | None  # min, max (cd/m2)
    max_cll: int | None
    max_fall: int | None

    @classmethod
    def of_frame(cls, frame: av.VideoFrame) -> HdrMetadata | None:
        primaries = white = luminance = None
        max_cll = max_fall = None
        display = side_data(frame, "MASTERING_DISPLAY_METADATA") or b""
        if len(display) >= 88:
            v = struct.unpack("=20i2i", display[:88])
            r = [_ratio(v[i], v[i + 1]) for i in range(0, 20, 2)]
            if v[20]:
                primaries, white = ((r[0], r[1]), (r[2], r[3]), (r[4], r[5])), (r[6], r[7])
            if v[21]:
                luminance = (r[8], r[9])
        light = side_data(frame, "CONTENT_LIGHT_LEVEL") or b""
        if len(light) >= 8:
            max_cll, max_fall = struct.unpack("=2I", light[:8])
        if primaries is None and luminance is None and max_cll is None:
            return None
        return cls(primaries, white, luminance, max_cll, max_fall)

    def _display(self, xy: Callable[[Fraction], str], lum: Callable[[Fraction], str]) -> str:
        """``G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)``, the order both encoders read."""
        if not (self.primaries and self.white_point and self.luminance):
            return ""
        (r, g, b), low, high = self.primaries, *self.luminance
        points = (("G", g), ("B", b), ("R", r), ("WP", self.white_point))
        return "".join(f"{k}({xy(p[0])},{xy(p[1])})" for k, p in points) + (
            f"L({lum(high)},{lum(low)})"
        )

    def x265_params(self) -> str:
        """x265's ``master-display`` (chromaticities in 1/50000, luminance in 1/10000
        cd/m2: SMPTE ST 2086 units) and ``max-cll``."""
        display = self._display(lambda v: str(round(v * 50000)), lambda v: str(round(v * 10000)))
        parts = ["hdr10=1"] + ([f"master-display={display}"] if display else [])
        if self.max_cll is not None:
            parts.append(f"max-cll={self.max_cll},{self.max_fall or 0}")
        return ":".join(parts)

    def svtav1_params(self) -> str:
        """SVT-AV1's ``mastering-display`` and ``content-light``, in plain decimals."""
        display = self._display(lambda v: f"{float(v):.4f}", lambda v: f"{float(v):.4f}")
        parts = [f"mastering-display={display}"] if display else []
        if self.max_cll is not None:
            parts.append(f"content-light={self.max_cll},{self.max_fall or 0}")
        return ":".join(parts)


def _ratio(num: int, den: int) -> Fraction:
    return Fraction(num, den) if den else Fraction(0)
