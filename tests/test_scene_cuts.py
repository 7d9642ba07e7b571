"""Scene cuts: the recurrence never carries one scene into another."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch
from cli import vsr_upscale
from media import moving_pattern, read_frames

from vsr_cli.infer.sequence import CutDetector

SIZE = (64, 48)
SCENE = 8  # frames per scene


def _scene(kind: int, index: int) -> np.ndarray:
    """Three unlike scenes, each drifting a pixel a frame (so flows are not zero)."""
    w, h = SIZE
    base = moving_pattern(index + 40 * kind, w, h)
    if kind == 1:
        return 255 - base[:, ::-1]
    if kind == 2:
        return np.roll(base, 1, axis=2) // 2
    return base


def _write(path: Path, kinds: list[int]) -> Path:
    """FFV1 (lossless) RGB: the scenes in turn, 25 fps."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = *SIZE, "bgr0"
        n = 0
        for kind in kinds:
            for i in range(SCENE):
                frame = av.VideoFrame.from_ndarray(_scene(kind, i), format="rgb24")
                frame.pts = n
                out.mux(stream.encode(frame.reformat(format="bgr0")))
                n += 1
        out.mux(stream.encode(None))
    return path


def _upscale(tmp_path: Path, name: str, kinds: list[int], weights: Path, *args: str):
    source = _write(tmp_path / f"{name}.mkv", kinds)
    out = tmp_path / f"{name}_4x.mkv"
    result = vsr_upscale(source, out, "--weights", weights, "--codec", "ffv1",
                         "--pix-fmt", "bgr0", "--chunk", "6", *args)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return read_frames(out)


def test_each_side_of_a_cut_ignores_the_other_scene(tmp_path, golden_checkpoint):
    a = _upscale(tmp_path, "a", [0, 1], golden_checkpoint)
    b = _upscale(tmp_path, "b", [2, 1], golden_checkpoint)
    alone = _upscale(tmp_path, "alone", [1], golden_checkpoint)
    first = _upscale(tmp_path, "first", [0], golden_checkpoint)
    for x, y, z in zip(a[SCENE:], b[SCENE:], alone, strict=True):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, z)
    for x, y in zip(a[:SCENE], first, strict=True):
        np.testing.assert_array_equal(x, y)
    # Without cut detection the recurrence crosses the cut: the second scene's frames
    # depend on the first scene (which is why the test above can fail).
    a_off = _upscale(tmp_path, "a_off", [0, 1], golden_checkpoint, "--scene-cuts", "off")
    b_off = _upscale(tmp_path, "b_off", [2, 1], golden_checkpoint, "--scene-cuts", "off")
    assert any(not np.array_equal(x, y) for x, y in zip(a_off[SCENE:], b_off[SCENE:]))


@pytest.mark.parametrize("kinds", [[0], [1], [2]])
def test_no_cut_inside_a_scene(kinds):
    detector = CutDetector()
    frames = [_scene(kinds[0], i) for i in range(30)]
    cuts = [detector.is_cut(torch.from_numpy(f).permute(2, 0, 1) / 255) for f in frames]
    assert not any(cuts)


def test_cuts_found_between_scenes():
    detector = CutDetector()
    frames = [_scene(k, i) for k in (0, 1, 2, 0) for i in range(SCENE)]
    cuts = [detector.is_cut(torch.from_numpy(f).permute(2, 0, 1) / 255) for f in frames]
    assert [i for i, c in enumerate(cuts) if c] == [SCENE, 2 * SCENE, 3 * SCENE]
