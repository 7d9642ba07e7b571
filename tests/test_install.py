"""The installed programs, as a fresh install leaves them: the console scripts on PATH
upscale an ordinary x264 MP4 with audio, describe it, and show their help; every package
the code imports is one pyproject declares (not one that arrives through another)."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import av
import pytest
from media import make_clip, packets_of

pytestmark = pytest.mark.smoke
ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent


def _script(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is not installed beside {sys.executable}"
    return found


def _run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_the_installed_scripts_upscale_an_x264_mp4_with_audio(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mp4")
    out = tmp_path / "out.mp4"
    upscale = _script("vsr-upscale")
    result = _run(upscale, clip.path, out, "--weights", golden_checkpoint, "--device", "cpu", "-q")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    with av.open(str(out)) as c:
        video = c.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", 256, 192)
    assert packets_of(out, "audio") == packets_of(clip.path, "audio")
    facts = json.loads(_run(_script("vsr"), "info", out, "--json").stdout)
    assert (facts["codec"], facts["width"], facts["frames"]) == ("h264", 256, 6)
    help_text = _run(_script("vsr-upscale"), "--help")
    assert help_text.returncode == 0 and "Usage: vsr-upscale" in help_text.stdout


def _imported_packages() -> set[str]:
    """Top-level names of every third-party module vsr_cli imports, lazily or not."""
    found = set()
    for path in (ROOT / "vsr_cli").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names} - {"vsr_cli"}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["eval"]
    return {_canonical(re.split(r"[\s;\[<>=!~]", r, maxsplit=1)[0]) for r in requirements}


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def test_every_imported_package_is_declared():
    providers = metadata.packages_distributions()
    declared = _declared()
    undeclared = {}
    for module in _imported_packages():
        dists = providers.get(module, [module])
        if not {_canonical(d) for d in dists} & declared:
            undeclared[module] = dists
    assert undeclared == {}, f"imported but not declared in pyproject: {undeclared}"
