"""The Python API: ``from vsr_cli import upscale``, the one function the CLI and batches call.

    from vsr_cli import upscale
    result = upscale("in.mp4", "out.mp4", tile=256, precision="fp16",
                     progress=lambda done, total: print(done, total))
    print(result.frames, result.seconds)

Keywords are the CLI's options (``--tile-overlap`` is ``tile_overlap``, ``--ss``
is ``ss`` in seconds); errors a user can act on are ``vsr_cli.errors.VsrError``
with a one-line message. Building the model once and passing ``engine=`` (from
``load_engines``) saves reloading it for every file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch

from vsr_cli.engine import Engine, pick_device
from vsr_cli.errors import VsrError
from vsr_cli.job import PIECE_SECONDS
from vsr_cli.model_store import fetch
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.pipeline import STDIO, Result, UpscaleOptions, upscale_video
from vsr_cli.precision import resolve_precision
from vsr_cli.progress import Outcome, Reporter
from vsr_cli.registry import ModelEntry, load_registry
from vsr_cli.video.span import Span
from vsr_cli.video.writer import EncodeSettings, check_encoder
from vsr_cli.weights import read_checkpoint

_log = logging.getLogger("vsr_cli")


def make_options(
    *,
    scale: int = 4,
    tile: int | None = None,
    tile_overlap: int = 16,
    chunk: int | None = None,
    chunk_overlap: int = 4,
    codec: str | None = None,
    crf: int | None = None,
    preset: str | None = None,
    pix_fmt: str | None = None,
    encoder_options: dict[str, str] | None = None,
    deinterlace: str = "auto",
    ss: float = 0.0,
    duration: float | None = None,
    to: float | None = None,
    scene_cuts: bool = True,
    resume: bool = True,
    segment: tuple[int, int] | None = None,
    piece_seconds: float = PIECE_SECONDS,
    overwrite: bool = False,
) -> UpscaleOptions:
    """The options of one upscale, by the CLI's names; times in seconds (-t wins over to)."""
    end = ss + duration if duration is not None else to
    try:
        span = Span(ss, end)
    except ValueError as e:
        raise VsrError(f"--ss/-t/--to: {e}") from None
    if segment is not None and not 1 <= segment[0] <= segment[1]:
        raise VsrError(f"segment {segment}: expected (k, n) with 1 <= k <= n")
    if piece_seconds <= 0 or scale not in (2, 3, 4):
        raise VsrError("piece_seconds must be above 0, and scale 2, 3 or 4")
    return UpscaleOptions(
        scale=scale,
        tile=tile,
        tile_overlap=tile_overlap,
        chunk=chunk,
        chunk_overlap=chunk_overlap,
        encode=EncodeSettings(codec, crf, preset, pix_fmt, dict(encoder_options or {})),
        deinterlace=deinterlace,
        span=span,
        scene_cuts=scene_cuts,
        resume=resume,
        segment=segment,
        piece_seconds=piece_seconds,
        overwrite=overwrite,
    )


def devices(spec: str) -> list[torch.device]:
    """``auto``, ``cpu``, ``cuda:1``, a list ``cuda:0,cuda:1``, or ``all`` (every GPU)."""
    try:
        if spec == "all":
            count = torch.cuda.device_count()
            return [torch.device(f"cuda:{i}") for i in range(count)] or [torch.device("cpu")]
        return [pick_device(part.strip()) for part in spec.split(",")]
    except (ValueError, RuntimeError) as e:
        raise VsrError(str(e)) from None


def load_engines(
    *,
    model: str | None = None,
    weights: str | os.PathLike | None = None,
    device: str = "auto",
    precision: str = "auto",
    compile: bool = False,
    tile_batch: int = 1,
    warn: Callable[[str], None] = _log.warning,
    download: Callable[[ModelEntry], Path] | None = None,
) -> list[Engine]:
    """One engine per device, all from one read of the weights: a local file, or a model
    of weights.toml fetched (``download``: how, e.g. with a progress bar) on first use."""
    found = devices(device)
    if device == "auto" and found[0].type == "cpu":
        warn("no GPU found: running on the CPU, which is slow")
    if weights is None:
        entry = load_registry().get(model)
        weights = download(entry) if download else fetch(entry).path
    state = read_checkpoint(Path(weights))
    return [
        Engine(
            PSRTRecurrent.from_state_dict(state),
            d,
            resolve_precision(precision, d),
            warn,
            compile,
            tile_batch,
        )
        for d in found
    ]


class _CallbackReporter:
    """A ``Reporter`` for scripts: frames done (and the total, when known) to ``progress``,
    warnings to ``warn``."""

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

    def warn(self, message: str, file: str | None = None) -> None:
        self._warn(f"{file}: {message}" if file else message)

    def outcome(self, outcome: Outcome) -> None:
        pass

    def summary(self, outcomes: list[Outcome]) -> None:
        pass


def upscale(
    src: str | os.PathLike | BinaryIO,
    dst: str | os.PathLike | BinaryIO,
    *,
    options: UpscaleOptions | None = None,
    engine: Engine | None = None,
    model: str | None = None,
    weights: str | os.PathLike | None = None,
    device: str = "auto",
    precision: str = "auto",
    compile: bool = False,
    tile_batch: int = 1,
    format: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    warn: Callable[[str], None] = _log.warning,
    reporter: Reporter | None = None,
    **settings: Any,
) -> Result:
    """Upscale one video: paths, or binary file objects (a pipe, a socket; then ``format``
    names the output container). ``settings`` are ``make_options``' keywords, or pass a
    whole ``options``. The output appears only when complete."""
    if options is None:
        options = make_options(**settings)
    elif settings:
        raise TypeError("pass options= or keyword settings, not both")
    if engine is None:
        engine = load_engines(
            model=model,
            weights=weights,
            device=device,
            precision=precision,
            compile=compile,
            tile_batch=tile_batch,
            warn=warn,
        )[0]
    reporter = reporter or _CallbackReporter(progress, warn)
    container = format or (
        Path(dst).suffix.lstrip(".").lower() if isinstance(dst, str | os.PathLike) else None
    )
    if container and dst != STDIO:
        check_encoder(options.encode, container)  # a bad preset fails now, not after work
    return upscale_video(_path_or_stream(src), _path_or_stream(dst), engine, options,
                         reporter, format)  # fmt: skip


def _path_or_stream(value: str | os.PathLike | BinaryIO) -> Path | BinaryIO:
    return Path(value) if isinstance(value, str | os.PathLike) else value
