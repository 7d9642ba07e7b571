"""``vsr compare``: two videos of the same content, side by side, as pictures or a video.

The first video (usually the low-res input) is scaled up the plain way, MATLAB
bicubic, to the second's size, so what differs is what the model added. Frames
are matched by time from each video's first frame, which is what ``vsr-upscale``
keeps; it works as well on two outputs made with other settings.

Each PNG: a label strip, the two frames side by side at the second's size
(pixels untouched: no marks drawn on them), a second label strip, and the same
crop of both, the most detailed quarter of the second frame, zoomed 4x
(nearest neighbour, so that its pixels show).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from vsr_cli.errors import InputError, MissingExtraError, OutputError
from vsr_cli.quality.resize import imresize
from vsr_cli.quality.rgb_video import write_rgb_video
from vsr_cli.video.image_input import FrameSequence
from vsr_cli.video.publish import part_name
from vsr_cli.video.reader import VideoReader

ZOOM = 4  # the crop is 1/ZOOM of each side, shown ZOOM times larger
LABEL_HEIGHT = 24
DEFAULT_SPREAD = (1 / 6, 1 / 2, 5 / 6)  # of the duration, when no --at is given


Clip = Path | FrameSequence  # a video file, or image frames


@dataclass(frozen=True)
class Region:
    """A rectangle of the (second video's) frame: x, y, width, height in pixels."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class Picture:
    path: Path
    at: float  # the time asked for, seconds from the first frame
    first_time: float  # the frames shown, seconds from each video's first frame
    second_time: float
    region: Region
    labels: tuple[str, str, str, str]  # top left, top right, bottom left, bottom right


class _Timeline:
    """A video read forward, answering "which frame is on screen at time t?" for
    increasing t, in seconds from its first frame."""

    def __init__(self, path: Clip) -> None:
        self.reader = VideoReader(path, str(path))
        self._frames = self.reader.media(set())
        first = next(self._frames)
        self._origin = first.time
        self._current: tuple[float, np.ndarray] = (0.0, first.rgb)
        self._upcoming = self._next()

    def _next(self) -> tuple[float, np.ndarray] | None:
        frame = next(self._frames, None)
        return None if frame is None else (frame.time - self._origin, frame.rgb)

    def at(self, t: float) -> tuple[float, np.ndarray]:
        """(start time, pixels) of the last frame that started at or before ``t`` (the first
        frame for earlier times)."""
        while self._upcoming is not None and self._upcoming[0] <= t + 1e-6:
            self._current, self._upcoming = self._upcoming, self._next()
        return self._current

    def nearest(self, t: float) -> tuple[float, np.ndarray]:
        """The frame whose start is nearest ``t`` (within half a frame): another container
        may have rounded the same frame's timestamp (MP4 1.66833 s, Matroska 1.668 s)."""
        return self.at(t + 0.5 / float(self.reader.info.average_rate or 25))

    def check_reaches(self, t: float) -> None:
        """Refuse a time after the last frame (plus one frame period), before any work
        where the container states its duration."""
        info = self.reader.info
        period = 1 / float(info.average_rate or 25)
        if info.duration is not None and t > info.duration + period:
            raise InputError(
                f"{self.reader.name}: {t:.3f} s is past its end ({info.duration:.3f} s)"
            )

    def following(self) -> tuple[float, np.ndarray] | None:
        """The next frame, in order, or None at the end."""
        if self._upcoming is None:
            return None
        self._current, self._upcoming = self._upcoming, self._next()
        return self._current

    def __enter__(self) -> _Timeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reader.close()


def _stem(clip: Clip) -> str:
    """What names the PNGs: a file's stem, an image sequence's folder."""
    return Path(clip.name).stem if isinstance(clip, Path) else Path(clip.files[0]).parent.name


def default_times(path: Clip) -> list[float]:
    with VideoReader(path, str(path)) as reader:
        duration = reader.info.duration
    return [round(duration * f, 3) for f in DEFAULT_SPREAD] if duration else [0.0]


def plain_upscale(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """``rgb`` scaled to (width, height) the plain way (MATLAB bicubic), uint8."""
    rgb = _eight_bit(rgb)
    if rgb.shape[:2] == (height, width):
        return rgb
    up = imresize(rgb.astype(np.float32), height, width)
    return np.clip(np.floor(up + 0.5), 0, 255).astype(np.uint8)


def _eight_bit(rgb: np.ndarray) -> np.ndarray:
    return rgb if rgb.dtype == np.uint8 else (rgb.astype(np.float32) / 257).round().astype(np.uint8)


def detailed_region(rgb: np.ndarray) -> Region:
    """The 1/ZOOM-size window (on a grid of half steps) with the most gradient energy."""
    h, w = rgb.shape[:2]
    cw, ch = max(1, w // ZOOM), max(1, h // ZOOM)
    gray = rgb.astype(np.float64).mean(axis=2)
    energy = np.zeros((h, w))
    energy[:, 1:] += np.abs(np.diff(gray, axis=1))
    energy[1:, :] += np.abs(np.diff(gray, axis=0))
    total = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    best, region = -1.0, Region(0, 0, cw, ch)
    for y in range(0, h - ch + 1, max(1, ch // 2)):
        for x in range(0, w - cw + 1, max(1, cw // 2)):
            value = total[y + ch, x + cw] - total[y, x + cw] - total[y + ch, x] + total[y, x]
            if value > best:
                best, region = value, Region(x, y, cw, ch)
    return region


def _zoom(rgb: np.ndarray, r: Region) -> np.ndarray:
    part = rgb[r.y : r.y + r.height, r.x : r.x + r.width]
    return part.repeat(ZOOM, axis=0).repeat(ZOOM, axis=1)


def _image_module():
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        raise MissingExtraError("vsr compare needs Pillow: pip install 'vsr-cli[eval]'") from None
    return Image, ImageDraw, ImageFont


def compose(
    first: np.ndarray, second: np.ndarray, region: Region, labels: tuple[str, str, str, str]
) -> np.ndarray:
    """The picture described in the module docstring, as (H, W, 3) uint8."""
    Image, ImageDraw, ImageFont = _image_module()
    h, w = second.shape[:2]
    zh, zw = region.height * ZOOM, region.width * ZOOM
    width = 2 * max(w, zw)
    canvas = np.full((2 * LABEL_HEIGHT + h + zh, width, 3), 255, np.uint8)
    canvas[LABEL_HEIGHT : LABEL_HEIGHT + h, :w] = first
    canvas[LABEL_HEIGHT : LABEL_HEIGHT + h, width // 2 : width // 2 + w] = second
    top = 2 * LABEL_HEIGHT + h
    canvas[top : top + zh, :zw] = _zoom(first, region)
    canvas[top : top + zh, width // 2 : width // 2 + zw] = _zoom(second, region)
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for i, text in enumerate(labels):
        x, y = (width // 2 if i % 2 else 0) + 4, (LABEL_HEIGHT + h if i >= 2 else 0) + 4
        draw.text((x, y), text, fill=(0, 0, 0), font=font)
    return np.asarray(image)


def _save_png(pixels: np.ndarray, path: Path) -> None:
    Image, _, _ = _image_module()
    tmp = part_name(path)
    try:
        Image.fromarray(pixels).save(tmp, format="PNG")
        os.replace(tmp, path)
    except OSError as e:
        raise OutputError(f"{path}: cannot write ({e.strerror or e})") from None
    finally:
        tmp.unlink(missing_ok=True)


def compare_frames(
    first: Clip, second: Clip, times: list[float], folder: Path, overwrite: bool = False
) -> list[Picture]:
    """One PNG per time into ``folder``: ``{second's stem}_compare_{time}s.png`` (a video,
    or image frames: a ``FrameSequence``)."""
    times = sorted({round(t, 3) for t in times})
    paths = [folder / f"{_stem(second)}_compare_{t:.3f}s.png" for t in times]
    for path in paths:
        if path.exists() and not overwrite:
            raise OutputError(f"{path}: exists; pass --overwrite (-y) to replace it")
    pictures = []
    with _Timeline(first) as one, _Timeline(second) as two:
        for t in times:
            two.check_reaches(t)
        for t, path in zip(times, paths):
            t2, rgb2 = two.at(t)
            t1, rgb1 = one.nearest(t2)
            b = _eight_bit(rgb2)
            h, w = b.shape[:2]
            a = plain_upscale(rgb1, w, h)
            region = detailed_region(b)
            r = region
            spot = f"x {r.x}-{r.x + r.width}, y {r.y}-{r.y + r.height}"
            labels = (
                f"{first.name} @ {t1:.3f} s, {rgb1.shape[1]}x{rgb1.shape[0]}"
                + (f" -> bicubic {w}x{h}" if rgb1.shape[:2] != (h, w) else ""),
                f"{second.name} @ {t2:.3f} s, {w}x{h}",
                f"{first.name}: {spot}, zoom {ZOOM}x",
                f"{second.name}: {spot}, zoom {ZOOM}x",
            )
            _save_png(compose(a, b, region, labels), path)
            pictures.append(Picture(path, t, t1, t2, region, labels))
    return pictures


def compare_video(
    first: Clip, second: Clip, target: Path, start: float, duration: float, wipe: bool
) -> int:
    """A video of ``[start, start + duration)`` of the second video's frames: side by side
    with the first (scaled up), or, with ``wipe``, one picture whose left part is the first
    and right part the second, the border sweeping left to right."""
    with _Timeline(first) as one, _Timeline(second) as two:
        rate = two.reader.info.average_rate or Fraction(25)
        expected = max(1, round(duration * rate))  # frames in the section, for the wipe

        two.check_reaches(start)

        def pictures() -> Iterator[np.ndarray]:
            current: tuple[float, np.ndarray] | None = two.at(start)
            if current[0] < start - 1e-6:  # the frame on screen at start began before it
                current = two.following()
            i = 0
            while current is not None and current[0] < start + duration - 1e-6:
                t, rgb2 = current
                b = _eight_bit(rgb2)
                h, w = b.shape[:2]
                a = plain_upscale(one.nearest(t)[1], w, h)
                if wipe:
                    border = round(w * (i + 1) / (expected + 1))
                    yield np.concatenate([a[:, :border], b[:, border:]], axis=1)
                else:
                    yield np.concatenate([a, b], axis=1)
                current, i = two.following(), i + 1

        count = write_rgb_video(target, pictures(), rate)
    return count
