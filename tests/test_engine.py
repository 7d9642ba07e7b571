"""Engine: tiles, padding of small frames, and the out-of-memory back-off."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vsr_cli.context import RunContext
from vsr_cli.events import CallbackReporter
from vsr_cli.infer.engine import Engine
from vsr_cli.infer.pixels import input_pixels
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.video.color import SPC_BT709, SPC_SMPTE170M, ColorSpec


class SmallDevice(PSRTRecurrent):
    """Behaves like a GPU that runs out of memory on inputs wider than 100 px."""

    def forward(self, lq):
        if lq.shape[-1] > 100:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return super().forward(lq)


def _golden_as(cls: type[PSRTRecurrent], params: dict) -> PSRTRecurrent:
    reference = PSRTRecurrent.from_state_dict(params)
    model = cls(**vars(reference.config))
    model.load_state_dict(reference.state_dict())
    return model


def test_out_of_memory_halves_the_tile_and_drops_nothing(golden_params):
    model = _golden_as(SmallDevice, golden_params)
    warnings: list[str] = []
    context = RunContext(CallbackReporter(None, warnings.append))
    engine = Engine(model, torch.device("cpu"), "fp32")
    lq = torch.rand(3, 3, 64, 160)
    fit = engine.fit(0)
    out = engine.upscale(lq, fit, overlap=16, context=context)
    assert fit.tile == 80 and out.shape == (3, 3, 256, 640)
    assert warnings == ["out of memory with tiles of 160 px; retrying with 80 px"]
    plain = Engine(PSRTRecurrent.from_state_dict(golden_params), torch.device("cpu"), "fp32")
    expected = plain.upscale(lq, plain.fit(80), overlap=16)
    assert torch.equal(out, expected)


def test_frames_under_64_px_are_padded_and_cropped(golden_model):
    engine = Engine(golden_model, torch.device("cpu"), "fp32")
    out = engine.upscale(torch.rand(2, 3, 40, 50), engine.fit(0), overlap=0)
    assert out.shape == (2, 3, 160, 200)


def test_8_bit_frames_go_to_the_engine_as_bytes_and_compute_the_same(golden_model):
    """Decoded 8-bit frames reach the engine as uint8 (a quarter of the bytes over PCIe)
    and become [0, 1] floats there: the same output as frames converted on the host,
    also for frames under 64 px (padded after the conversion)."""
    engine = Engine(golden_model, torch.device("cpu"), "fp32")
    for height, width in ((64, 72), (40, 50)):
        rgb = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
        pixels = input_pixels(rgb)
        assert pixels.dtype == torch.uint8 and pixels.shape == (3, height, width)
        as_bytes = engine.upscale(torch.stack([pixels] * 2), engine.fit(0), overlap=0)
        as_floats = engine.upscale(
            torch.stack([pixels.float() / 255] * 2), engine.fit(0), overlap=0
        )
        assert torch.equal(as_bytes, as_floats)
    deep = input_pixels(np.full((64, 64, 3), 65535, dtype=np.uint16))
    assert deep.dtype == torch.float32 and deep.max().item() == 1.0


def test_untagged_streams_are_read_as_players_read_them():
    hd = ColorSpec.of_stream(2, 0, 2, 2, 720, "yuv420p")
    sd = ColorSpec.of_stream(2, 0, 2, 2, 480, "yuv420p")
    assert hd.matrix == SPC_BT709 and sd.matrix == SPC_SMPTE170M
    assert hd.range == 1  # limited
    assert ColorSpec.of_stream(2, 0, 2, 2, 480, "yuvj420p").range == 2  # full


def test_output_pixel_format_follows_the_source_where_the_encoder_can():
    from vsr_cli.video.encoder import choose_pix_fmt
    from vsr_cli.video.encoder import fit_to_chroma as _fit_to_chroma

    assert choose_pix_fmt("libx264", "yuv420p10le", 10, None) == "yuv420p10le"
    assert choose_pix_fmt("libx264", "yuv420p12le", 12, None) == "yuv420p10le"  # deepest it has
    assert choose_pix_fmt("libx264", "rgb24", 8, None) == "yuv420p"
    assert choose_pix_fmt("ffv1", "yuv444p", 8, None) == "yuv444p"
    assert _fit_to_chroma((243, 195), "yuv420p") == (242, 194)
    assert _fit_to_chroma((243, 195), "yuv422p") == (242, 195)
    assert _fit_to_chroma((243, 195), "yuv444p") == (243, 195)


class ShapeLog(PSRTRecurrent):
    """Records the shape of every batch of tiles the engine runs."""

    def forward(self, lq):
        self.shapes.append(tuple(lq.shape))
        return super().forward(lq)


def test_tiles_run_in_batches_of_one_shape(golden_params):
    """Same-size tiles in one forward compute what tiles one by one compute."""
    lq = torch.rand(3, 3, 100, 200)
    outputs, shapes = [], []
    for batch in (1, 4):
        model = _golden_as(ShapeLog, golden_params)
        model.shapes = []
        engine = Engine(model, torch.device("cpu"), "fp32", tile_batch=batch)
        outputs.append(engine.upscale(lq, engine.fit(64), overlap=16))
        shapes.append(model.shapes)
    # 2 rows x 4 columns of tiles, all 68x88 (edge tiles grown into more context).
    assert shapes[0] == [(1, 3, 3, 68, 88)] * 8
    assert shapes[1] == [(4, 3, 3, 68, 88)] * 2
    assert (outputs[0] - outputs[1]).abs().max().item() < 1e-5


class BatchLimitedDevice(PSRTRecurrent):
    """Behaves like a GPU that runs out of memory on more than one tile at a time."""

    def forward(self, lq):
        if lq.shape[0] > 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return super().forward(lq)


def test_out_of_memory_runs_fewer_tiles_at_a_time_first(golden_params):
    model = _golden_as(BatchLimitedDevice, golden_params)
    warnings: list[str] = []
    context = RunContext(CallbackReporter(None, warnings.append))
    engine = Engine(model, torch.device("cpu"), "fp32", tile_batch=4)
    fit = engine.fit(64)
    out = engine.upscale(torch.rand(2, 3, 64, 160), fit, overlap=16, context=context)
    assert fit.tile == 64 and fit.tile_batch == 1 and out.shape == (2, 3, 256, 640)
    assert warnings == [
        "out of memory; retrying with 2 tile(s) at a time",
        "out of memory; retrying with 1 tile(s) at a time",
    ]


@pytest.mark.parametrize("size", [(96, 160), (40, 200)])  # (40, 200): padded to 64 rows
def test_x2_and_x3_are_resized_tile_by_tile_as_the_whole_frame_would_be(golden_model, size):
    """--scale 2/3: tiles are resized as they come (no frame held whole at x4), and the
    result is what resizing the stitched x4 frames gives, to about one 8-bit level at
    the default overlap (measured: 0.003-0.005 at worst, at seams; 77-79 dB), also in
    the frame's last rows (the padding of frames under 64 px is cut before resizing,
    or it bleeds 0.09 into them); a frame run whole is resized in one call, exactly."""
    engine = Engine(golden_model, torch.device("cpu"), "fp32")
    height, width = size
    smooth = torch.rand(3, 3, height // 4, width // 4, generator=torch.Generator().manual_seed(0))
    lq = F.interpolate(smooth, size=size, mode="bicubic").clamp(0, 1)
    stitched_x4 = engine.upscale(lq, engine.fit(64), overlap=16)
    whole_x4 = engine.upscale(lq, engine.fit(0), overlap=16)
    for scale in (2, 3):
        tiled = engine.upscale(lq, engine.fit(64), overlap=16, scale=scale)
        assert tiled.shape == (3, 3, height * scale, width * scale)
        expected = F.interpolate(
            stitched_x4, scale_factor=scale / 4, mode="bicubic", antialias=True
        )
        error = (tiled - expected).abs()
        assert error.max().item() < 0.01
        assert error[..., -2:, :].max().item() < 0.004 and error[..., -2:].max().item() < 0.004
        assert (error**2).mean().item() < 1e-7  # > 70 dB
        whole = engine.upscale(lq, engine.fit(0), overlap=16, scale=scale)
        resized = F.interpolate(whole_x4, scale_factor=scale / 4, mode="bicubic", antialias=True)
        assert torch.equal(whole, resized)
