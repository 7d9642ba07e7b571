"""Which video encoder, with which options and pixel format, and whether it opens.

``check_encoder`` opens the encoder with the user's options before any work, in a
child process: x264 and x265 print some refusals straight to the process's stderr,
and only a child's stderr can be read without redirecting the parent's (where other
threads may be writing JSON events).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import subprocess
import sys
from dataclasses import dataclass

import av

from vsr_cli.config import EncodeSettings
from vsr_cli.errors import EncoderOptionError, OutputError
from vsr_cli.video.ffmpeg import ffmpeg_reason
from vsr_cli.video.hdr import HdrMetadata

# What YUV4MPEG holds (FFmpeg's yuv4mpegpipe muxer; over 8 bits with strict -1).
_Y4M_FORMATS = {
    "gray",
    "yuv411p",
    *(f"{f}{d}" for f in ("yuv420p", "yuv422p", "yuv444p") for d in ("", "10le", "12le", "16le")),
    *(f"gray{d}le" for d in (10, 12, 16)),
}

# Encoders a container implies when --codec is not given, as ffmpeg picks them.
_CONTAINER_CODECS = {
    "webm": "libvpx-vp9",
    "gif": "gif",
    "apng": "apng",
    # MPEG program streams (.mpg, .vob: FFmpeg names the latter's muxer svcd or dvd):
    # MPEG-2 is what players of them decode.
    "mpeg": "mpeg2video",
    "vob": "mpeg2video",
    "svcd": "mpeg2video",
    "dvd": "mpeg2video",
    "yuv4mpegpipe": "rawvideo",  # .y4m: raw YUV frames
}


def default_codec(container: str, hdr: bool = False, deep: bool = False) -> str:
    """The encoder ``ffmpeg`` would pick for a container: VP9 for WebM, GIF for GIF. For
    an ``hdr`` input (PQ or HLG on BT.2020), libx265 instead of libx264: x264 can't write
    HDR10's mastering display and light levels, so they would be lost by default. For a
    ``deep`` input (over 8 bits, no alpha) into WebM, AV1: PyAV's libvpx-vp9 is 8-bit."""
    codec = _CONTAINER_CODECS.get(container, "libx264")
    if deep and codec == "libvpx-vp9":
        return "libsvtav1"
    return "libx265" if hdr and codec == "libx264" else codec


def encoder_options(settings: EncodeSettings, codec: str) -> dict[str, str]:
    options = dict(settings.options)
    if settings.crf is not None:
        options.setdefault("crf", str(settings.crf))
    if settings.preset is not None:
        options.setdefault("preset", settings.preset)
    if codec == "libx265":
        options.setdefault("x265-params", "log-level=error")  # x265 prints to stderr
    return options


def hdr_options(
    hdr: HdrMetadata | None, codec: str, options: dict[str, str]
) -> tuple[dict[str, str], bool]:
    """HDR10 mastering display and light levels as the encoders that take them want, added
    to the parameter string already in ``options``; and whether ``codec`` can write them."""
    if hdr is None:
        return {}, True
    own = {
        "libx265": ("x265-params", hdr.x265_params()),
        "libsvtav1": ("svtav1-params", hdr.svtav1_params()),
    }.get(codec)
    if own is None:
        return {}, False
    key, params = own
    return {key: ":".join(p for p in (options.get(key), params) if p)}, True


# Run in a child process, which has no other threads, so it may point its own stderr at a
# file: opens an encoder with all the options, then (if that fails) with each one alone,
# and prints, as JSON, each failure's text and what the encoder printed itself; or, for a
# "limits" job, the widest and the tallest frame it opens (by bisection), up to the size.
_PROBE = r"""
import json, logging, os, sys, tempfile
from fractions import Fraction
import av, av.logging

logging.getLogger("libav").addHandler(logging.NullHandler())
logging.getLogger("libav").propagate = False
av.logging.set_level(av.logging.ERROR)  # FFmpeg's last error in each exception's text
job = json.loads(sys.argv[1])

def failure(options, width=job["width"], height=job["height"]):
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            cc = av.CodecContext.create(job["codec"], "w")
            cc.width, cc.height, cc.pix_fmt = width, height, job["pix_fmt"]
            cc.time_base = Fraction(1, 25)
            cc.options = dict(options)
            cc.open()
            return None
        except (av.error.FFmpegError, ValueError) as e:
            error = {"text": str(e), "strerror": getattr(e, "strerror", None)}
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        sink.seek(0)
        error["printed"] = sink.read().decode("utf-8", "replace").splitlines()
        return error

def largest(top, opens, low=64):
    if opens(top):
        return top
    if top <= low or not opens(low):
        return None
    while top - low > job["step"]:
        middle = (low + top) // 2 // job["step"] * job["step"]
        low, top = (middle, top) if opens(middle) else (low, middle)
    return low

if job.get("limits"):  # each side with the other at most 64 px
    w, h = job["width"], job["height"]
    print(json.dumps([
        largest(w, lambda n: failure(job["options"], n, min(h, 64)) is None),
        largest(h, lambda n: failure(job["options"], min(w, 64), n) is None),
    ]))
    sys.exit()
whole = failure(job["options"])
alone = {} if whole is None else {k: failure({k: v}) for k, v in job["options"].items()}
print(json.dumps({"whole": whole, "alone": alone}))
"""


@dataclass(frozen=True)
class _Failure:
    text: str
    strerror: str | None
    printed: list[str]

    @property
    def reason(self) -> str:
        """The encoder's own last line (``x264 [error]: invalid preset 'x'``), else FFmpeg's."""
        own = [re.sub(r"^\S+ \[(error|warning)\]:\s*", "", s) for s in self.printed if s.strip()]
        if own:
            return own[-1].strip().rstrip(".")
        error = Exception(self.text)
        error.strerror = self.strerror  # what ffmpeg_reason falls back on
        return ffmpeg_reason(error)


@functools.lru_cache(maxsize=64)
def _probe(
    codec: str, pix_fmt: str, width: int, height: int, options: str
) -> tuple[_Failure | None, dict[str, _Failure | None]]:
    """(failure with every option, failure with each alone) of ``codec`` opened in a child
    process on a frame of this size; cached, since a batch asks it for every file."""
    job = {
        "codec": codec,
        "pix_fmt": pix_fmt,
        "width": width,
        "height": height,
        "options": json.loads(options),
    }
    result = _run_probe(job)

    def parse(found: dict | None) -> _Failure | None:
        return None if found is None else _Failure(**found)

    return parse(result["whole"]), {k: parse(v) for k, v in result["alone"].items()}


def _run_probe(job: dict) -> object:
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(job)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    if run.returncode != 0:
        raise OutputError(f"cannot try the encoder {job['codec']} ({run.stderr.strip()[-300:]})")
    return json.loads(run.stdout)


def largest_frame(
    codec: str, pix_fmt: str, size: tuple[int, int], options: dict[str, str]
) -> tuple[int | None, int | None]:
    """The widest and the tallest frame ``codec`` opens (the other side kept small), up to
    ``size`` (None: not even a small one): what to say when a frame of ``size`` won't."""
    fmt = av.VideoFormat(pix_fmt)
    subsampled = fmt.chroma_width(1024) < 1024 or fmt.chroma_height(1024) < 1024
    job = {
        "codec": codec,
        "pix_fmt": pix_fmt,
        "width": size[0],
        "height": size[1],
        "options": options,
        "limits": True,
        "step": 2 if subsampled else 1,
    }
    width, height = _run_probe(job)
    return width, height


def encoder_failure(
    codec: str, pix_fmt: str, size: tuple[int, int], options: dict[str, str]
) -> str | None:
    """None if ``codec`` opens with ``options`` on a frame of ``size``, else its reason."""
    whole, _ = _probe(codec, pix_fmt, *size, json.dumps(options, sort_keys=True))
    return None if whole is None else whole.reason


def check_encoder(settings: EncodeSettings, container: str) -> None:
    """Open the encoder with the user's options before any work, so a bad ``--preset``
    costs a second, not the model's hours; the error names the option at fault."""
    codec = settings.codec or default_codec(container)
    try:
        encoder = av.codec.Codec(codec, "w")
    except (av.error.FFmpegError, ValueError):
        raise EncoderOptionError(
            "--codec", f"unknown video encoder {codec!r}{_hint(codec)}"
        ) from None
    if encoder.type != "video":
        raise EncoderOptionError("--codec", f"{codec} encodes {encoder.type}, not video")
    formats = [f.name for f in encoder.video_formats or ()]
    if settings.pix_fmt and formats and settings.pix_fmt not in formats:
        raise EncoderOptionError(
            "--pix-fmt", f"{codec} cannot encode {settings.pix_fmt}; it takes {', '.join(formats)}"
        )
    pix_fmt = settings.pix_fmt or ("yuv420p" if "yuv420p" in formats or not formats else formats[0])
    options = encoder_options(settings, codec)
    whole, alone = _probe(codec, pix_fmt, 64, 64, json.dumps(options, sort_keys=True))
    if whole is None:
        return
    flags = {"crf": "--crf", "preset": "--preset"}
    for key, value in options.items():
        fault = alone.get(key)
        if fault is not None:
            option = flags.get(key, "--encoder-opt")
            shown = value if option != "--encoder-opt" else f"{key}={value}"
            raise EncoderOptionError(option, f"{shown!r}: {codec} refused it ({fault.reason})")
    raise EncoderOptionError("--encoder-opt", f"{codec} refused these options together")


# What people type for an encoder, and the one they mean.
_NICKNAMES = {
    "h265": "libx265",
    "x265": "libx265",
    "x264": "libx264",
    "avc": "libx264",
    "svtav1": "libsvtav1",
    "aom": "libaom-av1",
    "vp8": "libvpx",
}


def _hint(name: str) -> str:
    """``; did you mean libx265?`` for a name close to a video encoder FFmpeg has here."""
    encoders = sorted(
        c for c in av.codecs_available if _is_video_encoder(c) and not c.endswith(_HARDWARE)
    )
    guess = _NICKNAMES.get(name.lower()) or next(
        iter(difflib.get_close_matches(name.lower(), encoders, n=1, cutoff=0.6)), None
    )
    return f"; did you mean {guess}?" if guess in encoders else ""


_HARDWARE = ("_nvenc", "_vaapi", "_qsv", "_v4l2m2m", "_vulkan", "_amf", "_mf", "_videotoolbox")


def _is_video_encoder(name: str) -> bool:
    try:
        return av.codec.Codec(name, "w").type == "video"
    except (av.error.FFmpegError, ValueError):
        return False


def choose_pix_fmt(
    codec: str, source_pix_fmt: str, source_depth: int, wanted: str | None, container: str = ""
) -> str:
    """The requested pix_fmt, else the source's, else the same chroma subsampling (and alpha
    plane, where the encoder has one) at the nearest depth, else 4:2:0 at the source's depth.
    YUV4MPEG holds some YUV and gray formats alone: others go to 4:4:4 at 8 or 16 bits."""
    try:
        formats = [f.name for f in av.codec.Codec(codec, "w").video_formats or ()]
    except (av.error.FFmpegError, ValueError):
        raise OutputError(f"unknown video encoder {codec!r}") from None
    if codec == "gif" and not wanted:
        return "pal8"  # a palette per frame: see video/gif.py
    if wanted:
        if formats and wanted not in formats:
            raise OutputError(f"{codec} cannot encode {wanted}; it takes {', '.join(formats)}")
        return wanted
    if container == "yuv4mpegpipe" and source_pix_fmt not in _Y4M_FORMATS:
        return "yuv444p16le" if source_depth > 8 else "yuv444p"
    if not formats or source_pix_fmt in formats:
        return source_pix_fmt
    source = av.VideoFormat(source_pix_fmt)
    same_chroma = [
        f for f in formats if f.startswith("yuv") and _chroma(av.VideoFormat(f)) == _chroma(source)
    ]
    # Same chroma subsampling (ProRes 4444 stays 4:4:4), with the alpha plane if the source
    # has one and the encoder can, at the source's depth or the nearest the encoder has.
    if same_chroma and not source.is_rgb:
        alpha = has_alpha(source_pix_fmt)
        return min(
            same_chroma,
            key=lambda f: (
                has_alpha(f) != alpha,
                pixel_depth(f) < source_depth,
                abs(pixel_depth(f) - source_depth),
            ),
        )
    deep = [f for f in ("yuv420p10le", "yuv420p12le", "yuv420p16le") if f in formats]
    if source_depth > 8 and deep:
        return deep[0]
    return "yuv420p" if "yuv420p" in formats else formats[0]


def _chroma(fmt: av.VideoFormat) -> tuple[int, int]:
    return fmt.chroma_width(1024), fmt.chroma_height(1024)


def pixel_depth(pix_fmt: str) -> int:
    """Bits of its deepest component."""
    return max(c.bits for c in av.VideoFormat(pix_fmt).components)


def has_alpha(pix_fmt: str) -> bool:
    return any(c.is_alpha for c in av.VideoFormat(pix_fmt).components)


def fit_to_chroma(size: tuple[int, int], pix_fmt: str) -> tuple[int, int]:
    """Round down to what the format's chroma subsampling allows (even sizes for 4:2:0)."""
    fmt = av.VideoFormat(pix_fmt)
    step_x = round(1024 / fmt.chroma_width(1024)) if fmt.chroma_width(1024) else 1
    step_y = round(1024 / fmt.chroma_height(1024)) if fmt.chroma_height(1024) else 1
    return size[0] // step_x * step_x, size[1] // step_y * step_y
