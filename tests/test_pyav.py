"""What we rely on PyAV for, each pinned on its own: when a release moves one of these, this
file fails with a line naming the release, not an AttributeError deep in the reader."""

from __future__ import annotations

import functools
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import pytest
from media import make_clip

from vsr_cli.video.hdr import HdrMetadata
from vsr_cli.video.pyav import field_order, side_data

RELEASE = f"PyAV {av.__version__} (FFmpeg {av.ffmpeg_version_info})"
pytestmark = pytest.mark.smoke
MS = Fraction(1, 1000)


def _names_the_release(test: Callable[..., None]) -> Callable[..., None]:
    """A test whose PyAV call is missing or changed fails naming the release."""

    @functools.wraps(test)
    def run(*args: object, **kwargs: object) -> None:
        try:
            test(*args, **kwargs)
        except (AttributeError, TypeError, KeyError) as e:
            pytest.fail(f"{RELEASE}: {type(e).__name__}: {e}", pytrace=False)

    return run


def _first_frame(path: Path) -> av.VideoFrame:
    with av.open(str(path)) as c:
        return next(c.decode(video=0))


def _encode(path: Path, codec: str, pix_fmt: str, options: dict[str, str], frames: int = 2) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, pix_fmt
        stream.options = options
        for i in range(frames):
            frame = av.VideoFrame(64, 48, "yuv420p").reformat(format=pix_fmt)
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@_names_the_release
def test_side_data_is_read_by_type(tmp_path):
    """x264 writes its version as unregistered SEI into every stream: 18.1.1 changed what
    iterating ``frame.side_data`` yields, so we read it by type."""
    clip = make_clip(tmp_path / "x264.mp4", audio=False, subtitle=None)
    sei = side_data(_first_frame(clip.path), "SEI_UNREGISTERED")
    assert sei is not None and b"x264" in sei, f"{RELEASE}: no x264 SEI by type"
    assert side_data(_first_frame(clip.path), "MASTERING_DISPLAY_METADATA") is None, RELEASE


@_names_the_release
def test_hdr10_light_levels_arrive_as_side_data(tmp_path):
    params = (
        "hdr10=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:"
        "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50):"
        "max-cll=1000,400"
    )
    path = _encode(tmp_path / "hdr.mkv", "libx265", "yuv420p10le", {"x265-params": params})
    hdr = HdrMetadata.of_frame(_first_frame(path))
    assert hdr is not None, f"{RELEASE}: no mastering display or light level side data"
    assert (hdr.max_cll, hdr.max_fall) == (1000, 400), RELEASE
    assert hdr.luminance == (Fraction(50, 10000), Fraction(1000)), RELEASE
    assert hdr.primaries[0] == (Fraction(34000, 50000), Fraction(16000, 50000)), RELEASE


@pytest.mark.parametrize(
    ("options", "expected"),
    [({}, "progressive"), ({"flags": "+ildct+ilme", "x264-params": "tff=1"}, "tt")],
)
@_names_the_release
def test_the_stream_field_order(tmp_path, options, expected):
    path = _encode(tmp_path / "order.mkv", "libx264", "yuv420p", options, frames=4)
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        next(c.decode(stream))
        found = field_order(stream)
    assert found == expected, f"{RELEASE}: field order {found!r}, expected {expected!r}"


@_names_the_release
def test_frames_carry_the_interlaced_flag_and_filter_metadata(tmp_path):
    """``interlaced_frame`` and ``VideoFrame.metadata`` (where idet's verdicts come)."""
    options = {"flags": "+ildct+ilme", "x264-params": "tff=1"}
    path = _encode(tmp_path / "i.mkv", "libx264", "yuv420p", options, frames=3)
    with av.open(str(path)) as c:
        frames = list(c.decode(video=0))
        assert all(f.interlaced_frame for f in frames), RELEASE
        graph = av.filter.Graph()
        source, idet, sink = (
            graph.add_buffer(template=c.streams.video[0]),
            graph.add("idet"),
            graph.add("buffersink"),
        )
        source.link_to(idet)
        idet.link_to(sink)
        graph.configure()
        for frame in frames:
            graph.push(frame)
        graph.push(None)
        out = graph.pull()
    assert "lavfi.idet.single.current_frame" in out.metadata, RELEASE


@_names_the_release
def test_a_display_matrix_is_written_and_read_back_as_rotation(tmp_path):
    clip = make_clip(tmp_path / "r.mp4", rotation=90, audio=False, subtitle=None)
    assert _first_frame(clip.path).rotation == 90, RELEASE


@_names_the_release
def test_chapters_round_trip(tmp_path):
    clip = make_clip(tmp_path / "c.mkv", title="T", audio=False, subtitle=None)
    with av.open(str(clip.path)) as c:
        titles = [ch["metadata"].get("title") for ch in c.chapters()]
    assert titles == ["Intro", "Main"], RELEASE


@_names_the_release
def test_colorspace_members_we_convert_with():
    from av.video.reformatter import Colorspace

    names = ("ITU709", "ITU601", "SMPTE170M", "SMPTE240M", "FCC", "BT2020")
    missing = [n for n in names if not hasattr(Colorspace, n)]
    assert missing == [], f"{RELEASE}: Colorspace lacks {missing}"


@_names_the_release
def test_cover_art_disposition():
    assert hasattr(av.stream.Disposition, "attached_pic"), RELEASE
