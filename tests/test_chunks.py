"""Chunks of one length, side by side: every chunk reads the same number of frames (so they
batch, and a captured graph fits each), and N chunks in one pass compute exactly what they
compute one at a time."""

from __future__ import annotations

import pytest
import torch
from test_engine import BatchLimitedDevice

from vsr_cli.config import Tiling, UpscaleConfig
from vsr_cli.context import RunContext
from vsr_cli.events import CallbackReporter
from vsr_cli.infer.engine import Engine
from vsr_cli.infer.plan import ChunkPlan, auto_chunk_batch
from vsr_cli.infer.sequence import upscale_frames
from vsr_cli.models.psrt import PSRTRecurrent


@pytest.mark.parametrize("total", [9, 16, 17, 23, 24, 40, 41])
def test_uniform_chunks_all_read_one_length_and_stream(total):
    plan = ChunkPlan(size=8, overlap=4, fade=2, uniform=True)
    chunks = -(-total // 8)
    windows = [plan.window(k, total) for k in range(chunks)]
    assert [(w.core_start, w.core_stop) for w in windows] == [
        (8 * k, min(total, 8 * k + 8)) for k in range(chunks)
    ]
    assert {w.size for w in windows} == {min(16, total)}
    for w in windows:
        assert w.start <= max(0, w.core_start - 4) and w.stop >= min(total, w.core_stop + 4)
    # A chunk that is not the last runs with the frames it needs (the window it reads then
    # is the one it reads at the end), and later chunks never read what it let go.
    for k in range(chunks - 1):
        needed = plan.needed(k)
        if needed <= total and total >= 8 * k + 9:
            assert plan.window(k, needed) == windows[k]
            assert all(w.start >= plan.keep_from(k) for w in windows[k + 1 :])


def test_chunk_batch_fits_memory_up_to_four():
    gib = 2**30
    assert auto_chunk_batch(320, 180, Tiling(0, 16, 60, 4), 70 * gib, 4) == 4
    assert auto_chunk_batch(1920, 1080, Tiling(256, 16, 12, 4), 22 * gib, 4) == 1
    assert auto_chunk_batch(320, 180, Tiling(0, 16, 60, 4), gib, 4) == 1


def _run(engine, frames, tiling, context=None):
    items = ((f, i) for i, f in enumerate(frames))
    config = UpscaleConfig(tiling=tiling)
    out = dict((i, f.cpu()) for f, i in upscale_frames(items, config, engine, context))
    return torch.stack([out[i] for i in range(len(frames))])


@pytest.mark.parametrize(("tile", "count"), [(0, 11), (64, 9)])
def test_chunks_side_by_side_are_bit_identical_to_one_at_a_time(golden_model, tile, count):
    torch.manual_seed(0)
    frames = list((torch.rand(count, 3, 64, 96) * 255).to(torch.uint8))
    engine = Engine(golden_model, torch.device("cpu"), "fp32", tile_batch=2)
    one = _run(engine, frames, Tiling(tile, 16, 4, 2, chunk_batch=1))
    three = _run(engine, frames, Tiling(tile, 16, 4, 2, chunk_batch=3))
    assert torch.equal(one, three)


def test_uniform_chunks_agree_with_the_whole_clip(golden_model):
    """More context for the first and last chunks changes nothing the fades can see: the
    stitched output stays within the stitching tolerance of one whole-clip pass."""
    torch.manual_seed(1)
    frames = list((torch.rand(12, 3, 64, 64) * 255).to(torch.uint8))
    engine = Engine(golden_model, torch.device("cpu"), "fp32")
    whole = _run(engine, frames, Tiling(0, 16, 0, 4, chunk_batch=1)).clamp(0, 1)
    chunked = _run(engine, frames, Tiling(0, 16, 4, 4, chunk_batch=2)).clamp(0, 1)
    psnr = -10 * torch.log10(((whole - chunked) ** 2).mean())
    assert psnr >= 45


def test_out_of_memory_halves_the_chunk_batch_and_keeps_it_halved(golden_params):
    reference = PSRTRecurrent.from_state_dict(golden_params)
    model = BatchLimitedDevice(**vars(reference.config))  # one chunk at a time
    model.load_state_dict(reference.state_dict())
    warnings: list[str] = []
    context = RunContext(CallbackReporter(None, warnings.append))
    engine = Engine(model, torch.device("cpu"), "fp32")
    torch.manual_seed(2)
    frames = list((torch.rand(13, 3, 64, 64) * 255).to(torch.uint8))
    out = _run(engine, frames, Tiling(0, 16, 4, 2, chunk_batch=4), context)
    assert len(out) == 13
    halved = [
        "out of memory; retrying with 2 chunk(s) at a time",
        "out of memory; retrying with 1 chunk(s) at a time",
    ]
    assert warnings == halved  # kept halved for the rest of the run: said once
    plain = Engine(reference, torch.device("cpu"), "fp32")
    assert torch.equal(out, _run(plain, frames, Tiling(0, 16, 4, 2, 1)))
    # What fits belongs to one run: the next file starts again from the settings.
    _run(engine, frames, Tiling(0, 16, 4, 2, chunk_batch=4), context)
    assert warnings == halved * 2
