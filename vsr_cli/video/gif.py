"""GIF frames as a good GIF is made: each with a palette of its own from its own colours
(FFmpeg's palettegen and paletteuse), and one transparent entry where the source has
alpha, the one kind of transparency GIF holds. A fixed 256-colour palette (what the
encoder would take by default, rgb8) bands every gradient."""

from __future__ import annotations

from fractions import Fraction

import av

# Pixels less opaque than this are transparent; GIF has no partial transparency.
_OPAQUE_FROM = 128


class GifPalettes:
    """RGB(A) frames in, palettised (pal8) frames out, one for one."""

    def __init__(self, size: tuple[int, int], alpha: bool, time_base: Fraction) -> None:
        graph = av.filter.Graph()
        source = graph.add_buffer(
            width=size[0], height=size[1], format="rgba" if alpha else "rgb24", time_base=time_base
        )
        split = graph.add("split")
        palette = graph.add("palettegen", f"stats_mode=single:reserve_transparent={int(alpha)}")
        use = graph.add("paletteuse", f"new=1:alpha_threshold={_OPAQUE_FROM}")
        sink = graph.add("buffersink")
        source.link_to(split)
        split.link_to(use, 0, 0)
        split.link_to(palette, 1, 0)
        palette.link_to(use, 0, 1)
        use.link_to(sink)
        graph.configure()
        self._graph = graph

    def convert(self, frame: av.VideoFrame) -> av.VideoFrame:
        self._graph.push(frame)
        return self._graph.pull()
