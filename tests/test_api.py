"""The Python API: `from vsr_cli import upscale`, in this process, with paths and file objects."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
from media import frame_times, make_clip, read_frames

from vsr_cli import load_engines, upscale
from vsr_cli.errors import InputError, OutputError


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("api") / "in.mkv", codec="ffv1", pix_fmt="yuv444p")


def test_paths_options_as_keywords_and_progress(tmp_path, clip, bilinear_checkpoint):
    seen = []
    out = tmp_path / "out.mkv"
    result = upscale(
        str(clip.path),
        out,
        weights=bilinear_checkpoint,
        device="cpu",
        codec="ffv1",
        chunk=2,
        ss=0.04,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert result.frames == 5 and result.seconds > 0
    assert [done for done, _ in seen] == [1, 2, 3, 4, 5]
    assert frame_times(out) == pytest.approx([0.0, 0.04, 0.08, 0.12, 0.16])
    assert read_frames(out)[0].shape == (192, 256, 3)


def test_file_objects_in_and_out(tmp_path, clip, bilinear_checkpoint):
    """A script can stream: a readable file object in, a writable one out (the container
    named by ``format``), one engine reused."""
    engine = load_engines(weights=bilinear_checkpoint, device="cpu")[0]
    reference = tmp_path / "ref.mkv"
    upscale(clip.path, reference, engine=engine, codec="ffv1")
    sink = io.BytesIO()
    with open(clip.path, "rb") as source:
        result = upscale(source, sink, engine=engine, codec="ffv1", format="matroska")
    assert result.frames == 6
    with av.open(io.BytesIO(sink.getvalue())) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    for a, b in zip(frames, read_frames(reference), strict=True):
        np.testing.assert_array_equal(a, b)


def test_errors_are_vsr_errors(tmp_path, clip, bilinear_checkpoint):
    engine = load_engines(weights=bilinear_checkpoint, device="cpu")[0]
    with pytest.raises(InputError, match="no such file"):
        upscale(tmp_path / "missing.mp4", tmp_path / "out.mp4", engine=engine)
    (tmp_path / "taken.mkv").write_bytes(b"x")
    with pytest.raises(OutputError, match="exists"):
        upscale(clip.path, tmp_path / "taken.mkv", engine=engine)
    with pytest.raises(TypeError):
        upscale(clip.path, tmp_path / "out.mkv", engine=engine, tile_size=64)
