"""The command line as a newcomer meets it: help that fits a terminal of 80 columns, one
style of usage error with the likely fix, and the small things people trip on."""

from __future__ import annotations

import json
import os
import re

import pytest
from cli import vsr, vsr_upscale
from media import make_clip

COMMANDS = ["upscale", "models", "download", "info", "bench", "join", "eval", "compare"]


def _offline(tmp_path) -> dict[str, str]:
    """No weights reachable: a run that got as far as loading the model would fail there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSR_", "HF_"))}
    return env | {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "COLUMNS": "80"}


@pytest.mark.smoke
@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_fits_80_columns_with_headings_and_no_value_hints_on_flags(tmp_path, command):
    result = vsr(*([command] if command else []), "--help", env=_offline(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= 80, [line for line in lines if len(line) > 80]
    assert not re.search(r"<(bool|int|str|path|float)", result.stdout)
    assert "╭" not in result.stdout  # no boxes
    if command == "upscale":
        assert lines[0] == "Usage: vsr upscale [OPTIONS] INPUT... OUTPUT"
        for heading in ("Input and output:", "Model and device:", "Tiles and chunks:",
                        "Encoding:", "Sections and long jobs:", "Batches:",
                        "Progress and messages:", "Examples:"):  # fmt: skip
            assert heading in lines or f"  {heading}" in lines, heading
        assert "  --compile / --no-compile" in result.stdout  # a flag: no value


def test_vsr_upscale_help_is_the_same_command(tmp_path):
    result = vsr_upscale("--help", env=_offline(tmp_path))
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == "Usage: vsr-upscale [OPTIONS] INPUT... OUTPUT"


@pytest.mark.smoke
@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--scale", "5"], ["--scale: 5: choose 2, 3 or 4"]),
        (["--codec", "h265"], ["unknown video encoder 'h265'; did you mean libx265?"]),
        (["--tile", "32"], ["--tile: tiles must be 0 (whole frame) or at least 64 px"]),
        (["--device", "cuda"], ["--device:", "the devices here: cpu"]),
        (["--precision", "fp8"], ["--precision: fp8: choose one of"]),
        (["--ss", "ten"], ["--ss: 'ten'"]),
        (["--no-such-option"], ["No such option", "--no-such-option"]),
        (["--tile", "abc"], ["Invalid value for '--tile'"]),
    ],
)
def test_usage_errors_are_one_line_rc_2_before_any_model_loads(tmp_path, args, fragments):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    result = vsr_upscale(clip.path, tmp_path / "out.mkv", *args, env=_offline(tmp_path))
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mkv"]


def test_an_unknown_extension_names_the_known_ones_and_format(tmp_path):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    (tmp_path / "out").mkdir()
    result = vsr_upscale(clip.path, tmp_path / "out" / "x.xyz", env=_offline(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {tmp_path / 'out' / 'x.xyz'}: no container")
    assert ".mkv" in result.stderr and "--format" in result.stderr


def test_skip_existing_with_one_file_skips_without_a_model(tmp_path):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    (tmp_path / "out.mkv").write_bytes(b"done before")
    result = vsr_upscale(clip.path, tmp_path / "out.mkv", "--skip-existing", env=_offline(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"{clip.path}: skipped (output exists)"
    assert (tmp_path / "out.mkv").read_bytes() == b"done before"


def test_an_output_ending_in_a_slash_is_a_folder_made_for_it(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    result = vsr_upscale(clip.path, f"{tmp_path / 'new'}/", "--weights", golden_checkpoint, "-q")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["in.mkv"]


@pytest.mark.smoke
def test_info_names_colours_as_ffprobe_does(tmp_path):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)  # tagged BT.709, tv range
    facts = json.loads(vsr("info", clip.path, "--json").stdout)
    assert (facts["color_matrix"], facts["color_range"], facts["color_primaries"]) == (
        "bt709", "tv", "bt709",
    )  # fmt: skip
    text = vsr("info", clip.path, env=_offline(tmp_path)).stdout
    assert re.search(r"color_matrix\s+bt709", text)


def test_a_broken_file_is_not_a_video_file_with_ffmpegs_reason(tmp_path):
    (tmp_path / "junk.mp4").write_bytes(b"\x00\x01garbage" * 500)
    result = vsr("info", tmp_path / "junk.mp4")
    assert result.returncode == 1
    assert re.fullmatch(r"error: .*junk\.mp4: not a video file \(.+\)\n", result.stderr)


def test_vsr_alone_shows_the_help_and_missing_arguments_are_named_as_in_the_help():
    alone = vsr()
    assert alone.returncode == 0 and alone.stderr == ""
    assert alone.stdout.startswith("Usage: vsr [OPTIONS] COMMAND [ARGS]...")
    missing = vsr("info")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: Missing argument 'FILE'."
