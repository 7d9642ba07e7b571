"""The settings of an upscale, built and checked in ONE place, from the CLI's text or the
API's Python values alike; below here they travel as these frozen values, never as loose
numbers, and are never checked again.

``UpscaleConfig`` also owns the settings' part of ``job.json`` (``record`` /
``from_record``): a resumable job's pieces are only joined with pieces made with the
same settings, and ``vsr join`` rebuilds the settings from there.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

from vsr_cli.errors import UsageError
from vsr_cli.models.descriptor import PSRT_RECURRENT

PIECE_SECONDS = 10.0
SCALES = (2, 3, 4)
SCENE_CUT_MODES = ("auto", "off")
DEINTERLACE_MODES = ("auto", "off", "frame", "field")
PRECISIONS = ("auto", *PSRT_RECURRENT.precisions)


@dataclass(frozen=True)
class Tiling:
    """How a video is cut: the tile side in low-res pixels and the chunk length in frames
    (``None``: sized from free memory by ``auto_sizes``; 0: the whole frame, the whole
    clip), the context read on each side of a tile or chunk that has a neighbour, and how
    many chunks run side by side in one pass (``None``: as many as memory holds, up to 4,
    on a GPU; 1 elsewhere)."""

    tile: int | None = None
    tile_overlap: int = 16
    chunk: int | None = None
    chunk_overlap: int = 4
    chunk_batch: int | None = None


@dataclass(frozen=True)
class Span:
    start: float = 0.0  # seconds after the first frame
    end: float | None = None  # exclusive; None: the end of the video

    def __post_init__(self) -> None:
        if self.start < 0 or (self.end is not None and self.end <= self.start):
            raise ValueError("a span ends after it starts, at 0 s or later")

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.end is None


@dataclass(frozen=True)
class EncodeSettings:
    codec: str | None = None  # None: what the container and input imply (libx264 mostly)
    crf: int | None = None
    preset: str | None = None
    pix_fmt: str | None = None  # None: the input's format where the encoder takes it
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pieces:
    """How a long video is made in resumable pieces (``job.json`` beside the output)."""

    resume: bool = True  # False: an earlier partial job of this output is discarded
    segment: tuple[int, int] | None = None  # (K, N): compute only the K-th of N shares
    seconds: float = PIECE_SECONDS


@dataclass(frozen=True)
class UpscaleConfig:
    """What one upscale does to a video, whatever the model and device."""

    scale: int = 4
    tiling: Tiling = field(default_factory=Tiling)
    encode: EncodeSettings = field(default_factory=EncodeSettings)
    format: str | None = None  # the output container; None: from the output's extension
    span: Span = field(default_factory=Span)  # --ss / -t / --to
    pieces: Pieces = field(default_factory=Pieces)
    deinterlace: str = "auto"  # auto (when the input is interlaced), off, frame, field
    scene_cuts: bool = True  # each scene upscaled as if the video began and ended there
    overwrite: bool = False
    fps: Fraction = Fraction(25)  # of an image sequence input (ffmpeg's default)

    @classmethod
    def build(
        cls,
        *,
        scale: int = 4,
        tile: int | None = None,
        tile_overlap: int = 16,
        chunk: int | None = None,
        chunk_overlap: int = 4,
        chunk_batch: int | None = None,
        codec: str | None = None,
        crf: int | None = None,
        preset: str | None = None,
        pix_fmt: str | None = None,
        encoder_options: dict[str, str] | list[str] | None = None,
        format: str | None = None,
        deinterlace: str = "auto",
        ss: float | str | None = 0.0,
        duration: float | str | None = None,
        to: float | str | None = None,
        scene_cuts: bool | str = True,
        resume: bool = True,
        segment: tuple[int, int] | str | None = None,
        piece_seconds: float = PIECE_SECONDS,
        overwrite: bool = False,
        fps: float | str | Fraction = 25,
    ) -> UpscaleConfig:
        """Every setting by the CLI's names (``--tile-overlap`` is ``tile_overlap``), as
        text or as values: times as seconds or ``[HH:]MM:SS[.mmm]``, ``segment`` as (K, N)
        or ``"K/N"``, ``encoder_options`` as a dict or ``KEY=VALUE`` items, ``scene_cuts``
        as a bool or ``auto``/``off``. A setting that can't work is a ``UsageError`` naming
        its option."""
        if scale not in SCALES:
            raise UsageError(f"--scale: {scale}: choose 2, 3 or 4")
        minimum = PSRT_RECURRENT.min_size
        if tile is not None and (tile < 0 or 0 < tile < minimum):
            raise UsageError(f"--tile: tiles must be 0 (whole frame) or at least {minimum} px")
        _at_least(0, tile_overlap=tile_overlap, chunk_overlap=chunk_overlap, chunk=chunk)
        _at_least(1, chunk_batch=chunk_batch)
        if deinterlace not in DEINTERLACE_MODES:
            raise UsageError(f"--deinterlace: choose one of {', '.join(DEINTERLACE_MODES)}")
        if isinstance(scene_cuts, str):
            if scene_cuts not in SCENE_CUT_MODES:
                raise UsageError(f"--scene-cuts: choose one of {', '.join(SCENE_CUT_MODES)}")
            scene_cuts = scene_cuts == "auto"
        if piece_seconds <= 0:
            raise UsageError("--piece-seconds: must be above 0")
        return cls(
            scale=scale,
            tiling=Tiling(tile, tile_overlap, chunk, chunk_overlap, chunk_batch),
            encode=EncodeSettings(codec, crf, preset, pix_fmt, _key_values(encoder_options)),
            format=format,
            span=_span(ss, duration, to),
            pieces=Pieces(resume, _k_of_n(segment, "--segment"), piece_seconds),
            deinterlace=deinterlace,
            scene_cuts=scene_cuts,
            overwrite=overwrite,
            fps=_rate(fps),
        )

    def record(self) -> dict:
        """The settings that shape a job's pieces, as ``job.json`` keeps them (not the
        chunk batch: chunks side by side compute what they compute one at a time)."""
        tiling = {k: v for k, v in asdict(self.tiling).items() if k != "chunk_batch"}
        return tiling | {
            "scale": self.scale,
            "encode": asdict(self.encode),
            "format": self.format,
            "deinterlace": self.deinterlace,
            "scene_cuts": self.scene_cuts,
            "span": [self.span.start, self.span.end],
            "piece_seconds": self.pieces.seconds,
            "fps": str(self.fps),  # of an image sequence input
        }

    @classmethod
    def from_record(cls, record: dict) -> UpscaleConfig:
        """The settings ``record`` wrote; ``ValueError`` for another version's record."""
        try:
            return cls(
                scale=record["scale"],
                tiling=Tiling(
                    record["tile"], record["tile_overlap"], record["chunk"], record["chunk_overlap"]
                ),
                encode=EncodeSettings(**record["encode"]),
                format=record.get("format"),
                span=Span(*record["span"]),
                pieces=Pieces(seconds=record["piece_seconds"]),
                deinterlace=record["deinterlace"],
                scene_cuts=record["scene_cuts"],
                fps=Fraction(record["fps"]),
            )
        except (TypeError, KeyError, ValueError) as e:
            raise ValueError(f"not a settings record of this version ({e})") from None


@dataclass(frozen=True)
class EngineConfig:
    """Which weights run where, and how: what ``load_engines`` takes."""

    model: str | None = None  # a model of weights.toml; None: its default
    weights: Path | None = None  # a local checkpoint instead
    device: str = "auto"
    precision: str = "auto"
    compile: bool | None = None  # None: on a GPU, for jobs long enough to pay for it
    tile_batch: int = 1
    cuda_graphs: bool | None = None  # whole chunks replayed as CUDA graphs; None: on CUDA

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise UsageError(
                f"--precision: {self.precision}: choose one of {', '.join(PRECISIONS)}"
            )
        _at_least(1, tile_batch=self.tile_batch)


def _at_least(minimum: int, **values: int | None) -> None:
    for name, value in values.items():
        if value is not None and value < minimum:
            raise UsageError(f"--{name.replace('_', '-')}: {value}: must be at least {minimum}")


def _span(ss: float | str | None, duration: float | str | None, to: float | str | None) -> Span:
    """ffmpeg's input options: -ss start, -t length, --to end (-t wins over --to)."""
    start = parse_time(ss, "--ss") if ss is not None else 0.0
    length = parse_time(duration, "-t") if duration is not None else None
    end = parse_time(to, "--to") if to is not None else None
    if length is not None and length <= 0:
        raise UsageError("-t: a duration above 0")
    if length is None and end is not None and end <= start:
        raise UsageError("--to: must come after --ss")
    return Span(start, start + length if length is not None else end)


def _rate(value: float | str | Fraction) -> Fraction:
    """``--fps``: ``24``, ``23.976`` or ``30000/1001``."""
    try:
        rate = Fraction(str(value).strip()) if isinstance(value, str) else Fraction(value)
    except (ValueError, ZeroDivisionError):
        rate = Fraction(0)
    if rate <= 0:
        raise UsageError(f"--fps: {value!r}: expected a rate such as 24, 23.976 or 30000/1001")
    return rate.limit_denominator(1001 * 1000)


def parse_time(value: float | str, option: str = "time") -> float:
    """Seconds, as a number or in ffmpeg's syntax: ``12.5`` or ``[HH:]MM:SS[.mmm]``."""
    if not isinstance(value, str):
        if value < 0:
            raise UsageError(f"{option}: {value}: a time at 0 s or later")
        return float(value)
    pattern = r"(?:(?:(\d+):)?([0-5]?\d):)?(\d+(?:\.\d*)?|\.\d+)"
    match = re.fullmatch(pattern, value.strip())
    if match is None or (match.group(2) is not None and float(match.group(3)) >= 60):
        raise UsageError(f"{option}: {value!r}: expected seconds or [HH:]MM:SS[.mmm]")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def parse_k_of_n(text: str, option: str) -> tuple[int, int]:
    """``K/N`` with 1 <= K <= N (1-based, like ``split -n K/N``)."""
    k, sep, n = text.partition("/")
    if not (sep and k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise UsageError(f"{option}: {text!r}: expected K/N with 1 <= K <= N, e.g. 1/4")
    return int(k), int(n)


def _k_of_n(value: tuple[int, int] | str | None, option: str) -> tuple[int, int] | None:
    if value is None or isinstance(value, str):
        return None if value is None else parse_k_of_n(value, option)
    k, n = value
    if not 1 <= k <= n:
        raise UsageError(f"{option}: {value}: expected (k, n) with 1 <= k <= n")
    return k, n


def parse_size(text: str, option: str = "--size") -> tuple[int, int]:
    """``WIDTHxHEIGHT``, e.g. ``320x180``."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"{option}: {text!r}: expected WIDTHxHEIGHT, e.g. 320x180") from None
    if width <= 0 or height <= 0:
        raise UsageError(f"{option}: {text!r}: expected WIDTHxHEIGHT, e.g. 320x180")
    return width, height


def _key_values(items: dict[str, str] | list[str] | None) -> dict[str, str]:
    if isinstance(items, dict) or items is None:
        return dict(items or {})
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--encoder-opt: {item!r}: expected KEY=VALUE")
        options[key] = value
    return options
