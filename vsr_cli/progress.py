"""Progress and warnings, as events; the CLI decides how they look.

The pipeline only calls a ``Reporter``; ``RichReporter`` draws a bar on stderr
(stdout stays free for data), ``QuietReporter`` prints warnings only.
"""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Reporter(Protocol):
    def start(self, name: str, total: int | None) -> None: ...
    def advance(self, frames: int) -> None: ...
    def warn(self, message: str) -> None: ...
    def finish(self) -> None: ...


class QuietReporter:
    """Warnings only, one line each on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)

    def start(self, name: str, total: int | None) -> None:
        pass

    def advance(self, frames: int) -> None:
        pass

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)

    def finish(self) -> None:
        pass


class RichReporter(QuietReporter):
    """A progress bar (frames, fps, elapsed, ETA) on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        super().__init__(console)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[fps]} fps"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._task = None

    def start(self, name: str, total: int | None) -> None:
        self._progress.start()
        self._task = self._progress.add_task(name, total=total, fps="-")

    def advance(self, frames: int) -> None:
        if self._task is None:
            return
        self._progress.advance(self._task, frames)
        task = self._progress.tasks[0]
        if task.elapsed:
            self._progress.update(self._task, fps=f"{task.completed / task.elapsed:.2f}")

    def finish(self) -> None:
        self._progress.stop()
        self._task = None
