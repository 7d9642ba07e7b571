"""Starting up: the commands that never run a model load no torch (help, info, models,
clean, join, usage errors), and Ctrl-C at any moment of a start is one line, exit 130.

Each case runs in a fresh interpreter, since this test session has torch loaded."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from media import make_clip

HEAVY = ("torch", "huggingface_hub", "gdown", "requests")
_PROBE = """
import json, sys
sys.argv = [sys.argv[1], *sys.argv[2:]]
from vsr_cli.cli import upscale_main, vsr_main
try:
    (upscale_main if sys.argv[0] == "vsr-upscale" else vsr_main)()
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "loaded": [m for m in %r if m in sys.modules]}))
"""


def _loaded_by(*argv: object) -> dict:
    """What ``argv`` (a command line) loads, and its exit code."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE % (HEAVY,), *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clip") / "in.mkv", audio=False, subtitle=None).path


@pytest.mark.parametrize(
    ("argv", "code", "needs"),
    [
        (["vsr-upscale", "--help"], 0, []),
        (["vsr", "--help"], 0, []),
        (["vsr", "upscale", "--help"], 0, []),
        (["vsr", "models"], 0, ["huggingface_hub"]),  # it looks in the Hub's cache
        (["vsr", "clean", "--dry-run", "{folder}"], 0, []),
        (["vsr", "info", "{clip}"], 0, []),
        (["vsr", "join", "{folder}/missing.mkv"], 1, []),
        (["vsr-upscale", "{clip}", "{folder}/out.mkv", "--scale", "5"], 2, []),
        (["vsr-upscale", "{clip}", "{folder}/out.mkv", "--codec", "h265"], 2, []),
        (["vsr-upscale", "{folder}/missing.mkv", "{folder}/out.mkv"], 1, []),
    ],
)
def test_commands_that_run_no_model_load_no_torch(tmp_path, clip, argv, code, needs):
    argv = [a.format(folder=tmp_path, clip=clip) for a in argv]
    found = _loaded_by(*argv)
    assert found["code"] == code
    assert found["loaded"] == needs


LIGHT_MODULES = ["vsr_cli", "vsr_cli.config", "vsr_cli.infer.plan", "vsr_cli.models.descriptor"]


@pytest.mark.parametrize("module", [*LIGHT_MODULES, "vsr_cli.api"])
def test_settings_and_planning_import_no_torch(module):
    code = f"import sys, {module}; print([m for m in {HEAVY!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize("delay", [0.3, 1.0, 2.0])
def test_ctrl_c_while_starting_is_one_line_and_exit_130(tmp_path, clip, golden_checkpoint, delay):
    """Whether Ctrl-C lands while the CLI loads, while torch loads or while the model
    does, the run ends the same way."""
    command = [sys.executable, "-m", "vsr_cli", clip, tmp_path / "out.mkv"]
    process = subprocess.Popen(
        [*map(str, command), "--weights", str(golden_checkpoint), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1:] == ["error: interrupted"], stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
