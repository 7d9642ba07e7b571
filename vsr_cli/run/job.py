"""A resumable job: the hidden folder beside an output that keeps its finished pieces.

A long video is upscaled as pieces of about ``--piece-seconds`` of video, each
computed on its own (with context frames on both sides, as between chunks) and
encoded into its own file, which appears only when complete. The folder
``.NAME.vsr-job`` beside the output ``NAME`` holds them with ``job.json``: the
input's fingerprint, the settings, and the plan. So a crash, SIGKILL or SIGTERM
costs at most the piece in hand; ``--segment K/N`` lets N machines compute
disjoint shares of one video into a shared folder; and the output is the
pieces joined by stream copy, with the input's audio, subtitles and chapters.
An input or settings that changed never mix with old pieces.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from vsr_cli.config import Span
from vsr_cli.errors import InputError, OutputError
from vsr_cli.run.paths import concat_parts
from vsr_cli.video.image_input import FrameSequence

FORMAT = 1  # of job.json
_SAMPLE = 1 << 20  # bytes hashed at each end of the input


def input_fingerprint(path: Path | FrameSequence) -> dict:
    """Enough to notice a different or modified input without reading all of it (not its
    path: machines of a ``--segment`` run may mount the share in different places). Image
    frames: their names, sizes and times, and the rate they are played at; ``concat:``,
    each of its files'."""
    if isinstance(path, FrameSequence):
        digest = hashlib.sha256()
        for frame in path.files:
            info = frame.stat()
            digest.update(f"{frame.name}:{info.st_size}:{info.st_mtime_ns}".encode())
        return {"frames": len(path.files), "sha256": digest.hexdigest(), "fps": str(path.fps)}
    if parts := concat_parts(path):
        return {"parts": [input_fingerprint(part) for part in parts]}
    try:
        stat = path.stat()
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            digest.update(f.read(_SAMPLE))
            f.seek(max(0, stat.st_size - _SAMPLE))
            digest.update(f.read(_SAMPLE))
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}") from None
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256_ends": digest.hexdigest()}


def plan_pieces(span: Span, end: float, seconds: float) -> list[Span]:
    """``span`` (ending at ``end`` seconds when it is open) cut into pieces of ``seconds``;
    the last one runs to the span's own end, so no frame past ``end`` is lost."""
    count = max(1, math.ceil((end - span.start) / seconds - 1e-9))
    starts = [span.start + i * seconds for i in range(count)]
    return [Span(a, starts[i + 1] if i + 1 < count else span.end) for i, a in enumerate(starts)]


def share(count: int, k: int, n: int) -> range:
    """The K-th (1-based) of N contiguous, nearly equal shares of ``count`` pieces."""
    return range((k - 1) * count // n, k * count // n)


@dataclass(frozen=True)
class Job:
    folder: Path
    pieces: list[Span]
    base: float  # the input time of the output's first frame (timestamps move back by it)
    tile: int  # sizes chosen when the job began, kept so every piece is computed alike
    chunk: int
    suffix: str  # the output's extension: pieces are in its container

    def piece_path(self, index: int) -> Path:
        return self.folder / f"piece-{index:05d}{self.suffix}"

    def done(self, index: int) -> bool:
        return self.piece_path(index).exists()

    def missing(self, indices: range | None = None) -> list[int]:
        everything = range(len(self.pieces))
        return [i for i in (everything if indices is None else indices) if not self.done(i)]

    def remove(self) -> None:
        """Moved aside first: a folder half deleted must never pass for a job."""
        aside = self.folder.with_name(f"{self.folder.name}.{uuid.uuid4().hex[:8]}.old")
        try:
            self.folder.rename(aside)
        except OSError:
            aside = self.folder
        shutil.rmtree(aside, ignore_errors=True)


def job_folder(output: Path) -> Path:
    return output.with_name(f".{output.name}.vsr-job")


def _record(job: Job, identity: dict, source: Path) -> dict:
    return {
        "format": FORMAT,
        **identity,
        "source": str(source.resolve()),  # for `vsr join`
        "pieces": [[p.start, p.end] for p in job.pieces],
        "base": job.base,
        "tile": job.tile,
        "chunk": job.chunk,
        "suffix": job.suffix,
    }


def _from_record(folder: Path, record: dict) -> Job:
    return Job(
        folder,
        [Span(a, b) for a, b in record["pieces"]],
        record["base"],
        record["tile"],
        record["chunk"],
        record["suffix"],
    )


def read_job(output: Path) -> tuple[Job, dict, Path] | None:
    """The job recorded beside ``output``, its identity (input and settings) and its
    input's path, if any."""
    path = job_folder(output) / "job.json"
    try:
        record = json.loads(path.read_text())
        if record.get("format") != FORMAT:
            return None
        identity = {"input": record["input"], "settings": record["settings"]}
        return _from_record(path.parent, record), identity, Path(record["source"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def start_job(output: Path, proposed: Job, identity: dict, source: Path) -> Job:
    """Record ``proposed`` unless a job is recorded already (another machine of a
    ``--segment`` run may have begun it: the first record wins, so all use one plan, and
    one begun with other settings is refused)."""
    folder = job_folder(output)
    record = json.dumps(_record(proposed, identity, source), indent=1)
    try:
        folder.mkdir(exist_ok=True)
        tmp = folder / f".job.{uuid.uuid4().hex[:8]}.json"
        tmp.write_text(record)
        try:
            os.link(tmp, folder / "job.json")  # create-if-absent, complete when it appears
        except FileExistsError:
            pass
        except OSError:  # no hard links here (exFAT, some network mounts)
            with contextlib.suppress(FileExistsError):
                with open(folder / "job.json", "x") as f:
                    f.write(record)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as e:
        raise OutputError(f"{folder}: cannot keep the job's pieces there ({e.strerror})") from None
    for _ in range(50):  # another machine may be writing it (the no-link case)
        found = read_job(output)
        if found is not None:
            break
        time.sleep(0.1)
    else:
        raise OutputError(f"{folder / 'job.json'}: unreadable; delete the folder")
    if found[1] != identity:
        raise OutputError(
            f"{folder}: another run began this job with another input or other settings"
        )
    return found[0]
