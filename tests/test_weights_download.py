"""Named models downloaded on first use: real HTTP to local imitations of the Hub and of a
mirror, the real cache, the real CLI in a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli import vsr_upscale
from drive_server import FakeDrive
from hub_server import FakeHub, FileServer
from media import make_clip

REPO = "vsr-cli/psrt-recurrent"
ROOT = Path(__file__).resolve().parent.parent


def _table(path: Path, filename: str, sha256: str, repo: str = REPO, extra: str = "") -> Path:
    path.write_text(
        'default = "tiny"\n\n[models.tiny]\n'
        f'description = "the golden tiny model"\nrepo_id = "{repo}"\n'
        f'filename = "{filename}"\nrevision = "v1.0"\nsha256 = "{sha256}"\n'
        f'source = "https://example.org/authors-drive"\n{extra}'
    )
    return path


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _models(env: dict[str, str]) -> dict:
    listing = _vsr(env, "models", "--json")
    assert listing.returncode == 0, listing.stderr
    return {m["name"]: m for m in json.loads(listing.stdout)["models"]}


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
    )
    env.update(extra)
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


@pytest.mark.smoke
def test_first_run_downloads_then_offline_reuses_the_cache(tmp_path, hub, published):
    digest = hashlib.sha256(published.read_bytes()).hexdigest()
    env = _env(tmp_path, hub, _table(tmp_path / "w.toml", "tiny.safetensors", digest))
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    result = vsr_upscale(clip.path, tmp_path / "out.mkv", "--model", "tiny", "-q", env=env)
    assert result.returncode == 0, result.stderr
    assert "downloading model tiny from Hugging Face Hub vsr-cli/psrt-recurrent@v1.0" in (
        result.stderr
    )
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
    assert "tiny (default)  x4  cached" in listing.stdout and digest in listing.stdout
    tiny = _models(env)["tiny"]
    assert tiny["sha256"] == digest and tiny["source"].startswith("Hugging Face Hub")


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
        ("vsr-cli/absent", "tiny.safetensors", "vsr-cli/absent@v1.0: no such repository"),
        (REPO, "absent.safetensors", "@v1.0: no file absent.safetensors"),
    ],
)
def test_missing_repo_or_file_points_to_the_authors_file(tmp_path, hub, repo, filename, message):
    env = _env(tmp_path, hub, _table(tmp_path / "w.toml", filename, "", repo))
    result = _vsr(env, "download")
    assert result.returncode == 1
    *tried, error = result.stderr.splitlines()
    assert tried == []  # a source is announced once it answers with the file
    assert error.startswith("error: could not download model tiny") and message in error
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


UNPUBLISHED = "vsr-cli/unpublished"  # the Hub answers RepoNotFound: skipped at once
FOLDER, FILE_ID = "1SyCIPlCZp4SkORMaUVKzT0M07nDAhdrl", "1UpGdtDlVRBGpTfF2G7SZReNlmH0ZjuWf"


@pytest.fixture()
def mirror(golden_checkpoint):
    """The authors' .pth (not our safetensors) on a plain HTTP server."""
    with FileServer() as server:
        server.files["/weights/PSRT_tiny.pth"] = golden_checkpoint.read_bytes()
        yield server


def _store(tmp_path: Path) -> Path:
    return tmp_path / "hf" / "vsr-cli" / "tiny"


def _stored_files(tmp_path: Path) -> list[str]:
    """What the model's folder holds, but the lock that one-download-at-a-time leaves."""
    return sorted(p.name for p in _store(tmp_path).iterdir() if p.name != ".lock")


def test_mirror_serves_the_authors_pth_converted_once(tmp_path, hub, mirror, published):
    digest = hashlib.sha256(published.read_bytes()).hexdigest()
    url = f"{mirror.url}/weights/PSRT_tiny.pth"
    table = _table(
        tmp_path / "w.toml", "tiny.safetensors", digest, UNPUBLISHED, f'mirrors = ["{url}"]\n'
    )
    env = _env(tmp_path, hub, table)
    start = time.monotonic()
    result = _vsr(env, "download", "tiny")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - start < 20  # the missing Hub repository is not retried
    assert f"downloading model tiny from {url}" in result.stderr
    assert f"from {url}, sha256 {digest}" in result.stderr
    # The same checkpoint converted here gives the very bytes we would publish.
    assert _stored_files(tmp_path) == ["record.json", "tiny.safetensors"]
    assert (_store(tmp_path) / "tiny.safetensors").read_bytes() == published.read_bytes()

    served = len(mirror.requests), len(hub.requests)
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    again = vsr_upscale(clip.path, tmp_path / "out.mkv", "--model", "tiny", "-q", env=env)
    assert again.returncode == 0, again.stderr
    env["HF_HUB_OFFLINE"] = "1"
    offline = vsr_upscale(clip.path, tmp_path / "out2.mkv", "--model", "tiny", "-q", env=env)
    assert offline.returncode == 0, offline.stderr
    assert (len(mirror.requests), len(hub.requests)) == served  # no request at all
    tiny = _models(env)["tiny"]
    assert (tiny["source"], tiny["sha256"], tiny["cached"]) == (url, digest, True)


def test_mirror_with_the_wrong_sha256_keeps_nothing(tmp_path, hub, mirror):
    url = f"{mirror.url}/weights/PSRT_tiny.pth"
    extra = f'mirrors = ["{url}"]\n'
    env = _env(
        tmp_path, hub, _table(tmp_path / "w.toml", "t.safetensors", "cd" * 32, UNPUBLISHED, extra)
    )
    result = _vsr(env, "download", "tiny")
    assert result.returncode == 1
    assert f"{url}: failed verification: expected sha256 {'cd' * 32}, got" in result.stderr
    assert _stored_files(tmp_path) == []


def test_a_mirror_dying_mid_file_leaves_nothing_then_the_next_run_completes(
    tmp_path, hub, mirror, published
):
    url = f"{mirror.url}/weights/PSRT_tiny.pth"
    table = _table(
        tmp_path / "w.toml", "tiny.safetensors", "", UNPUBLISHED, f'mirrors = ["{url}"]\n'
    )
    env = _env(tmp_path, hub, table)
    mirror.cut_after = 1000
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    result = vsr_upscale(clip.path, tmp_path / "out.mkv", "--model", "tiny", env=env)
    assert result.returncode == 1
    error = result.stderr.splitlines()[-1]
    assert error.startswith("error: could not download model tiny") and "incomplete" in error
    assert not (_store(tmp_path) / "tiny.safetensors").exists()
    assert not (tmp_path / "out.mkv").exists()

    mirror.cut_after = None
    result = vsr_upscale(clip.path, tmp_path / "out.mkv", "--model", "tiny", "-q", env=env)
    assert result.returncode == 0, result.stderr
    assert (_store(tmp_path) / "tiny.safetensors").read_bytes() == published.read_bytes()
    assert [name for name in _stored_files(tmp_path) if name.endswith(".part")] == []


def test_garbage_from_a_mirror_is_refused_and_the_next_source_used(
    tmp_path, hub, mirror, published
):
    mirror.files["/bad.pth"] = b"<html>Sign in to continue</html>"
    good, bad = f"{mirror.url}/weights/PSRT_tiny.pth", f"{mirror.url}/bad.pth"
    missing = f"{mirror.url}/gone.pth"
    extra = f'mirrors = ["{missing}", "{bad}", "{good}"]\n'
    env = _env(
        tmp_path, hub, _table(tmp_path / "w.toml", "tiny.safetensors", "", UNPUBLISHED, extra)
    )
    result = _vsr(env, "download", "tiny")
    assert result.returncode == 0, result.stderr
    assert f"from {good}, sha256" in result.stderr
    assert (_store(tmp_path) / "tiny.safetensors").read_bytes() == published.read_bytes()


def test_first_runs_started_together_download_once(tmp_path, hub, mirror):
    """Shards started at once on a fresh machine: one downloads, the others wait for it."""
    url = f"{mirror.url}/weights/PSRT_tiny.pth"
    table = _table(tmp_path / "w.toml", "tiny.safetensors", "", "", f'mirrors = ["{url}"]\n')
    env = _env(tmp_path, hub, table)
    command = [sys.executable, "-c", "from vsr_cli.cli import vsr_main; vsr_main()"]
    runs = [
        subprocess.Popen([*command, "download", "tiny"], env=env, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for run in runs:
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
    assert [r for r in mirror.requests if r.startswith("GET")] == ["GET /weights/PSRT_tiny.pth"]
    assert hub.requests == []  # no Hub repository listed for this model
    assert _models(env)["tiny"]["cached"]


def test_a_changed_table_entry_is_not_served_from_an_old_download(tmp_path, hub, published):
    digest = hashlib.sha256(published.read_bytes()).hexdigest()
    table = _table(tmp_path / "w.toml", "tiny.safetensors", "")
    env = _env(tmp_path, hub, table)
    assert _vsr(env, "download", "tiny").returncode == 0
    assert _models(env)["tiny"]["sha256"] == digest
    table.write_text(table.read_text().replace('revision = "v1.0"', 'revision = "v2.0"'))
    assert not _models(env)["tiny"]["cached"]


@pytest.mark.smoke
def test_drive_folder_listing_and_confirmation_page(tmp_path, hub, golden_checkpoint, published):
    """The REDS file has no known id: it is found by name in the authors' folder, and is big
    enough that Drive answers first with its "can't scan for viruses" form."""
    extra = f'drive_folder = "{FOLDER}"\ndrive_name = "PSRT_tiny.pth"\n'
    table = _table(tmp_path / "w.toml", "tiny.safetensors", "", UNPUBLISHED, extra)
    with FakeDrive() as drive:
        drive.add_folder(FOLDER, {"PSRT_tiny.pth": FILE_ID, "other.pth": "x" * 33})
        drive.add_file(FILE_ID, "PSRT_tiny.pth", golden_checkpoint.read_bytes(), confirm=True)
        env = _env(tmp_path, hub, table) | drive.env()
        result = _vsr(env, "download", "tiny")
        assert result.returncode == 0, result.stderr
        assert any("embeddedfolderview" in r and FOLDER in r for r in drive.requests)
        assert any("confirm=t" in r and FILE_ID in r for r in drive.requests)
    assert f"Google Drive folder {FOLDER} (PSRT_tiny.pth)" in result.stderr
    assert (_store(tmp_path) / "tiny.safetensors").read_bytes() == published.read_bytes()


def test_a_stale_drive_id_falls_back_to_the_file_listed_by_name(
    tmp_path, hub, golden_checkpoint, published
):
    stale = "9" * 33
    extra = f'drive_id = "{stale}"\ndrive_folder = "{FOLDER}"\ndrive_name = "PSRT_tiny.pth"\n'
    table = _table(tmp_path / "w.toml", "tiny.safetensors", "", UNPUBLISHED, extra)
    with FakeDrive() as drive:
        drive.add_folder(FOLDER, {"PSRT_tiny.pth": FILE_ID})
        drive.add_file(FILE_ID, "PSRT_tiny.pth", golden_checkpoint.read_bytes())
        result = _vsr(_env(tmp_path, hub, table) | drive.env(), "download", "tiny")
        assert any(stale in r for r in drive.requests)
    assert result.returncode == 0, result.stderr
    assert (_store(tmp_path) / "tiny.safetensors").read_bytes() == published.read_bytes()


def test_drive_quota_is_one_line_with_the_folder_link(tmp_path, hub, golden_checkpoint):
    extra = f'drive_id = "{FILE_ID}"\n'
    table = _table(tmp_path / "w.toml", "tiny.safetensors", "", UNPUBLISHED, extra)
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    with FakeDrive() as drive:
        drive.add_file(FILE_ID, "PSRT_tiny.pth", golden_checkpoint.read_bytes(), quota=True)
        env = _env(tmp_path, hub, table) | drive.env()
        result = vsr_upscale(clip.path, tmp_path / "out.mkv", "--model", "tiny", env=env)
    assert result.returncode == 1
    error = result.stderr.splitlines()[-1]
    assert f"Google Drive file {FILE_ID}: quota exceeded" in error
    assert "https://example.org/authors-drive" in error and "vsr download tiny --from FILE" in error
    assert "Traceback" not in result.stderr and not (tmp_path / "out.mkv").exists()
    assert not list(_store(tmp_path).glob("*.safetensors"))


def test_no_network_at_all_fails_in_one_line_within_seconds(tmp_path, hub):
    closed = f"http://127.0.0.1:{_closed_port()}"
    extra = f'mirrors = ["{closed}/PSRT_tiny.pth"]\ndrive_id = "{FILE_ID}"\n'
    table = _table(tmp_path / "w.toml", "tiny.safetensors", "", REPO, extra)
    env = _env(tmp_path, hub, table, HF_ENDPOINT=closed, HTTPS_PROXY=closed, https_proxy=closed)
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    start = time.monotonic()
    result = vsr_upscale(clip.path, tmp_path / "out.mkv", "--model", "tiny", env=env)
    assert time.monotonic() - start < 15
    assert result.returncode == 1 and "Traceback" not in result.stderr
    *before, error = result.stderr.splitlines()
    assert [line for line in before if not line.startswith("warning:")] == []
    assert error.startswith("error: could not download model tiny (Hugging Face Hub")
    for tried in (
        "unreachable: connection refused",
        f"{closed}/PSRT_tiny.pth: connection refused",
        f"Google Drive file {FILE_ID}: connection refused",
    ):
        assert tried in error
    assert error.endswith("(or pass it to vsr-upscale with --weights FILE)")
    assert len(error) < 500  # each reason in a few words, no client's nested retries
    assert not (tmp_path / "out.mkv").exists()


def test_a_file_from_disk_must_have_the_declared_network(tmp_path, hub, golden_checkpoint):
    """`vsr download tiny --from FILE` takes a checkpoint with the channels, depths and
    heads weights.toml declares for tiny, and stores it readable as the umask says."""
    wrong = "network = { embed_dim = 120, depths = [6, 6, 6], num_heads = [2] }\n"
    env = _env(tmp_path, hub, _table(tmp_path / "w.toml", "tiny.safetensors", "", extra=wrong))
    refused = _vsr(env, "download", "tiny", "--from", golden_checkpoint)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"error: {golden_checkpoint}: not tiny: a PSRT-recurrent with depths [2], embed_dim 24, "
        "where weights.toml declares depths [6, 6, 6], embed_dim 120"
    )
    assert _stored_files(tmp_path) == []
    right = "network = { mid_channels = 16, embed_dim = 24, depths = [2], num_heads = [2] }\n"
    env = _env(tmp_path, hub, _table(tmp_path / "w.toml", "tiny.safetensors", "", extra=right))
    taken = _vsr(env, "download", "tiny", "--from", golden_checkpoint)
    assert taken.returncode == 0, taken.stderr
    umask = os.umask(0o022)
    os.umask(umask)
    for name in ("record.json", "tiny.safetensors"):
        assert (_store(tmp_path) / name).stat().st_mode & 0o777 == 0o666 & ~umask


def test_unknown_model_name(tmp_path, hub):
    env = _env(tmp_path, hub, _table(tmp_path / "w.toml", "tiny.safetensors", ""))
    result = _vsr(env, "download", "nope")
    assert result.returncode == 1 and "unknown model 'nope'; known: tiny" in result.stderr


def test_a_misspelt_key_in_the_table_is_an_error_not_a_silent_skip(tmp_path, hub):
    table = _table(tmp_path / "w.toml", "tiny.safetensors", "", extra='drive_nmae = "x.pth"\n')
    result = _vsr(_env(tmp_path, hub, table), "models")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: model 'tiny' in weights.toml: unknown key(s) drive_nmae"
    )


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
