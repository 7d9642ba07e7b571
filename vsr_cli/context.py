"""What one run shares with everything below it: where to report, when to stop, what to
clean up. Passed down explicitly, so no module keeps a process-wide flag or registry.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from vsr_cli.events import QuietReporter, Reporter


class Cancelled(Exception):
    """This run was asked to stop (Ctrl-C or SIGTERM reached another thread)."""


class PartFiles:
    """Temporary outputs being written, by any thread: an interrupted run with one worker
    per device exits without those workers unwinding, so it deletes them from here."""

    def __init__(self) -> None:
        self._paths: set[Path] = set()
        self._lock = threading.Lock()

    def add(self, path: Path) -> None:
        with self._lock:
            self._paths.add(path)

    def discard(self, path: Path) -> None:
        with self._lock:
            self._paths.discard(path)

    def remove_all(self) -> None:
        with self._lock:
            paths, self._paths = list(self._paths), set()
        for path in paths:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


@dataclass(frozen=True)
class RunContext:
    """The reporter, the cancel event and the part files of one run; ``for_file`` binds
    warnings to an input's name, ``once`` says each warning once (a job of many pieces
    opens the input and an encoder again for every piece)."""

    reporter: Reporter = field(default_factory=QuietReporter)
    cancel: threading.Event = field(default_factory=threading.Event)
    parts: PartFiles = field(default_factory=PartFiles)
    file: str | None = None
    _said: set[str] | None = None

    def for_file(self, name: str) -> RunContext:
        return replace(self, file=name, _said=None)

    def once(self) -> RunContext:
        return replace(self, _said=set())

    def warn(self, message: str) -> None:
        if self._said is not None:
            if message in self._said:
                return
            self._said.add(message)
        self.reporter.warn(message, self.file)

    def status(self, message: str) -> None:
        """What runs now, while no frame has come out (compiling, the first chunk)."""
        self.reporter.status(self.file or "", message)

    def check_cancel(self) -> None:
        """Raise ``Cancelled`` once the run is asked to stop: called between chunks."""
        if self.cancel.is_set():
            raise Cancelled
