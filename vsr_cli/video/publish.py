"""Files that appear whole or not at all: written under a hidden name beside the target,
fsynced, then renamed to it. The run's ``PartFiles`` knows every one being written, so an
interrupted run can delete those that other threads did not get to abort.

A run that is killed outright (SIGKILL, a power cut) deletes nothing, so every part file
is locked (``flock``) by the process writing it for as long as it writes: a part file
nobody holds a lock on is a leftover. The next run for the same output removes its
leftovers, and ``leftovers`` finds them all under a folder (``vsr clean``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from vsr_cli.context import PartFiles
from vsr_cli.errors import OutputError

_PART = r"\.[0-9a-f]{8}\.part"  # what part_name puts between the stem and the extension
_JUST_MADE = 1.0  # seconds


def part_name(target: Path) -> Path:
    """Where ``target`` is written until complete: hidden, unique, short, and with its
    extension (FFmpeg picks the container from it, as ffmpeg would)."""
    return target.with_name(f".{target.stem[:40]}.{uuid.uuid4().hex[:8]}.part{target.suffix}")


def is_special(path: Path) -> bool:
    """Not a regular file: a character device (/dev/null), a FIFO, a socket. Such an
    output is written into, as ffmpeg does, never given a part file renamed over it."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class PartFile:
    """The temporary file of one output; ``publish`` gives it the final name, ``abort``
    deletes it (the final name is never touched). Made only after the output's own
    leftovers are removed, and locked from its creation on."""

    def __init__(self, target: Path, parts: PartFiles) -> None:
        self.target = target
        for stale in _leftovers_of(target):
            with contextlib.suppress(OSError):
                stale.unlink()
        self.path = part_name(target)
        self._lock = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self._parts = parts
        parts.add(self.path)

    def publish(self) -> None:
        """On disk before it takes the name: after a crash, a file under its name is whole."""
        os.fsync(self._lock)  # the same file FFmpeg wrote through its own descriptor
        os.replace(self.path, self.target)
        self._parts.discard(self.path)
        self._unlock()

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)
        self._parts.discard(self.path)
        self._unlock()

    def _unlock(self) -> None:
        if self._lock >= 0:
            os.close(self._lock)  # closing releases the lock
            self._lock = -1


@dataclass(frozen=True)
class Leftover:
    path: Path
    size: int  # bytes


def leftovers(folder: Path) -> list[Leftover]:
    """Part files under ``folder`` (and its subfolders, job folders included) that no
    running process is writing: what killed runs left behind."""
    found = []
    for root, _, names in os.walk(folder):
        for name in sorted(names):
            path = Path(root, name)
            if re.fullmatch(rf"\..+{_PART}(\.[^.]+)?", name) and not _owned(path):
                with contextlib.suppress(OSError):
                    found.append(Leftover(path, path.stat().st_size))
    return found


def remove_leftovers(folder: Path, dry_run: bool = False) -> list[Leftover]:
    """``leftovers`` under ``folder``, removed unless ``dry_run``; the ones found."""
    found = leftovers(folder)
    if not dry_run:
        for leftover in found:
            try:
                leftover.path.unlink(missing_ok=True)
            except OSError as e:
                raise OutputError(f"{leftover.path}: cannot remove it ({e.strerror})") from None
    return found


def _leftovers_of(target: Path) -> list[Path]:
    """Part files of ``target`` (or of an output whose name starts the same 40 characters)
    that no running process is writing."""
    pattern = re.compile(re.escape(f".{target.stem[:40]}") + _PART + re.escape(target.suffix))
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    paths = [target.parent / n for n in names if pattern.fullmatch(n)]
    return [p for p in paths if not _owned(p)]


def _owned(path: Path) -> bool:
    """Whether a running process holds the lock of this part file (its writer), or may be
    about to (changed within the last second: between creating and locking it). Opened
    for writing: network file systems lock only files open for writing."""
    try:
        if time.time() - path.stat().st_mtime < _JUST_MADE:
            return True
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return True  # unreadable or gone: not ours to judge
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False
