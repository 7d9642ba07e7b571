"""The README's Slurm jobs, for real: scripts/slurm/*.sbatch submitted to a one-node Slurm
cluster on this machine (Debian's slurm-wlm; `.ci/run` installs it), their outputs compared
with a single run's."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from cli import vsr_upscale
from media import frame_times, make_clip, read_frames

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts" / "slurm"
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"}

pytestmark = pytest.mark.skipif(
    shutil.which("sbatch") is None or os.geteuid() != 0,
    reason="needs Slurm (Debian's slurm-wlm) and root to run a local cluster; .ci/run has both",
)


@pytest.fixture(scope="module")
def cluster() -> None:
    subprocess.run(["bash", SCRIPTS / "local-cluster.sh"], check=True, timeout=120)


def _submit(*args: object, cwd: Path) -> str:
    result = subprocess.run(
        ["sbatch", "--parsable", *map(str, args)], capture_output=True, text=True, cwd=cwd
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split(";")[0]


def _states(job: str) -> list[str]:
    shown = subprocess.run(
        ["scontrol", "show", "job", "-o", job], capture_output=True, text=True
    ).stdout
    return [part.split("=", 1)[1] for part in shown.split() if part.startswith("JobState=")]


def _wait(*jobs: str, timeout: float = 900) -> None:
    """Until every task of ``jobs`` has ended; each must have completed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [s for job in jobs for s in _states(job)]
        if states and all(s in TERMINAL for s in states):
            assert set(states) == {"COMPLETED"}, states
            return
        time.sleep(1)
    raise AssertionError(f"jobs {jobs} still running after {timeout} s")


def _same_frames(a: Path, b: Path) -> None:
    assert frame_times(a) == frame_times(b)
    for x, y in zip(read_frames(a), read_frames(b), strict=True):
        np.testing.assert_array_equal(x, y)


MODEL = ["--codec", "ffv1", "--chunk", "4", "--chunk-overlap", "2", "-q"]


def test_a_film_in_segments_on_a_slurm_array_then_joined(cluster, tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "film.mp4", pts=[40 * i for i in range(12)], options={"g": "8"})
    out = tmp_path / "film_4x.mkv"
    options = ["--weights", golden_checkpoint, "--piece-seconds", "0.16", *MODEL]
    shares = _submit("--array=1-3", "--output=share-%a.log", SCRIPTS / "upscale-film.sbatch",
                     clip.path, out, *options, cwd=tmp_path)  # fmt: skip
    join = _submit(f"--dependency=afterok:{shares}", "--output=join.log",
                   SCRIPTS / "join.sbatch", out, cwd=tmp_path)  # fmt: skip
    _wait(shares, join)
    assert not (tmp_path / ".film_4x.mkv.vsr-job").exists()
    single = tmp_path / "single.mkv"
    result = vsr_upscale(clip.path, single, *options)
    assert result.returncode == 0, result.stderr
    _same_frames(out, single)


def test_a_library_in_shards_on_a_slurm_array(cluster, tmp_path, golden_checkpoint):
    library = tmp_path / "clips"
    (library / "day2").mkdir(parents=True)
    names = ["a.mkv", "b.mkv", "day2/c.mkv"]
    for name in names:
        make_clip(library / name, audio=False, subtitle=None)
    out = tmp_path / "upscaled"
    options = ["--weights", golden_checkpoint, *MODEL]
    jobs = _submit("--array=1-2", "--output=shard-%a.log", SCRIPTS / "upscale-library.sbatch",
                   library, out, *options, cwd=tmp_path)  # fmt: skip
    _wait(jobs)
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.mkv")) == names
    alone = tmp_path / "alone.mkv"
    assert vsr_upscale(library / "day2" / "c.mkv", alone, *options).returncode == 0
    _same_frames(out / "day2" / "c.mkv", alone)
