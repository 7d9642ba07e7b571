"""How results look on a terminal: the reporter for a run, the download bar, and the
tables of ``vsr eval``, ``vsr bench``, ``vsr models`` and ``vsr info``."""

from __future__ import annotations

import csv
import math
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from vsr_cli.events import JsonReporter, QuietReporter, Reporter, RichReporter

if TYPE_CHECKING:
    from vsr_cli.api import BenchResult, EvalReport, ModelListing

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def reporter(json_events: bool, quiet: bool) -> Reporter:
    if json_events:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()  # the Hub's bars would break the one-object-per-line stream
        return JsonReporter()
    # Bars only on a terminal: in logs and pipes they would be noise; a closing line per
    # file is not, unless --quiet.
    if stderr.is_terminal and not quiet:
        return RichReporter(stderr)
    return QuietReporter(stderr, talk=not quiet)


class DownloadBar:
    """Each source that answers, as a line (one that fails at once is only named in the
    error); on a terminal, a byte-count bar under it."""

    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._task = None
        self._line: str | None = None  # said once the source sends its first bytes

    def source(self, model: str, label: str) -> None:
        self._model, self._line = model, f"downloading model {model} from {label}"

    def bytes(self, done: int, total: int | None) -> None:
        if self._line is not None:
            self._start()
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)

    def _start(self) -> None:
        if self._bar is None and stderr.is_terminal:
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
            )
            self._bar = Progress(*columns, console=stderr, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self._model, total=None)
        console = self._bar.console if self._bar else stderr
        console.print(self._line, markup=False)
        self._line = None
        if self._bar is not None:
            self._bar.reset(self._task, total=None, description=self._model)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


EVAL_COLUMNS = (
    ("PSNR RGB", "sr_psnr_rgb"),
    ("SSIM RGB", "sr_ssim_rgb"),
    ("PSNR Y", "sr_psnr_y"),
    ("SSIM Y", "sr_ssim_y"),
    ("bicubic PSNR RGB", "bicubic_psnr_rgb"),
    ("bicubic SSIM RGB", "bicubic_ssim_rgb"),
    ("bicubic PSNR Y", "bicubic_psnr_y"),
    ("bicubic SSIM Y", "bicubic_ssim_y"),
    ("temporal error", "sr_temporal_error"),
    ("bicubic t. error", "bicubic_temporal_error"),
)


def eval_table(report: EvalReport, device: str, precision: str, crop_border: int) -> None:
    table = Table("clip", "frames", *(title for title, _ in EVAL_COLUMNS), box=None)
    rows = [(c.name, str(c.frames), c.scores) for c in report.clips]
    rows.append(("mean", str(sum(c.frames for c in report.clips)), report.mean))
    for name, frames, scores in rows:
        table.add_row(name, frames, *(_score(scores, key) for _, key in EVAL_COLUMNS))
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    out.print(table)
    if "center_sr_psnr_y" in report.mean:
        m = report.mean
        out.print(
            f"center frames (Vimeo-90K-T): PSNR Y {m['center_sr_psnr_y']:.2f} dB, SSIM Y "
            f"{m['center_sr_ssim_y']:.4f}; bicubic {m['center_bicubic_psnr_y']:.2f} dB",
            markup=False,
        )
    out.print(
        f"{device} {precision}, tiles {report.tile or 'whole frame'}, "
        f"chunks {report.chunk or 'whole clip'}, border crop {crop_border}",
        markup=False,
    )


def eval_csv(report: EvalReport) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    keys = sorted(report.mean)
    writer.writerow(["clip", "frames", *keys])
    for clip in report.clips:
        writer.writerow([clip.name, clip.frames, *(clip.scores.get(k, "") for k in keys)])
    writer.writerow(["mean", sum(c.frames for c in report.clips), *(report.mean[k] for k in keys)])


def eval_dict(report: EvalReport, device: str, precision: str, crop_border: int) -> dict:
    def clean(scores: dict[str, float]) -> dict[str, float | None]:
        """JSON has no infinity: an identical frame's PSNR becomes null."""
        return {k: v if math.isfinite(v) else None for k, v in scores.items()}

    return {
        "clips": [{"name": c.name, "frames": c.frames, **clean(c.scores)} for c in report.clips],
        "mean": clean(report.mean),
        "settings": {
            "device": device,
            "precision": precision,
            "tile": report.tile,
            "chunk": report.chunk,
            "crop_border": crop_border,
            "scale": 4,
        },
    }


def _score(scores: dict[str, float], key: str) -> str:
    if key not in scores:
        return "-"
    return f"{scores[key]:.4f}" if "ssim" in key else f"{scores[key]:.2f}"


def bench_table(r: BenchResult) -> None:
    """The figures of a ``vsr bench`` run, one per line."""
    (width, height), frames = r.size, r.frames
    share = f" ({100 * r.peak_share:.1f}% of peak)" if r.peak_share else ""
    tiles = f", tiles of {r.tile} px, {r.tile_batch} per pass" if r.tile else ""
    rows = [
        ("device", f"{r.device} ({r.precision})"),
        ("input", f"{frames} frames of {width}x{height} -> {4 * width}x{4 * height}{tiles}"),
        ("warm-up", f"{r.warmup_seconds:.1f} s"),
        ("ms/frame", f"{r.ms_per_frame:.1f}"),
        ("frames/s", f"{r.fps:.2f}"),
        ("TFLOP/s", f"{r.tflops:.2f}{share}"),
    ]
    if r.eager_ms_per_frame is not None and r.compile_seconds is not None:
        pays = (
            f"after {r.break_even_frames:.0f} frames"
            if r.break_even_frames is not None
            else "never (no faster than eager)"
        )
        rows += [
            ("eager ms/frame", f"{r.eager_ms_per_frame:.1f}"),
            ("compiled/eager", f"{r.eager_ms_per_frame / r.ms_per_frame:.2f}x faster"),
            ("CUDA graphs", "yes" if r.cuda_graphs else "no"),
            ("compiling took", f"{r.compile_seconds:.1f} s (per tile shape, per process)"),
            ("compiling pays", pays),
        ]
    if r.peak_memory_gib is not None:
        rows.append(("peak memory", f"{r.peak_memory_gib:.2f} GiB"))
    if r.end_to_end_fps is not None:
        rows.append(("end to end", f"{r.end_to_end_fps:.2f} frames/s"))
    _pairs(rows)


def model_rows(listing: list[ModelListing]) -> list[dict]:
    """``vsr models --json``'s rows."""
    return [
        {
            "name": m.name,
            "default": m.default,
            "description": m.description,
            "scale": m.scale,
            "cached": m.cached is not None,
            "size": m.cached.size if m.cached else None,
            "source": m.cached.source if m.cached else None,
            "sha256": m.cached.sha256 if m.cached else None,
            "path": str(m.cached.path) if m.cached else None,
            "license": m.license,
        }
        for m in listing
    ]


def models_text(rows: list[dict]) -> None:
    out = Console(highlight=False)
    for row in rows:
        name = row["name"] + (" (default)" if row["default"] else "")
        size = f", {row['size'] / 2**20:.1f} MiB" if row["size"] else ""
        state = f"cached{size}" if row["cached"] else "not downloaded"
        out.print(f"{name}  x{row['scale']}  {state}", markup=False)
        out.print(f"  {row['description']}", markup=False)
        if row["cached"]:
            out.print(f"  from {row['source']}\n  sha256 {row['sha256']}", markup=False)


def info_table(facts: dict) -> None:
    rows = [(key, str(value)) for key, value in facts.items() if key != "streams"]
    for stream in facts["streams"]:
        shown = " ".join(str(v) for k, v in stream.items() if k != "index" and v)
        rows.append((f"stream #{stream['index']}", shown))
    _pairs(rows)


def _pairs(rows: list[tuple[str, str]]) -> None:
    table = Table("", "", show_header=False, box=None)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def bench_dict(r: BenchResult) -> dict:
    return asdict(r) | {"fps": r.fps}


def doctor_text(found: dict) -> None:
    """``vsr doctor``'s report as plain lines: short enough to paste into an issue."""
    out = Console(highlight=False, soft_wrap=True)
    for name, version in found["versions"].items():
        out.print(f"{name:<10} {version or '-'}", markup=False)
    out.print("devices", markup=False)
    for d in found["devices"]:
        facts = ", ".join(f"{k} {v}" for k, v in d.items() if k != "device" and v is not None)
        out.print(f"  {d['device']:<8} {facts}", markup=False)
    out.print("compilers", markup=False)
    for name, path in found["compilers"].items():
        out.print(f"  {name:<8} {path or 'not found'}", markup=False)
    out.print(f"levers on {found['device']} (vsr-upscale's defaults)", markup=False)
    for name, lever in found["levers"].items():
        out.print(f"  {name:<14} {lever['value']}: {lever['why']}", markup=False)
    sizes = "; ".join(
        f"{k} tile {v['tile'] or 'whole'}, chunk {v['chunk']}" for k, v in found["sizes"].items()
    )
    out.print(f"sizes now      {sizes}", markup=False)
    remembered = found["remembered_failures"]
    out.print(f"remembered failures ({found['remembered_in']})", markup=False)
    for machine, failed in remembered.items():
        for lever, why in failed.items():
            out.print(f"  {lever}: {why} [{machine}]", markup=False)
    if not remembered:
        out.print("  none", markup=False)
    if "forgotten" in found:
        out.print(f"forgot the failures of {found['forgotten']} machine(s)", markup=False)
    for c in found.get("checks", []):
        db = "" if c["psnr_db"] is None else f" {c['psnr_db']} dB"
        took = "" if c["seconds"] is None else f" in {c['seconds']} s"
        note = f" ({c['note']})" if c["note"] else ""
        out.print(f"check {c['lever']:<20} {c['result']}{db}{took}{note}", markup=False)
