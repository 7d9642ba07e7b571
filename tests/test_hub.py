"""Named models from a Hub: real HTTP to a local imitation of the Hub, real cache, real CLI."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli import vsr_upscale
from hub_server import FakeHub
from media import make_clip

REPO = "vsr-cli/psrt-recurrent"
ROOT = Path(__file__).resolve().parent.parent


def _table(path: Path, filename: str, sha256: str, repo: str = REPO) -> Path:
    path.write_text(
        'default = "tiny"\n\n[models.tiny]\n'
        f'description = "the golden tiny model"\nrepo_id = "{repo}"\n'
        f'filename = "{filename}"\nrevision = "v1.0"\nsha256 = "{sha256}"\n'
        'source = "https://example.org/authors-drive"\n'
    )
    return path


@pytest.fixture(scope="module")
def published(golden_checkpoint, tmp_path_factory) -> Path:
    """The golden model converted by scripts/publish_weights.py, as we would serve it."""
    target = tmp_path_factory.mktemp("publish") / "tiny.safetensors"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "publish_weights.py"), golden_checkpoint, target],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert f'sha256 = "{hashlib.sha256(target.read_bytes()).hexdigest()}"' in result.stdout
    return target


@pytest.fixture()
def hub(published):
    with FakeHub() as server:
        server.files[(REPO, "v1.0", "tiny.safetensors")] = published.read_bytes()
        yield server


def _env(tmp_path: Path, hub: FakeHub, table: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "VSR_"))}
    env.update(
        HF_HOME=str(tmp_path / "hf"),
        HF_ENDPOINT=hub.endpoint,
        VSR_WEIGHTS_TOML=str(table),
        HF_HUB_DISABLE_TELEMETRY="1",
        **extra,
    )
    return env


def _vsr(env: dict[str, str], *args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from vsr_cli.cli import vsr_main; vsr_main()", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def test_first_run_downloads_then_offline_reuses_the_cache(tmp_path, hub, published):
    digest = hashlib.sha256(published.read_bytes()).hexdigest()
    env = _env(tmp_path, hub, _table(tmp_path / "w.toml", "tiny.safetensors", digest))
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    result = vsr_upscale(clip.path, tmp_path / "out.mkv", "--model", "tiny", "-q", env=env)
    assert result.returncode == 0, result.stderr
    assert "downloading model tiny" in result.stderr
    assert any(r.startswith("GET /vsr-cli/psrt-recurrent/resolve/v1.0/") for r in hub.requests)
    cached = list((tmp_path / "hf" / "hub").rglob("tiny.safetensors"))
    assert len(cached) == 1 and cached[0].read_bytes() == published.read_bytes()

    before = len(hub.requests)
    env["HF_HUB_OFFLINE"] = "1"
    again = vsr_upscale(clip.path, tmp_path / "out2.mkv", "--model", "tiny", "-q", env=env)
    assert again.returncode == 0, again.stderr
    assert len(hub.requests) == before  # not a byte over the network
    assert (tmp_path / "out2.mkv").read_bytes() != b""
    listing = _vsr(env, "models")
    assert "tiny" in listing.stdout and "yes" in listing.stdout


def test_checksum_mismatch_removes_the_file(tmp_path, hub, published):
    env = _env(tmp_path, hub, _table(tmp_path / "w.toml", "tiny.safetensors", "ab" * 32))
    result = _vsr(env, "download", "tiny")
    assert result.returncode == 1
    actual = hashlib.sha256(published.read_bytes()).hexdigest()
    assert f"expected sha256 {'ab' * 32}, got {actual}" in result.stderr
    cached = [p for p in (tmp_path / "hf").rglob("*") if p.is_file()]
    assert not [p for p in cached if p.read_bytes() == published.read_bytes()]
    assert not list((tmp_path / "hf").rglob("tiny.safetensors"))  # nor a dangling link


@pytest.mark.parametrize(
    ("repo", "filename", "message"),
    [
        ("vsr-cli/absent", "tiny.safetensors", "repository vsr-cli/absent not found"),
        (REPO, "absent.safetensors", "absent.safetensors not found in vsr-cli/psrt-recurrent@v1.0"),
    ],
)
def test_missing_repo_or_file_points_to_the_authors_file(tmp_path, hub, repo, filename, message):
    env = _env(tmp_path, hub, _table(tmp_path / "w.toml", filename, "", repo))
    result = _vsr(env, "download")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert message in result.stderr
    assert "https://example.org/authors-drive" in result.stderr and "--weights" in result.stderr


def test_offline_and_not_cached_fails_at_once(tmp_path, hub):
    env = _env(
        tmp_path, hub, _table(tmp_path / "w.toml", "tiny.safetensors", ""), HF_HUB_OFFLINE="1"
    )
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    start = time.monotonic()
    result = vsr_upscale(clip.path, tmp_path / "out.mkv", "--model", "tiny", env=env)
    assert time.monotonic() - start < 20  # no retries against the network
    assert result.returncode == 1
    assert "not cached and HF_HUB_OFFLINE is set: run `vsr download tiny`" in result.stderr
    assert hub.requests == [] and not (tmp_path / "out.mkv").exists()


def test_unknown_model_name(tmp_path, hub):
    env = _env(tmp_path, hub, _table(tmp_path / "w.toml", "tiny.safetensors", ""))
    result = _vsr(env, "download", "nope")
    assert result.returncode == 1 and "unknown model 'nope'; known: tiny" in result.stderr


def test_shipped_table_has_both_models():
    env = {k: v for k, v in os.environ.items() if k != "VSR_WEIGHTS_TOML"}
    listing = subprocess.run(
        [sys.executable, "-c", "from vsr_cli.cli import vsr_main; vsr_main()", "models"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert "psrt-reds (default)" in listing.stdout and "psrt-vimeo" in listing.stdout


def test_the_wheel_carries_weights_toml(tmp_path):
    """Read through importlib.resources, so an installed wheel must contain the table."""
    import zipfile

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(ROOT),
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("vsr_cli-*.whl")
    with zipfile.ZipFile(wheel) as z:
        assert z.read("vsr_cli/weights.toml") == (ROOT / "weights.toml").read_bytes()
