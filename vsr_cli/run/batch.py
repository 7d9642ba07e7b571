"""Doing the work ``run/work.py`` planned: one file, or a batch with one worker per device.

Outputs are written atomically, so an existing output is a finished one and
``--skip-existing`` resumes an interrupted batch.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from vsr_cli.config import UpscaleConfig
from vsr_cli.context import Cancelled, RunContext
from vsr_cli.errors import InternalError, NoVideoStreamError, VsrError, bugs_named
from vsr_cli.events import Outcome
from vsr_cli.infer.engine import Engine
from vsr_cli.run.paths import make_folder
from vsr_cli.run.pieces import segment_note
from vsr_cli.run.upscale import upscale_video
from vsr_cli.run.work import Task, Work

CANCEL_WAIT = 30.0  # seconds an interrupted batch waits for its workers' chunks to end


def run_work(
    work: Work, engines: list[Engine], context: RunContext, skip_existing: bool = False
) -> list[Outcome]:
    """Upscale what ``plan_work`` planned; every outcome is also reported. One file's
    failure is raised; a batch's are outcomes (the batch goes on)."""
    reporter = context.reporter
    if work.skipped:
        outcome = Outcome(str(work.inputs[0]), "skipped", message="output exists")
        reporter.outcome(outcome)
        return [outcome]
    if work.tasks is None:
        src, dst = work.source, work.target
        name = str(work.inputs[0])
        with bugs_named(name):
            result = upscale_video(src, dst, engines[0], work.config, context)
        segment, note = work.config.pieces.segment, ""
        if segment and result.pieces_left is not None:
            note = segment_note(segment, result.pieces_left, dst)
        published = str(dst) if result.pieces_left is None else ""
        outcome = Outcome(
            name, "done", result.frames, result.seconds, note, published, result.video_seconds
        )
        reporter.outcome(outcome)
        return [outcome]
    make_folder(work.output)
    outcomes = run_batch(work.tasks, engines, work.config, context, skip_existing)
    reporter.summary(outcomes)
    return outcomes


def _run_one(
    task: Task, engine: Engine, config: UpscaleConfig, context: RunContext, skip_existing: bool
) -> Outcome:
    name = str(task.src)
    if skip_existing and isinstance(task.dst, Path) and task.dst.exists():
        return Outcome(name, "skipped", message="output exists", output=str(task.dst))
    started = time.perf_counter()
    try:
        result = upscale_video(task.src, task.dst, engine, config, context)
    except NoVideoStreamError:  # e.g. an .mp4 holding only audio
        return Outcome(name, "skipped", message="no video stream")
    except Cancelled:
        return Outcome(name, "failed", seconds=time.perf_counter() - started, message="interrupted")
    except VsrError as e:
        return Outcome(name, "failed", seconds=time.perf_counter() - started, message=str(e))
    except Exception as e:  # one broken file must not stop a batch
        message = str(InternalError(name, e))
        return Outcome(name, "failed", seconds=time.perf_counter() - started, message=message)
    return Outcome(
        name,
        "done",
        result.frames,
        result.seconds,
        output=str(task.dst),
        video_seconds=result.video_seconds,
    )


def run_batch(
    tasks: list[Task],
    engines: list[Engine],
    config: UpscaleConfig,
    context: RunContext,
    skip_existing: bool,
) -> list[Outcome]:
    """Every task, spread over one worker per engine; outcomes in task order."""
    pending: queue.Queue[int] = queue.Queue()
    for i in range(len(tasks)):
        pending.put(i)
    outcomes: list[Outcome | None] = [None] * len(tasks)

    def work(engine: Engine) -> None:
        while not context.cancel.is_set():
            try:
                i = pending.get_nowait()
            except queue.Empty:
                return
            outcomes[i] = _run_one(tasks[i], engine, config, context, skip_existing)
            if not context.cancel.is_set():  # an interrupted run says so once, from the main thread
                context.reporter.outcome(outcomes[i])

    if len(engines) == 1:
        work(engines[0])
    else:
        _run_workers(work, engines, context)
    return [o for o in outcomes if o is not None]


def _run_workers(
    work: Callable[[Engine], None], engines: list[Engine], context: RunContext
) -> None:
    """One thread per engine. The main thread waits on an event, not on the threads:
    Ctrl-C or SIGTERM lands there, asks the workers to stop at their next chunk (each
    removes its unfinished file), waits for them a while, deletes whatever part files
    are left, and goes on unwinding."""
    finished = threading.Event()
    left = [len(engines)]
    lock = threading.Lock()

    def run(engine: Engine) -> None:
        try:
            work(engine)
        finally:
            with lock:
                left[0] -= 1
                if left[0] == 0:
                    finished.set()

    for engine in engines:
        threading.Thread(target=run, args=(engine,), daemon=True).start()
    try:
        while not finished.wait(0.2):
            pass
    except KeyboardInterrupt:
        context.cancel.set()
        finished.wait(CANCEL_WAIT)
        context.parts.remove_all()
        raise
