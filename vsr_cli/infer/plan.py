"""Where to cut a clip into chunks and a frame into tiles, and how to blend them back.

Pure arithmetic: no devices, no I/O. The same one-dimensional rule serves time
(chunks of frames) and space (tiles along each axis).

Overlaps are *context*: a pixel near a tile's edge (or a frame near a chunk's
end) sees less of its surroundings than the model was trained with, so each
output pixel is taken from the window where it is deepest inside. Windows
meet at the middle of their overlap, where both have ``overlap`` units of
context, and a short linear cross-fade there (``fade`` units) hides what
difference remains. A feather across the whole overlap would mix in the edge
pixels we distrust. Measured on the stitching test (16 frames of 160x64, the
golden tiny model with zero flows, tiles of 64 + 16 overlap, chunks of 8 + 4,
PSNR against whole-clip output after lossless encoding):

    tiles only, fade 0 / 8 / 16 / 32 (full feather):  65.2 / 64.4 / 61.8 / 55.7 dB
    chunks only, fade 0 / 2:                           55.3 / 55.6 dB
    both, fade 8 and 2 (the defaults):                 55.3 dB;  no overlap at all: 39.3 dB

Tiles must also start on the model's 8-pixel grid (``align``): off the grid,
every attention window inside the tile differs from the whole frame's, and the
same test gave 42.8 dB whatever the fade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vsr_cli.config import Tiling
from vsr_cli.models.descriptor import PSRT_RECURRENT


@dataclass(frozen=True)
class Window:
    """A cut along one axis: ``[start, stop)`` is read, ``[core_start, core_stop)`` is owned."""

    start: int
    stop: int
    core_start: int
    core_stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


def split(
    length: int, core: int, overlap: int, minimum: int = 1, align: int = 1, uniform: bool = False
) -> list[Window]:
    """Cut ``[0, length)`` into windows whose cores are at most ``core`` long (0: one window).

    Cores are balanced (sizes differ by at most one) and tile the axis; each
    window reads ``overlap`` more on every side that has a neighbour (starting
    at a multiple of ``align``), and at least ``minimum`` in all where the axis
    is that long. ``uniform``: every window reads the same length (see
    ``_same_size``).
    """
    if length <= 0:
        raise ValueError("nothing to split")
    count = 1 if core <= 0 else math.ceil(length / core)
    bounds = [round(i * length / count) for i in range(count + 1)]
    windows = []
    for a, b in zip(bounds, bounds[1:]):
        start = max(0, a - overlap) // align * align
        stop = min(length, b + overlap)
        grow = max(0, min(minimum, length) - (stop - start))
        start = max(0, start - grow) // align * align
        stop = min(length, max(stop, start + min(minimum, length)))
        windows.append(Window(start, stop, a, b))
    return _same_size(windows, length, align) if uniform else windows


def _same_size(windows: list[Window], length: int, align: int) -> list[Window]:
    """Grow every window to one read length, into more context, keeping starts on the grid.

    Tiles of one shape can run as one batch, and torch.compile compiles once
    instead of once per shape. The length is the largest window's, plus less
    than ``align`` so that a window ending at the axis' end still starts on the
    grid (that window then sees the frame's edge exactly as the whole frame does).
    """
    largest = max(w.size for w in windows)
    size = length - (length - largest) // align * align
    if size >= length:
        return [Window(0, length, 0, length)]
    starts = [min(w.start, length - size) for w in windows]
    return [Window(a, a + size, w.core_start, w.core_stop) for a, w in zip(starts, windows)]


def blend_weights(window: Window, length: int, fade: int, scale: int = 1) -> list[float]:
    """Weights over ``window``'s read range (times ``scale``): 1 in the core, 0 outside,
    linear across ``fade`` units centred on each boundary with a neighbour.

    The weights of all windows from one ``split`` sum to exactly one everywhere.
    """
    fade = fade * scale
    weights = []
    for i in range(window.start * scale, window.stop * scale):
        pos, weight = i + 0.5, 1.0
        if window.core_start > 0:
            weight *= _ramp(pos - window.core_start * scale, fade)
        if window.core_stop < length:
            weight *= _ramp(window.core_stop * scale - pos, fade)
        weights.append(weight)
    return weights


def _ramp(distance_inside: float, fade: int) -> float:
    """0 -> 1 as a position moves into a core across a boundary, over ``fade`` units."""
    if fade <= 0:
        return float(distance_inside > 0)
    return min(1.0, max(0.0, distance_inside / fade + 0.5))


@dataclass(frozen=True)
class ChunkPlan:
    """Chunk ``k`` owns frames ``[k*size, (k+1)*size)`` and reads ``overlap`` more each side.

    Works without knowing the clip's length, so frames can stream: a chunk is
    ready once ``overlap`` frames past its core have arrived (or the clip ended).
    ``uniform``: every chunk reads ``size + 2 * overlap`` frames where the clip is that
    long, the first and last ones growing into more context on their inner side (as
    tiles do), so that all chunks batch together and a captured graph fits each.
    """

    size: int  # 0: the whole clip is one chunk
    overlap: int
    fade: int
    uniform: bool = False

    @property
    def length(self) -> int:
        """What a uniform chunk reads."""
        return self.size + 2 * self.overlap

    def window(self, k: int, total: int) -> Window:
        if self.size <= 0:
            return Window(0, total, 0, total)
        a, b = k * self.size, min(total, (k + 1) * self.size)
        start, stop = max(0, a - self.overlap), min(total, b + self.overlap)
        if self.uniform:
            start = max(0, min(start, total - self.length))
            stop = min(total, start + self.length)
        return Window(start, stop, a, b)

    def needed(self, k: int) -> int | None:
        """Frames that must have been read (or the clip ended) before chunk ``k`` can run."""
        if self.size <= 0:
            return None
        if self.uniform:
            return max(0, k * self.size - self.overlap) + self.length
        return (k + 1) * self.size + self.overlap

    def keep_from(self, k: int) -> int:
        """The first frame a chunk after ``k`` may read, once ``k`` has run without being
        the last: the next one, or (uniform) a last one reaching back for context."""
        start = max(0, (k + 1) * self.size - self.overlap)
        if self.uniform:  # a last chunk of a clip with one frame past chunk k's core
            start = min(start, max(0, (k + 1) * self.size + 1 - self.length))
        return start


def default_fade(overlap: int) -> int:
    """Cross-fade width for a given overlap: half of it, so both sides keep at least
    ``3 * overlap / 4`` of context across the fade (measurements above)."""
    return overlap // 2


# Bytes the released model holds per low-res pixel of a tile, measured on the CPU in fp32
# as peak-RSS growth (3 and 9 frames of 96x96, 3 of 160x160): ~2.8 KB per pixel per frame
# kept across the branches (features, flows, outputs), and 6-14 KB per pixel of scratch
# inside one step (qkv, attention, MLP); rounded up. Not yet measured on a GPU.
BYTES_PER_PIXEL_FRAME = 3200
BYTES_PER_PIXEL_STEP = 16 * 1024


def bytes_per_frame_pixel(scale: int) -> int:
    """Per low-res pixel of the whole frame, per frame of the chunk, whatever the tile: the
    float32 input, the tile canvas and the stitched output (two float32 RGB frames at the
    output scale). At 1080p x4 that is 0.8 GB a frame: tiles shrink the model's share,
    not this one; x2 holds a quarter of it (tiles are resized as they come)."""
    return 3 * 4 + 2 * 3 * scale * scale * 4


def _costs(
    width: int, height: int, tile: int, overlap: int, scale: int, min_tile: int
) -> tuple[int, int]:
    """(pixels of the tile the model runs, bytes held per frame of a chunk) for a frame of
    ``width`` x ``height`` cut in tiles of ``tile`` (0: whole)."""
    tw = width if not tile else min(width, tile + 2 * overlap)
    th = height if not tile else min(height, tile + 2 * overlap)
    pixels = max(tw, min_tile) * max(th, min_tile)
    return pixels, pixels * BYTES_PER_PIXEL_FRAME + width * height * bytes_per_frame_pixel(scale)


def auto_sizes(
    width: int,
    height: int,
    budget: int,
    overlap: int,
    chunk_overlap: int,
    scale: int = PSRT_RECURRENT.scale,
    max_chunk: int = 60,
    min_tile: int = PSRT_RECURRENT.min_size,
) -> tuple[int, int]:
    """(tile, chunk) that fit ``budget`` bytes: the whole frame and long chunks when they fit,
    since more context is better; smaller tiles first, then shorter chunks, when not. The
    byte counts above are the released PSRT-recurrent's."""
    for tile in [0, *(t for t in (1024, 768, 512, 384, 256, 192, 128, 96, min_tile))]:
        if tile and tile >= max(width, height):
            continue
        pixels, per_frame = _costs(width, height, tile, overlap, scale, min_tile)
        frames = (budget - pixels * BYTES_PER_PIXEL_STEP) // per_frame - 2 * chunk_overlap
        if frames >= 8:
            return tile, int(min(frames, max_chunk))
    return min_tile, 8


def auto_chunk_batch(width: int, height: int, sized: Tiling, budget: int, scale: int) -> int:
    """How many chunks cut as ``sized`` (its tile and chunk given) fit ``budget`` side by
    side, up to 4: each holds its frames' features and full-frame buffers, and its share
    of a step's scratch. Side by side, a GPU dispatches each operation once for all."""
    pixels, per_frame = _costs(
        width, height, sized.tile or 0, sized.tile_overlap, scale, PSRT_RECURRENT.min_size
    )
    frames = (sized.chunk or 1) + 2 * sized.chunk_overlap
    fits = budget // (frames * per_frame + pixels * BYTES_PER_PIXEL_STEP)
    return int(max(1, min(4, fits)))
