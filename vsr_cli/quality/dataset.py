"""Benchmark datasets as they ship: where the clips and their frames are, and their low-res.

Layouts read (the ground truth is DATASET; ``--lr`` points at the same layout):

- a folder of clip folders of frames: REDS4 (``000/00000000.png``), Vid4
  (``calendar/*.png``), or anything shaped so;
- Vimeo-90K-T: a list file of ``00001/0266`` lines (``sep_testlist.txt``, found
  in DATASET or given), septuplets under ``sequences/`` (or DATASET itself);
- a folder of frames: one clip.

Frames sort by the numbers in their names (``im10`` after ``im9``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vsr_cli.errors import InputError, MissingExtraError
from vsr_cli.models.descriptor import PSRT_RECURRENT
from vsr_cli.quality.resize import imresize

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
VIMEO_LIST = "sep_testlist.txt"
SCALE = PSRT_RECURRENT.scale  # the benchmarks' x4, which is the network's


@dataclass(frozen=True)
class Clip:
    name: str
    truth: tuple[Path, ...]
    low_res: tuple[Path, ...] | None  # None: made from the truth (MATLAB bicubic)
    septuplet: bool = False  # Vimeo-90K-T: also scored on its center frame


def _natural(path: Path) -> list[int | str]:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", path.name)]


def _frames(folder: Path) -> tuple[Path, ...]:
    if not folder.is_dir():
        return ()
    images = [
        p
        for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    ]
    return tuple(sorted(images, key=_natural))


def find_clips(
    root: Path, low_res: Path | None = None, list_file: Path | None = None
) -> list[Clip]:
    """Every clip of the dataset at ``root``, in order, with its low-res frames if given."""
    if not root.is_dir():
        raise InputError(f"{root}: no such folder")
    if low_res is not None and not low_res.is_dir():
        raise InputError(f"{low_res}: no such folder")
    if list_file is None and (root / VIMEO_LIST).is_file():
        list_file = root / VIMEO_LIST
    if list_file is not None:
        names = _listed(list_file)
        septuplet = True
    elif _frames(root):
        names, septuplet = [""], False
    else:
        folders = sorted((p for p in root.iterdir() if _frames(p)), key=_natural)
        names = [p.name for p in folders]
        septuplet = False
    if not names:
        raise InputError(f"{root}: no clips found (folders of frames, or a {VIMEO_LIST})")
    clips = []
    for name in names:
        truth = _frames(_clip_folder(root, name))
        if not truth:
            raise InputError(f"{_clip_folder(root, name)}: no frames")
        lr = None
        if low_res is not None:
            lr = _frames(_clip_folder(low_res, name))
            if len(lr) != len(truth):
                raise InputError(
                    f"{_clip_folder(low_res, name)}: {len(lr)} low-res frames for "
                    f"{len(truth)} ground-truth frames"
                )
        clips.append(Clip(name or root.name, truth, lr, septuplet))
    return clips


def _listed(list_file: Path) -> list[str]:
    try:
        lines = list_file.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise InputError(f"{list_file}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{list_file}: not a text list of clips") from None
    return [line.strip() for line in lines if line.strip()]


def _clip_folder(root: Path, name: str) -> Path:
    """Vimeo's septuplets live under ``sequences/``; other layouts directly under the root."""
    if name and (root / "sequences").is_dir():
        return root / "sequences" / name
    return root / name if name else root


def _png_bit_depth(path: Path) -> int | None:
    """A PNG's bit depth from its header (Pillow opens 16-bit RGB as 8-bit, silently)."""
    with open(path, "rb") as f:
        head = f.read(25)
    return head[24] if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) == 25 else None


def read_image(path: Path) -> np.ndarray:
    """(h, w, 3) uint8 RGB."""
    try:
        from PIL import Image
    except ImportError:
        raise MissingExtraError(
            "reading frames needs Pillow: pip install 'vsr-cli[eval]'"
        ) from None
    try:
        if _png_bit_depth(path) == 16:
            raise InputError(f"{path}: a 16-bit PNG; the benchmarks' frames are 8-bit")
        with Image.open(path) as image:
            if image.mode not in ("RGB", "L", "P", "RGBA"):
                raise InputError(f"{path}: {image.mode} images are not read (8-bit RGB only)")
            return np.asarray(image.convert("RGB"))
    except OSError as e:
        raise InputError(f"{path}: not a readable image ({e})") from None


def matched(
    truth: np.ndarray, low_res: np.ndarray | None, name: Path
) -> tuple[np.ndarray, np.ndarray]:
    """(truth, low-res) of one frame, sizes made to agree: without a low-res frame, the
    truth is cropped to a multiple of 4 and shrunk by MATLAB's bicubic (the "BI"
    degradation); with one, the truth may lose the few rows/columns the dataset dropped."""
    h, w = truth.shape[:2]
    if low_res is None:
        truth = truth[: h // SCALE * SCALE, : w // SCALE * SCALE]
        if truth.shape[0] < SCALE or truth.shape[1] < SCALE:
            raise InputError(f"{name}: frames of {w}x{h} are too small to shrink {SCALE}x")
        return truth, imresize(truth, truth.shape[0] // SCALE, truth.shape[1] // SCALE)
    lh, lw = low_res.shape[:2]
    if not (0 <= h - lh * SCALE < SCALE and 0 <= w - lw * SCALE < SCALE):
        raise InputError(f"{name}: {w}x{h} is not {SCALE}x its low-res frame's {lw}x{lh}")
    return truth[: lh * SCALE, : lw * SCALE], low_res
