"""FFmpeg's own words: its log, kept per thread, and the reason it gives for an error.

FFmpeg logs through PyAV's callback once ``configure_logging`` has run (an explicit
call made by the API): errors then carry FFmpeg's last log line, and a thread can
collect what FFmpeg says while it works (``logged``) without touching the process's
stderr, which other threads may be writing JSON events to.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator

import av
import av.logging


def configure_logging() -> None:
    """Route FFmpeg's warnings and errors through PyAV (so exceptions carry FFmpeg's reason)
    into a logger that prints nothing, and ask SVT-AV1 for errors only (it prints a banner
    straight to stderr otherwise). Process-wide: the API calls it once."""
    quiet = logging.getLogger("libav")
    if not any(isinstance(h, logging.NullHandler) for h in quiet.handlers):
        quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    av.logging.set_level(av.logging.WARNING)
    os.environ.setdefault("SVT_LOG", "1")


@contextlib.contextmanager
def logged() -> Iterator[list[str]]:
    """What FFmpeg logs from this thread inside the block (messages, stripped)."""
    lines: list[str] = []
    with av.logging.Capture(local=True) as captured:
        try:
            yield lines
        finally:
            lines += [message.strip() for _, _, message in captured if message.strip()]


def ffmpeg_reason(e: Exception) -> str:
    """FFmpeg's own words for an error: its last log line where PyAV kept one."""
    text = str(e)
    logged_line = re.search(r"last error log: \[[^\]]*\]\s*(.+)$", text, re.S)
    if logged_line:
        return logged_line[1].strip().rstrip(".")
    text = getattr(e, "strerror", None) or text
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text).strip().rstrip(".")
