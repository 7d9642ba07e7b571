"""Progress, warnings and results, as events; how they look is chosen here, once.

Everything below the CLI only calls a ``Reporter``. Four renderings:
``RichReporter`` (bars on a terminal's stderr), ``QuietReporter`` (warnings,
errors, notes and the batch summary as plain lines; with ``talk``, also a closing
line per file), ``JsonReporter`` (one JSON object per
line on stderr, nothing else) and ``CallbackReporter`` (a script's callables).
stdout is never touched: it may be carrying video.

Frames arrive a chunk at a time, in bursts: rates and times left come from the
file's frames and the time since its first frames came out (``Pace``: before that,
since it started), never from the last few updates, which read the bursts.

JSON events, each with ``"event"`` and ``"time"`` (Unix seconds):
  start     file, total (frames of the whole video, or null when unknown),
            done (frames already made by an earlier run: a resumed job's pieces),
            levers (what runs and why: device, precision, precision_reason,
            half_residual, compile, cuda_graphs, attention, tile_batch; or null)
  status    file, message (what runs while no frame comes out: resuming, compiling,
            the first chunk)
  progress  file, frames, total, fps, eta_s      (at most twice a second per file;
            eta_s null until frames have come out, or with no total)
  warning   message, file (or null)
  done      file, output, frames, seconds, video_seconds
  error     file (or null), message
  skipped   file, reason
  summary   done, failed, skipped, frames, seconds
"""

from __future__ import annotations

import datetime
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column, Table
from rich.text import Text

Clock = Callable[[], float]


@dataclass(frozen=True)
class Outcome:
    """What happened to one input."""

    file: str
    status: str  # done, failed, skipped
    frames: int = 0
    seconds: float = 0.0
    message: str = ""
    output: str = ""
    video_seconds: float | None = None  # of the output, where known


class Reporter(Protocol):
    def start(
        self, file: str, total: int | None, done: int = 0, levers: dict | None = None
    ) -> None: ...
    def advance(self, file: str, frames: int) -> None: ...
    def finish(self, file: str) -> None: ...
    def status(self, file: str, message: str) -> None: ...
    def warn(self, message: str, file: str | None = None) -> None: ...
    def outcome(self, outcome: Outcome) -> None: ...
    def summary(self, outcomes: list[Outcome]) -> None: ...


@dataclass
class Pace:
    """One file's frames against its clock: the rate since it started, and the time left."""

    total: int | None
    started: float
    done: int = 0
    before: int = 0  # made by an earlier run (not this run's work)
    reported: float = field(default=-1.0)
    # Frames done, and when, as the first ones came out: the rate is read from there on
    # once more have come, leaving out the start's one-off costs (loading, the first pass).
    first: tuple[int, float] | None = None

    def add(self, frames: int, now: float) -> None:
        self.done += frames
        if self.first is None:
            self.first = (self.done, now)

    def fps(self, now: float) -> float | None:
        if self.first is not None and self.done > self.first[0] and now > self.first[1]:
            return (self.done - self.first[0]) / (now - self.first[1])
        made = self.done - self.before
        return made / (now - self.started) if made > 0 and now > self.started else None

    def eta(self, now: float) -> float | None:
        rate = self.fps(now)
        if rate is None or self.total is None:
            return None
        return max(0, self.total - self.done) / rate


def clock_text(seconds: float | None) -> str:
    return "-:--:--" if seconds is None else str(datetime.timedelta(seconds=round(seconds)))


class QuietReporter:
    """Plain lines on stderr: warnings, errors, notes and a batch's summary; with ``talk``
    (logs and pipes, not ``--quiet``) also each file's closing line."""

    def __init__(self, console: Console | None = None, talk: bool = False) -> None:
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self.talk = talk

    def start(
        self, file: str, total: int | None, done: int = 0, levers: dict | None = None
    ) -> None:
        pass

    def advance(self, file: str, frames: int) -> None:
        pass

    def finish(self, file: str) -> None:
        pass

    def status(self, file: str, message: str) -> None:
        pass  # a live display's: in a log it would be a line too many

    def warn(self, message: str, file: str | None = None) -> None:
        where = f"{file}: " if file else ""
        self.console.print(f"[yellow]warning:[/] {escape(where + message)}", highlight=False)

    def outcome(self, outcome: Outcome) -> None:
        if outcome.status == "failed":
            self.console.print(f"[red]error:[/] {escape(outcome.message)}", highlight=False)
        elif outcome.status == "done" and outcome.message:
            self.console.print(outcome.message, markup=False, highlight=False)
        elif outcome.status == "done" and self.talk and outcome.output:
            self.console.print(closing_line(outcome), markup=False, highlight=False)
        elif outcome.status == "skipped" and self.talk:
            line = f"{outcome.file}: skipped ({outcome.message})"
            self.console.print(line, markup=False, highlight=False)

    def summary(self, outcomes: list[Outcome]) -> None:
        table = Table("file", "frames", "time", "result", title="vsr-upscale batch")
        for o in outcomes:
            message = escape(o.message or "")
            result = {"done": "[green]done[/]", "skipped": f"skipped ({message})"}.get(
                o.status, f"[red]failed[/]: {message}"
            )
            table.add_row(escape(o.file), str(o.frames or "-"), f"{o.seconds:.1f} s", result)
        self.console.print(table)


def closing_line(o: Outcome) -> str:
    """``out.mkv: 240 frames (0:00:10 of video) in 0:01:23, 2.89 fps``."""
    video = f" ({clock_text(o.video_seconds)} of video)" if o.video_seconds else ""
    rate = f", {o.frames / o.seconds:.2f} fps" if o.seconds > 0 and o.frames else ""
    return f"{o.output}: {o.frames} frames{video} in {clock_text(o.seconds)}{rate}"


class _Rate(ProgressColumn):
    """Frames per second since the file started, as of now."""

    def __init__(self, clock: Clock, column: Column) -> None:
        super().__init__(table_column=column)
        self._clock = clock

    def render(self, task: Task) -> Text:
        rate = task.fields["pace"].fps(self._clock())
        return Text("- fps" if rate is None else f"{rate:.2f} fps")


class _Left(ProgressColumn):
    """Time left at the file's own pace, recomputed at every refresh."""

    def __init__(self, clock: Clock, column: Column) -> None:
        super().__init__(table_column=column)
        self._clock = clock

    def render(self, task: Task) -> Text:
        return Text(f"{clock_text(task.fields['pace'].eta(self._clock()))} left")


class RichReporter(QuietReporter):
    """Progress bars on stderr, one per file being upscaled: frames done of the whole
    video, fps and time left at the file's pace, time elapsed."""

    def __init__(self, console: Console | None = None, clock: Clock = time.monotonic) -> None:
        super().__init__(console, talk=True)
        self._clock = clock
        # The name (or what runs) takes the room the numbers leave, cut short with an
        # ellipsis: on an 80-column terminal the times left stay whole and nothing wraps
        # (there, the bar is shorter and the time elapsed is left out).
        fixed, wide = Column(no_wrap=True), self.console.width >= 100
        columns = [
            TextColumn(
                "{task.description}",
                table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis", min_width=8),
            ),
            BarColumn(bar_width=24 if wide else 10, table_column=fixed),
            MofNCompleteColumn(table_column=fixed),
            _Rate(clock, fixed),
            *([TimeElapsedColumn(table_column=fixed)] if wide else []),
            _Left(clock, fixed),
        ]
        self._progress = Progress(*columns, console=self.console, expand=True)
        self._tasks: dict[str, tuple[int, Pace]] = {}

    def start(
        self, file: str, total: int | None, done: int = 0, levers: dict | None = None
    ) -> None:
        if not self._tasks:
            self._progress.start()
        pace = Pace(total, self._clock(), done, done)
        task_id = self._progress.add_task(_shown(file), total=total, completed=done, pace=pace)
        self._tasks[file] = (task_id, pace)

    def status(self, file: str, message: str) -> None:
        """Shown in place of the file's name until its next frames arrive."""
        if file in self._tasks:
            task_id, _ = self._tasks[file]
            self._progress.update(task_id, description=escape(message))

    def advance(self, file: str, frames: int) -> None:
        task_id, pace = self._tasks[file]
        pace.add(frames, self._clock())
        self._progress.update(task_id, description=_shown(file), advance=frames)

    def finish(self, file: str) -> None:
        self._tasks.pop(file, None)
        if not self._tasks:
            self._progress.stop()


def _shown(file: str) -> str:
    """A file's name on its bar: the last part of its path (the closing line has it all)."""
    return escape(file.rstrip("/").rsplit("/", 1)[-1] or file)


class JsonReporter:
    """One JSON object per line on stderr, and nothing else there."""

    def __init__(self, stream: TextIO | None = None, clock: Clock = time.monotonic) -> None:
        self._stream = stream or sys.stderr
        self._clock = clock
        self._lock = threading.Lock()
        self._files: dict[str, Pace] = {}

    def _emit(self, event: str, **fields: object) -> None:
        with self._lock:
            self._stream.write(json.dumps({"event": event, "time": time.time(), **fields}) + "\n")
            self._stream.flush()

    def start(
        self, file: str, total: int | None, done: int = 0, levers: dict | None = None
    ) -> None:
        self._files[file] = Pace(total, self._clock(), done, done)
        self._emit("start", file=file, total=total, done=done, levers=levers)

    def advance(self, file: str, frames: int) -> None:
        pace = self._files[file]
        now = self._clock()
        pace.add(frames, now)
        if now - pace.reported >= 0.5 or pace.done == pace.total:
            pace.reported = now
            fps, eta = pace.fps(now), pace.eta(now)
            self._emit(
                "progress",
                file=file,
                frames=pace.done,
                total=pace.total,
                fps=None if fps is None else round(fps, 3),
                eta_s=None if eta is None else round(eta, 1),
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
                video_seconds=outcome.video_seconds,
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

    def start(
        self, file: str, total: int | None, done: int = 0, levers: dict | None = None
    ) -> None:
        self._done, self._total = done, total

    def advance(self, file: str, frames: int) -> None:
        for _ in range(frames):  # a call per frame, however many arrive together
            self._done += 1
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
    """How a model download is shown: each source about to be tried, then its bytes (the
    first call of ``bytes``, perhaps with 0, says the source answered)."""

    def source(self, model: str, label: str) -> None: ...
    def bytes(self, done: int, total: int | None) -> None: ...
