"""Files that appear whole or not at all: written under a hidden name beside the target,
fsynced, then renamed to it. The run's ``PartFiles`` knows every one being written, so an
interrupted run can delete those that other threads did not get to abort.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from vsr_cli.context import PartFiles


def part_name(target: Path) -> Path:
    """Where ``target`` is written until complete: hidden, unique, short, and with its
    extension (FFmpeg picks the container from it, as ffmpeg would)."""
    return target.with_name(f".{target.stem[:40]}.{uuid.uuid4().hex[:8]}.part{target.suffix}")


class PartFile:
    """The temporary file of one output; ``publish`` gives it the final name, ``abort``
    deletes it (the final name is never touched)."""

    def __init__(self, target: Path, parts: PartFiles) -> None:
        self.target = target
        self.path = part_name(target)
        self._parts = parts
        parts.add(self.path)

    def publish(self) -> None:
        """On disk before it takes the name: after a crash, a file under its name is whole."""
        with open(self.path, "rb") as written:
            os.fsync(written.fileno())
        os.replace(self.path, self.target)
        self._parts.discard(self.path)

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)
        self._parts.discard(self.path)
