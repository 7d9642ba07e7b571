"""Numbered image files read as one clip: an ffmpeg-style pattern (``frames/%04d.png``) or
a folder holding the frames of one sequence.

FFmpeg's ``image2`` demuxer decodes them (PNG and TIFF in 8 or 16 bits, JPEG, WebP, EXR:
whatever this FFmpeg has a decoder for), so a sequence goes through the same reader as
a video. The files are found here, in order (a pattern's numbers; a folder's names in
natural order), and handed to the demuxer as links numbered from 0 in a temporary
folder: a start number anywhere, gaps and names that are not numbers all read the same.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from vsr_cli.errors import InputError
from vsr_cli.video.ffmpeg import ffmpeg_reason
from vsr_cli.video.probe import VIDEO_EXTENSIONS

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".webp", ".exr", ".bmp", ".dpx")
_PRINTF = re.compile(r"%(0?\d*)d")


def is_pattern(path: str | os.PathLike) -> bool:
    """A printf pattern of numbered frames, as ffmpeg takes them: ``%d`` or ``%04d``."""
    return len(_PRINTF.findall(Path(path).name)) == 1


def is_frame_folder(path: Path) -> bool:
    """A folder whose files include images and no videos: one sequence of frames."""
    try:
        names = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    except OSError:
        return False
    return any(p.suffix.lower() in IMAGE_SUFFIXES for p in names) and not any(
        _is_video(p) for p in names
    )


def _is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class FrameSequence:
    """The frames of one clip, in order, and the rate they are played at."""

    name: str  # as given: the pattern or the folder
    files: tuple[Path, ...]
    numbers: tuple[int, ...] | None  # a pattern's frame numbers; None for a folder
    fps: Fraction
    width_digits: int = 0  # a pattern's zero padding (``%04d``: 4)

    def __str__(self) -> str:
        return self.name

    @property
    def suffix(self) -> str:
        return self.files[0].suffix.lower()

    def describe(self) -> dict[str, object]:
        """What ``vsr info`` adds for a sequence."""
        found: dict[str, object] = {"sequence": self.name, "images": len(self.files)}
        if self.numbers is not None:
            found |= {"first_number": self.numbers[0], "last_number": self.numbers[-1]}
        else:
            found |= {"first_file": self.files[0].name, "last_file": self.files[-1].name}
        return found

    def first_gap(self) -> tuple[int, int] | None:
        """(last number before the first gap, the number after it), or None."""
        numbers = self.numbers or ()
        return next(((a, b) for a, b in zip(numbers, numbers[1:]) if b != a + 1), None)

    def gap_note(self) -> str | None:
        """What is said of the first gap in a pattern's numbering, if there is one."""
        gap = self.first_gap()
        if gap is None:
            return None
        before, after = (f"{n:0{self.width_digits}d}" for n in gap)
        return (
            f"no frame between {before} and {after} (the first gap in the numbering): the "
            "frames are taken in order as one sequence (ffmpeg would stop at the gap)"
        )

    @functools.cached_property
    def _links(self) -> tempfile.TemporaryDirectory:
        """A temporary folder of links ``00000000<suffix>``... to the frames, in order:
        what the image2 demuxer reads (``%08d<suffix>``, from 0). Made once for all the
        times the sequence is opened (a job's pieces), removed with the sequence."""
        folder = tempfile.TemporaryDirectory(prefix="vsr-frames-")
        for i, path in enumerate(self.files):
            os.symlink(path.resolve(), Path(folder.name) / f"{i:08d}{self.suffix}")
        return folder


def open_frames(sequence: FrameSequence) -> av.container.InputContainer:
    """The image2 demuxer over the sequence's links, at its rate."""
    pattern = os.path.join(sequence._links.name, f"%08d{sequence.suffix}")
    options = {"framerate": str(sequence.fps), "start_number": "0"}
    try:
        return av.open(pattern, "r", format="image2", options=options)
    except (av.error.FFmpegError, ValueError) as e:
        raise InputError(
            f"{sequence.name}: not frames FFmpeg can read ({ffmpeg_reason(e)})"
        ) from None


def find_frames(given: str | os.PathLike, fps: Fraction) -> FrameSequence:
    """The sequence a pattern or a folder names; one line if there is none."""
    path = Path(given)
    if is_pattern(path):
        return _from_pattern(path, fps)
    files = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    files = [p for p in files if not p.name.startswith(".")]
    if not files:
        raise InputError(f"{given}: no image files in the folder")
    suffixes = {p.suffix.lower() for p in files}
    if len(suffixes) > 1:
        raise InputError(f"{given}: frames of several kinds ({', '.join(sorted(suffixes))})")
    return FrameSequence(str(given), tuple(sorted(files, key=_natural)), None, fps)


def _from_pattern(path: Path, fps: Fraction) -> FrameSequence:
    match = _PRINTF.search(path.name)
    assert match is not None
    head, tail = path.name[: match.start()], path.name[match.end() :]
    width = int(match.group(1) or 0)
    found = re.compile(re.escape(head) + r"(\d+)" + re.escape(tail) + r"$")
    folder = path.parent
    try:
        names = os.listdir(folder)
    except OSError:
        raise InputError(f"{path}: no such folder {folder}") from None
    numbered = sorted(
        (int(m.group(1)), folder / n)
        for n in names
        if (m := found.match(n)) and (width == 0 or len(m.group(1)) >= width)
    )
    if not numbered:
        raise InputError(f"{path}: no file matches the pattern")
    numbers = tuple(n for n, _ in numbered)
    return FrameSequence(str(path), tuple(p for _, p in numbered), numbers, fps, width)


def _natural(path: Path) -> list[object]:
    """``f2.png`` before ``f10.png``: digits compared as numbers."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]
