"""Which YUV<->RGB matrix and range a stream uses, decided once per stream.

Decoding and encoding must use the same matrix, and an untagged stream must be
read the way players read it: BT.709 from 720 lines up, BT.601 below (swscale
alone would take BT.601 for everything). The output is always tagged with the
matrix we used, since a 4x output of an untagged SD clip would otherwise be
read as BT.709 by players.
"""

from __future__ import annotations

from dataclasses import dataclass

from av.video.reformatter import ColorRange, Colorspace, Interpolation

# AVColorSpace codes (libavutil/pixfmt.h)
SPC_BT709, SPC_UNSPECIFIED, SPC_FCC, SPC_BT470BG, SPC_SMPTE170M = 1, 2, 4, 5, 6
SPC_SMPTE240M, SPC_BT2020_NCL, SPC_BT2020_CL = 7, 9, 10
RANGE_UNSPECIFIED, RANGE_MPEG, RANGE_JPEG = 0, 1, 2
PRI_BT2020, TRC_SMPTE2084, TRC_ARIB_STD_B67 = 9, 16, 18  # BT.2020; PQ and HLG transfers

_SWS_MATRIX = {
    SPC_BT709: Colorspace.ITU709,
    SPC_FCC: Colorspace.FCC,
    SPC_BT470BG: Colorspace.ITU601,
    SPC_SMPTE170M: Colorspace.SMPTE170M,
    SPC_SMPTE240M: Colorspace.SMPTE240M,
    SPC_BT2020_NCL: Colorspace.BT2020,
    SPC_BT2020_CL: Colorspace.BT2020,
}

# Exact rounding and full chroma interpolation: the default is 1-2 levels off.
EXACT = Interpolation.BICUBIC | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


@dataclass(frozen=True)
class ColorSpec:
    """Matrix, range, primaries and transfer of a stream, with guesses resolved."""

    matrix: int
    range: int
    primaries: int
    transfer: int

    @classmethod
    def of_stream(
        cls,
        matrix: int,
        color_range: int,
        primaries: int,
        transfer: int,
        height: int,
        pix_fmt: str,
    ) -> ColorSpec:
        if matrix not in _SWS_MATRIX:
            matrix = SPC_BT709 if height >= 720 else SPC_SMPTE170M
        if color_range not in (RANGE_MPEG, RANGE_JPEG):
            color_range = RANGE_JPEG if pix_fmt.startswith("yuvj") else RANGE_MPEG
        return cls(matrix, color_range, primaries, transfer)

    @property
    def hdr(self) -> bool:
        """HDR as players mean it: BT.2020 primaries with the PQ (HDR10) or HLG transfer."""
        return self.primaries == PRI_BT2020 and self.transfer in (TRC_SMPTE2084, TRC_ARIB_STD_B67)

    @property
    def sws_matrix(self) -> Colorspace:
        return _SWS_MATRIX[self.matrix]

    @property
    def sws_range(self) -> ColorRange:
        return ColorRange.JPEG if self.range == RANGE_JPEG else ColorRange.MPEG
