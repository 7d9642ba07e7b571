"""Progress, warnings and results, as events; how they look is chosen here, once.

Everything below the CLI only calls a ``Reporter``. Four renderings:
``RichReporter`` (bars on a terminal's stderr), ``QuietReporter`` (warnings,
errors, notes and the batch summary as plain lines), ``JsonReporter`` (one JSON
object per line on stderr, nothing else) and ``CallbackReporter`` (a script's
callables). stdout is never touched: it may be carrying video.

JSON events, each with ``"event"`` and ``"time"`` (Unix seconds):
  start     file, total (frames, or null when unknown)
  status    file, message (what runs while no frame has come out yet: compiling, the
            first chunk)
  progress  file, frames, total, fps          (at most twice a second per file)
  warning   message, file (or null)
  done      file, output, frames, seconds
  error     file (or null), message
  skipped   file, reason
  summary   done, failed, skipped, frames, seconds
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table


@dataclass(frozen=True)
class Outcome:
    """What happened to one input."""

    file: str
    status: str  # done, failed, skipped
    frames: int = 0
    seconds: float = 0.0
    message: str = ""
    output: str = ""


class Reporter(Protocol):
    def start(self, file: str, total: int | None) -> None: ...
    def advance(self, file: str, frames: int) -> None: ...
    def finish(self, file: str) -> None: ...
    def status(self, file: str, message: str) -> None: ...
    def warn(self, message: str, file: str | None = None) -> None: ...
    def outcome(self, outcome: Outcome) -> None: ...
    def summary(self, outcomes: list[Outcome]) -> None: ...


class QuietReporter:
    """Plain lines on stderr: warnings, errors, and a summary table for batches."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)

    def start(self, file: str, total: int | None) -> None:
        pass

    def advance(self, file: str, frames: int) -> None:
        pass

    def finish(self, file: str) -> None:
        pass

    def status(self, file: str, message: str) -> None:
        pass

    def warn(self, message: str, file: str | None = None) -> None:
        where = f"{file}: " if file else ""
        self.console.print(f"[yellow]warning:[/] {escape(where + message)}", highlight=False)

    def outcome(self, outcome: Outcome) -> None:
        if outcome.status == "failed":
            self.console.print(f"[red]error:[/] {escape(outcome.message)}", highlight=False)
        elif outcome.status == "done" and outcome.message:
            self.console.print(outcome.message, markup=False, highlight=False)

    def summary(self, outcomes: list[Outcome]) -> None:
        table = Table("file", "frames", "time", "result", title="vsr-upscale batch")
        for o in outcomes:
            message = escape(o.message or "")
            result = {"done": "[green]done[/]", "skipped": f"skipped ({message})"}.get(
                o.status, f"[red]failed[/]: {message}"
            )
            table.add_row(escape(o.file), str(o.frames or "-"), f"{o.seconds:.1f} s", result)
        self.console.print(table)


class RichReporter(QuietReporter):
    """Progress bars (frames, fps, elapsed, ETA) on stderr, one per file being upscaled."""

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
        )
        self._tasks: dict[str, int] = {}

    def start(self, file: str, total: int | None) -> None:
        if not self._tasks:
            self._progress.start()
        self._tasks[file] = self._progress.add_task(escape(file), total=total, fps="-")

    def status(self, file: str, message: str) -> None:
        """Shown beside the file's name until its first frames arrive."""
        if file in self._tasks:
            self._progress.update(self._tasks[file], description=escape(f"{file}: {message}"))

    def advance(self, file: str, frames: int) -> None:
        task_id = self._tasks[file]
        self._progress.update(task_id, description=escape(file))
        self._progress.advance(task_id, frames)
        task = next(t for t in self._progress.tasks if t.id == task_id)
        if task.elapsed:
            self._progress.update(task_id, fps=f"{task.completed / task.elapsed:.2f}")

    def finish(self, file: str) -> None:
        self._tasks.pop(file, None)
        if not self._tasks:
            self._progress.stop()


@dataclass
class _FileProgress:
    total: int | None
    started: float
    frames: int = 0
    reported: float = 0.0


class JsonReporter:
    """One JSON object per line on stderr, and nothing else there."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._files: dict[str, _FileProgress] = {}

    def _emit(self, event: str, **fields: object) -> None:
        with self._lock:
            self._stream.write(json.dumps({"event": event, "time": time.time(), **fields}) + "\n")
            self._stream.flush()

    def start(self, file: str, total: int | None) -> None:
        self._files[file] = _FileProgress(total, time.monotonic())
        self._emit("start", file=file, total=total)

    def advance(self, file: str, frames: int) -> None:
        state = self._files[file]
        state.frames += frames
        now = time.monotonic()
        if now - state.reported >= 0.5 or state.frames == state.total:
            state.reported = now
            fps = state.frames / max(now - state.started, 1e-9)
            self._emit(
                "progress", file=file, frames=state.frames, total=state.total, fps=round(fps, 3)
            )

    def finish(self, file: str) -> None:
        self._files.pop(file, None)

    def status(self, file: str, message: str) -> None:
        self._emit("status", file=file, message=message)

    def warn(self, message: str, file: str | None = None) -> None:
        self._emit("warning", file=file, message=message)

    def outcome(self, outcome: Outcome) -> None:
        if outcome.status == "done":
            self._emit(
                "done",
                file=outcome.file,
                output=outcome.output,
                frames=outcome.frames,
                seconds=round(outcome.seconds, 3),
            )
        elif outcome.status == "skipped":
            self._emit("skipped", file=outcome.file, reason=outcome.message)
        else:
            self._emit("error", file=outcome.file, message=outcome.message)

    def summary(self, outcomes: list[Outcome]) -> None:
        count = {s: sum(o.status == s for o in outcomes) for s in ("done", "failed", "skipped")}
        self._emit(
            "summary",
            **count,
            frames=sum(o.frames for o in outcomes),
            seconds=round(sum(o.seconds for o in outcomes), 3),
        )


class CallbackReporter:
    """For scripts: frames done (and the total, when known) to ``progress``, warnings to
    ``warn``."""

    def __init__(
        self, progress: Callable[[int, int | None], None] | None, warn: Callable[[str], None]
    ) -> None:
        self._progress, self._warn = progress, warn
        self._done, self._total = 0, None

    def start(self, file: str, total: int | None) -> None:
        self._done, self._total = 0, total

    def advance(self, file: str, frames: int) -> None:
        self._done += frames
        if self._progress:
            self._progress(self._done, self._total)

    def finish(self, file: str) -> None:
        pass

    def status(self, file: str, message: str) -> None:
        pass

    def warn(self, message: str, file: str | None = None) -> None:
        self._warn(f"{file}: {message}" if file else message)

    def outcome(self, outcome: Outcome) -> None:
        pass

    def summary(self, outcomes: list[Outcome]) -> None:
        pass


class DownloadProgress(Protocol):
    """How a model download is shown: each source as it is tried, then its bytes."""

    def source(self, model: str, label: str) -> None: ...
    def bytes(self, done: int, total: int | None) -> None: ...
