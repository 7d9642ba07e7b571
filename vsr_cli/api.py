"""The Python API: every command of the CLI as a call, the one surface the CLI and scripts
share.

    from vsr_cli import upscale
    result = upscale("in.mp4", "out.mp4", tile=256, precision="fp16",
                     progress=lambda done, total: print(done, total))
    print(result.frames, result.seconds)

Keywords are the CLI's options (``--tile-overlap`` is ``tile_overlap``, ``--ss``
is ``ss`` in seconds); errors a user can act on are ``vsr_cli.errors.VsrError``
with a one-line message (``UsageError`` for settings that can never work).
Building the model once and passing ``engine=`` (from ``load_engines``) saves
reloading it for every file. Process-wide settings (torch backends, FFmpeg's log)
are made here, once, by ``configure``.

Each call imports what its work needs when it starts: importing this module, and
the commands that never run a model (help, ``info``, ``models``, ``clean``, ``join``),
cost no torch.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from vsr_cli.config import EngineConfig, UpscaleConfig
from vsr_cli.context import RunContext
from vsr_cli.errors import InputError, UsageError, bugs_named
from vsr_cli.events import CallbackReporter, DownloadProgress, Outcome, Reporter
from vsr_cli.registry import ModelEntry, load_registry
from vsr_cli.startup import load_torch

if TYPE_CHECKING:
    from vsr_cli.bench import BenchResult, BenchSettings
    from vsr_cli.infer.backend import devices
    from vsr_cli.infer.engine import Engine
    from vsr_cli.model_store import ModelListing, StoredModel
    from vsr_cli.quality.compare import Picture
    from vsr_cli.quality.dataset import Clip
    from vsr_cli.quality.evaluate import EvalReport
    from vsr_cli.run.upscale import Result
    from vsr_cli.run.work import Work
    from vsr_cli.video.publish import Leftover

__all__ = ["Result", "devices", "load_engines", "make_options", "plan_work", "upscale"]

_log = logging.getLogger("vsr_cli")
make_options = UpscaleConfig.build  # the options of one upscale, by the CLI's names
# Names this module hands out from the modules that hold them, loaded on first use.
_LAZY = {
    "BenchResult": "vsr_cli.bench",
    "BenchSettings": "vsr_cli.bench",
    "Engine": "vsr_cli.infer.engine",
    "EvalReport": "vsr_cli.quality.evaluate",
    "ModelListing": "vsr_cli.model_store",
    "Work": "vsr_cli.run.work",
    "Result": "vsr_cli.run.upscale",
    "devices": "vsr_cli.infer.backend",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'vsr_cli.api' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


@functools.cache
def configure() -> None:
    """FFmpeg's log routed so that errors carry its reasons and nothing reaches stderr
    uninvited; torch's backends are set per device by ``load_engines``."""
    from vsr_cli.video.ffmpeg import configure_logging

    configure_logging()


def load_engines(
    *,
    model: str | None = None,
    weights: str | os.PathLike | None = None,
    device: str = "auto",
    precision: str = "auto",
    compile: bool | None = None,
    tile_batch: int = 1,
    cuda_graphs: bool | None = None,
    warn: Callable[[str], None] = _log.warning,
    download: DownloadProgress | None = None,
) -> list[Engine]:
    """One engine per device, all from one read of the weights: a local file, or a model
    of weights.toml fetched on first use (``download`` shows it)."""
    settings = EngineConfig(
        model=model,
        weights=Path(weights) if weights else None,
        device=device,
        precision=precision,
        compile=compile,
        tile_batch=tile_batch,
        cuda_graphs=cuda_graphs,
    )
    return engines_for(settings, warn, download)


def engines_for(
    settings: EngineConfig,
    warn: Callable[[str], None] = _log.warning,
    download: DownloadProgress | None = None,
) -> list[Engine]:
    """``load_engines`` for settings already built (and checked)."""
    load_torch()
    from vsr_cli.infer.backend import configure_backend, devices
    from vsr_cli.infer.engine import Engine
    from vsr_cli.models.precision import precision_choice
    from vsr_cli.models.psrt import PSRTRecurrent
    from vsr_cli.weights import read_checkpoint

    found = devices(settings.device)
    precisions = [precision_choice(settings.precision, d) for d in found]
    if settings.device == "auto" and found[0].type == "cpu":
        warn("no GPU found: running on the CPU, which is slow")
    configure()
    configure_backend(found)
    path = settings.weights or _fetch(load_registry().get(settings.model), download).path
    state = read_checkpoint(path)
    return [
        Engine(
            PSRTRecurrent.from_state_dict(state),
            d,
            precision,
            compile=settings.compile,
            tile_batch=settings.tile_batch,
            cuda_graphs=settings.cuda_graphs,
            precision_reason=why,
        )
        for d, (precision, why) in zip(found, precisions, strict=True)
    ]


def _fetch(entry: ModelEntry, download: DownloadProgress | None) -> StoredModel:
    from vsr_cli.model_store import fetch

    if download is None:
        return fetch(entry)
    return fetch(
        entry, progress=download.bytes, on_source=lambda label: download.source(entry.name, label)
    )


def upscale(
    src: str | os.PathLike | BinaryIO,
    dst: str | os.PathLike | BinaryIO,
    *,
    options: UpscaleConfig | None = None,
    engine: Engine | None = None,
    model: str | None = None,
    weights: str | os.PathLike | None = None,
    device: str = "auto",
    precision: str = "auto",
    compile: bool | None = None,
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
    load_torch()
    if options is None:
        options = make_options(format=format, **settings)
    elif settings:
        raise TypeError("pass options= or keyword settings, not both")
    elif format is not None:
        options = replace(options, format=format)
    from vsr_cli.run.paths import STDIO, is_dir
    from vsr_cli.run.upscale import upscale_video
    from vsr_cli.run.work import as_source, as_target, check_outputs
    from vsr_cli.video.encoder import check_encoder
    from vsr_cli.video.writer import muxer_for

    configure()
    source, target = _path_or_stream(src), _path_or_stream(dst)
    if isinstance(source, Path) and source != STDIO:  # an image sequence is one clip
        source = as_source(source, options.fps)
    if isinstance(target, Path) and target != STDIO:  # a bad preset fails now, not after work
        folder = str(dst).endswith(("/", os.sep)) or is_dir(target)
        target = as_target(target, source, folder)
        check_outputs([target], options)
    elif options.format:
        check_encoder(options.encode, muxer_for(Path("-"), options.format))
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
    context = RunContext(reporter or CallbackReporter(progress, warn))
    return upscale_video(source, target, engine, options, context)


def _path_or_stream(value: str | os.PathLike | BinaryIO) -> Path | BinaryIO:
    return Path(value) if isinstance(value, str | os.PathLike) else value


def plan_work(
    inputs: list[Path],
    output: str | Path,
    config: UpscaleConfig,
    recursive: bool = False,
    ext: str | None = None,
    shard: str | None = None,
    skip_existing: bool = False,
) -> Work:
    """What a command line asks to upscale, refused before any weights load where it
    can't work (``run/work.plan_work``)."""
    from vsr_cli.run.work import plan_work as plan

    configure()
    return plan(inputs, output, config, recursive, ext, shard, skip_existing)


def run_work(
    work: Work, engines: list[Engine], reporter: Reporter, skip_existing: bool = False
) -> list[Outcome]:
    """Upscale what ``plan_work`` planned, every outcome reported; one file's failure is
    raised, a batch's are outcomes (the batch goes on)."""
    load_torch()
    from vsr_cli.run.batch import run_work as run

    return run(work, engines, RunContext(reporter), skip_existing)


def models() -> list[ModelListing]:
    """Every model of weights.toml, looking only at the local cache (no network)."""
    from vsr_cli.model_store import listing

    return listing(load_registry())


def download(
    name: str | None = None,
    every: bool = False,
    progress: DownloadProgress | None = None,
    from_file: str | os.PathLike | None = None,
) -> list[tuple[str, StoredModel]]:
    """Fetch a model (the default one; ``every``: all of weights.toml) into the cache, or
    put a file fetched by hand there (``from_file``: checked as any download is)."""
    from vsr_cli.model_store import install_file

    registry = load_registry()
    if from_file is not None:
        if every:
            raise UsageError("--from: one file is one model; name it instead of --all")
        entry = registry.get(name)
        return [(entry.name, install_file(entry, Path(from_file)))]
    entries = list(registry.models.values()) if every else [registry.get(name)]
    return [(entry.name, _fetch(entry, progress)) for entry in entries]


def info(path: str | os.PathLike, fps: float | str = 25) -> dict:
    """What vsr-cli sees in a video or an image sequence (``vsr info``; ``fps``: the
    sequence's rate)."""
    from vsr_cli.run.work import as_source
    from vsr_cli.video.facts import describe
    from vsr_cli.video.reader import VideoReader

    configure()
    with bugs_named(str(path)):
        source = as_source(Path(path), UpscaleConfig.build(fps=fps).fps)
        with VideoReader(source, str(path)) as reader:
            return describe(reader)


def find_dataset(
    dataset: str | os.PathLike,
    lr: str | os.PathLike | None = None,
    list_file: str | os.PathLike | None = None,
) -> list[Clip]:
    """The clips of a benchmark dataset (``vsr eval``'s layouts), found before any weights
    are loaded: a dataset that isn't there fails first, alone."""
    from vsr_cli.quality.dataset import find_clips

    return find_clips(
        Path(dataset), Path(lr) if lr else None, Path(list_file) if list_file else None
    )


def evaluate_clips(
    clips: list[Clip],
    engine: Engine,
    config: UpscaleConfig | None = None,
    reporter: Reporter | None = None,
    crop_border: int = 0,
) -> EvalReport:
    """PSNR/SSIM/temporal error of ``engine`` on ``clips`` (from ``find_dataset``)."""
    load_torch()
    from vsr_cli.quality.evaluate import evaluate

    context = RunContext(reporter or CallbackReporter(None, _log.warning))
    return evaluate(clips, engine, config or UpscaleConfig(), context, crop_border)


def evaluate_dataset(
    dataset: str | os.PathLike,
    engine: Engine,
    config: UpscaleConfig | None = None,
    reporter: Reporter | None = None,
    lr: str | os.PathLike | None = None,
    list_file: str | os.PathLike | None = None,
    crop_border: int = 0,
) -> EvalReport:
    """``vsr eval``: PSNR/SSIM/temporal error of ``engine`` on a benchmark dataset."""
    clips = find_dataset(dataset, lr, list_file)
    return evaluate_clips(clips, engine, config, reporter, crop_border)


def compare(
    first: str | os.PathLike,
    second: str | os.PathLike,
    times: list[float] | None = None,
    output_dir: str | os.PathLike = ".",
    overwrite: bool = False,
) -> list[Picture]:
    """``vsr compare``: PNGs of the first video scaled up plainly beside the second."""
    from vsr_cli.quality.compare import compare_frames, default_times
    from vsr_cli.run.paths import make_folder
    from vsr_cli.run.work import existing_clip

    first, second = existing_clip(first), existing_clip(second)
    make_folder(Path(output_dir))
    configure()
    return compare_frames(
        first, second, times or default_times(second), Path(output_dir), overwrite
    )


def compare_as_video(
    first: str | os.PathLike,
    second: str | os.PathLike,
    video: str | os.PathLike,
    start: float = 0.0,
    duration: float = 5.0,
    wipe: bool = False,
    overwrite: bool = False,
) -> int:
    """``vsr compare --video``: a side-by-side (or wipe) video of a section; its frames."""
    from vsr_cli.quality.compare import compare_video
    from vsr_cli.run.paths import check_paths, make_folder
    from vsr_cli.run.work import existing_clip

    first, second, target = existing_clip(first), existing_clip(second), Path(video)
    for clip in (first, second):
        check_paths(clip if isinstance(clip, Path) else Path(clip.name), target, overwrite)
    make_folder(target.parent)
    configure()
    return compare_video(first, second, target, start, duration, wipe)


def join(
    output: str | os.PathLike, overwrite: bool = False, reporter: Reporter | None = None
) -> int:
    """``vsr join``: write the output of a ``--segment`` job once every piece is made;
    returns the pieces joined."""
    from vsr_cli.run.assemble import join_output

    configure()
    context = RunContext(reporter or CallbackReporter(None, _log.warning))
    return join_output(Path(output), overwrite, context)


def clean(folder: str | os.PathLike, dry_run: bool = False) -> list[Leftover]:
    """``vsr clean``: the hidden part files that killed runs left under ``folder`` (and its
    subfolders), never one that a running process is writing; removed unless ``dry_run``."""
    from vsr_cli.video.publish import remove_leftovers

    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"{folder}: no such folder")
    return remove_leftovers(path, dry_run)


def doctor(device: str = "auto", check: bool = False, forget: bool = False) -> dict:
    """``vsr doctor``: versions, devices, compilers, the levers that run on ``device`` and
    why; ``check`` runs each on a tiny model; ``forget`` clears the remembered failures
    first."""
    load_torch()
    from vsr_cli.doctor import report
    from vsr_cli.infer import fallback
    from vsr_cli.infer.backend import devices

    chosen = devices(device)[0]
    forgotten = fallback.forget() if forget else None
    found = report(chosen, check)
    if forgotten is not None:
        found["forgotten"] = forgotten
    return found


def bench(
    settings: BenchSettings,
    device: str = "auto",
    precision: str = "auto",
    weights: str | os.PathLike | None = None,
    reporter: Reporter | None = None,
) -> BenchResult:
    """``vsr bench``: the model's speed (random weights of the released configuration
    unless ``weights``) on random frames, and optionally end to end."""
    load_torch()
    from vsr_cli.bench import run_bench
    from vsr_cli.infer.backend import configure_backend, devices
    from vsr_cli.models.precision import resolve_precision
    from vsr_cli.models.psrt import PSRTRecurrent
    from vsr_cli.weights import read_checkpoint

    checked = EngineConfig(
        weights=Path(weights) if weights else None,
        device=device,
        precision=precision,
        tile_batch=settings.tile_batch,
    )
    torch_device = devices(checked.device)[0]
    configure()
    configure_backend([torch_device])
    network = (
        PSRTRecurrent.from_state_dict(read_checkpoint(checked.weights))
        if weights
        else (PSRTRecurrent())
    )
    context = RunContext(reporter or CallbackReporter(None, _log.warning))
    return run_bench(
        network, torch_device, resolve_precision(checked.precision, torch_device), settings, context
    )
