"""Rules for where an output may go, checked before any work: never over the input, never
over a file without ``--overwrite``, never where it could not be written anyway."""

from __future__ import annotations

import os
from pathlib import Path

from vsr_cli.errors import OutputError
from vsr_cli.video.publish import is_special

STDIO = Path("-")  # stdin as an input, stdout as an output
CONCAT = "concat:"  # FFmpeg's protocol for files read one after the other as one input


def check_paths(src: Path, dst: Path, overwrite: bool) -> None:
    """Refuse what would lose data: writing over the input, or over a file without -y."""
    if dst == STDIO:
        return
    folder = _nearest_existing(dst.parent)
    if not folder.is_dir():
        raise OutputError(f"{folder}: not a folder")
    limit = name_max(folder)
    if len(os.fsencode(dst.name)) > limit:
        raise OutputError(f"{dst.name[:40]}...: file name longer than {limit} bytes")
    if dst.exists() and any(
        part.exists() and dst.resolve() == part.resolve() for part in concat_parts(src) or [src]
    ):
        raise OutputError(f"{dst}: the output is the input")
    if dst.is_dir():
        raise OutputError(f"{dst}: is a folder")
    if dst.exists() and not overwrite:
        raise OutputError(f"{dst}: exists; pass --overwrite (-y) to replace it")
    if is_special(dst):  # a device or a FIFO: written into, as ffmpeg does
        if not os.access(dst, os.W_OK):
            raise OutputError(f"{dst}: permission denied (cannot write to it)")
        return
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{folder}: permission denied (cannot write there)")


def _nearest_existing(folder: Path) -> Path:
    """``folder``, or its nearest ancestor that exists: missing folders are made (as a
    batch makes its output's), so that one must be writable."""
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def make_folder(folder: Path) -> None:
    """``folder`` and its missing parents, or one line saying why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{folder}: cannot create the folder ({e.strerror})") from None


def concat_parts(path: Path) -> list[Path] | None:
    """The files of an ffmpeg ``concat:a.ts|b.ts`` input (read as one stream, byte after
    byte, as split recordings are), or None for any other name."""
    text = str(path)
    return [Path(p) for p in text[len(CONCAT) :].split("|")] if text.startswith(CONCAT) else None


def name_max(folder: Path) -> int:
    """The longest file name ``folder``'s file system takes, in bytes."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def is_dir(path: Path) -> bool:
    """A name too long for the file system is no folder (and is refused later, in one line)."""
    try:
        return path.is_dir()
    except OSError:
        return False
