"""Many videos: the work list, its shards, and one worker per device.

The work list is sorted, so ``--shard K/N`` (every N-th item from the K-th)
gives N machines disjoint, stable shares with no coordinator. Outputs are
written atomically, so an existing output is a finished one and
``--skip-existing`` resumes an interrupted batch.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vsr_cli.config import UpscaleConfig
from vsr_cli.context import Cancelled, RunContext
from vsr_cli.errors import InputError, NoVideoStreamError, VsrError
from vsr_cli.events import Outcome
from vsr_cli.infer.engine import Engine
from vsr_cli.run.upscale import upscale_video

VIDEO_EXTENSIONS = frozenset(
    ".3g2 .3gp .asf .avi .divx .f4v .flv .m2t .m2ts .m2v .m4v .mkv .mod .mov .mp4 .mpeg .mpg "
    ".mts .mxf .nut .ogv .tod .ts .vob .webm .wmv .y4m".split()
)


CANCEL_WAIT = 30.0  # seconds an interrupted batch waits for its workers' chunks to end


@dataclass(frozen=True)
class Task:
    src: Path
    dst: Path


def collect(inputs: list[Path], out_dir: Path, recursive: bool, ext: str | None) -> list[Task]:
    """Every video among ``inputs`` (files, or folders searched by extension), sorted,
    each with its output path under ``out_dir`` (same relative path and name).

    The output folder is never searched (it may sit inside an input folder, holding an
    earlier run's outputs), and two inputs bound for one output are refused before any
    work rather than one overwriting the other.
    """
    out_root = out_dir.resolve()
    tasks = []
    for item in inputs:
        if item.is_dir():
            found = item.rglob("*") if recursive else item.iterdir()
            videos = [
                p
                for p in found
                if p.is_file()
                and p.suffix.lower() in VIDEO_EXTENSIONS
                and out_root not in p.resolve().parents
                # not hidden: vsr-cli's own job folders and partial files are
                and not any(part.startswith(".") for part in p.relative_to(item).parts)
            ]
            tasks += [Task(p, out_dir / p.relative_to(item)) for p in videos]
        else:
            tasks.append(Task(item, out_dir / item.name))
    if ext:
        suffix = ext if ext.startswith(".") else f".{ext}"
        tasks = [Task(t.src, t.dst.with_suffix(suffix)) for t in tasks]
    tasks.sort(key=lambda t: str(t.src))
    seen: dict[Path, Path] = {}
    for task in tasks:
        first = seen.setdefault(task.dst, task.src)
        if first != task.src:
            raise InputError(f"{first} and {task.src} would both be written to {task.dst}")
    return tasks


def take_shard(tasks: list[Task], k: int, n: int) -> list[Task]:
    return tasks[k - 1 :: n]


def _run_one(
    task: Task, engine: Engine, config: UpscaleConfig, context: RunContext, skip_existing: bool
) -> Outcome:
    name = str(task.src)
    if skip_existing and task.dst.exists():
        return Outcome(name, "skipped", message="output exists", output=str(task.dst))
    started = time.perf_counter()
    try:
        task.dst.parent.mkdir(parents=True, exist_ok=True)
        result = upscale_video(task.src, task.dst, engine, config, context)
    except NoVideoStreamError:  # e.g. an .mp4 holding only audio
        return Outcome(name, "skipped", message="no video stream")
    except Cancelled:
        return Outcome(name, "failed", seconds=time.perf_counter() - started, message="interrupted")
    except VsrError as e:
        return Outcome(name, "failed", seconds=time.perf_counter() - started, message=str(e))
    except Exception as e:  # one broken file must not stop a batch
        message = f"{name}: {type(e).__name__}: {e}"
        return Outcome(name, "failed", seconds=time.perf_counter() - started, message=message)
    return Outcome(
        name, "done", result.frames, result.seconds, output=str(task.dst),
        video_seconds=result.video_seconds,
    )  # fmt: skip


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
