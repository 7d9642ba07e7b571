"""Folders, many inputs, shards, several workers, pipes and JSON events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from cli import vsr_upscale
from media import frame_times, make_clip

from vsr_cli.api import upscale
from vsr_cli.run.work import Task, collect, take_shard


@pytest.fixture()
def library(tmp_path) -> Path:
    root = tmp_path / "library"
    (root / "season 1").mkdir(parents=True)
    make_clip(root / "a.mkv", audio=False, subtitle=None)
    make_clip(root / "season 1" / "b.mp4", audio=False, subtitle=None)
    (root / "notes.txt").write_text("not a video")
    (root / "season 1" / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    return root


def _json_lines(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines()]  # fails on any other line


def test_folder_mirrors_paths_and_one_failure_does_not_stop_the_batch(
    tmp_path, library, golden_checkpoint
):
    data = (library / "a.mkv").read_bytes()
    (library / "broken.mkv").write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    result = vsr_upscale(library, out, "--recursive", "--weights", golden_checkpoint, "-q")
    assert result.returncode == 1
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "a.mkv",
        "season 1/b.mp4",
    ]
    assert f"error: {library / 'broken.mkv'}:" in result.stderr
    assert "notes.txt" not in result.stderr and "cover.jpg" not in result.stderr
    assert "vsr-upscale batch" in result.stderr  # the summary table
    assert frame_times(out / "season 1" / "b.mp4") == frame_times(library / "season 1" / "b.mp4")

    (library / "broken.mkv").unlink()
    again = vsr_upscale(
        library, out, "-r", "--skip-existing", "--weights", golden_checkpoint, "--json"
    )
    assert again.returncode == 0
    events = _json_lines(again.stderr)
    assert [e["reason"] for e in events if e["event"] == "skipped"] == ["output exists"] * 2
    assert events[-1]["event"] == "summary" and events[-1]["skipped"] == 2


def test_without_recursive_subfolders_are_left_alone(tmp_path, library, golden_checkpoint):
    out = tmp_path / "out"
    result = vsr_upscale(library, out, "--weights", golden_checkpoint, "--ext", "mp4", "-q")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in out.rglob("*")] == ["a.mp4"]
    with av.open(str(out / "a.mp4")) as c:
        assert c.format.name.startswith("mov,mp4")


def test_shards_split_the_sorted_list_disjointly():
    tasks = [Task(Path(f"{i}.mp4"), Path(f"out/{i}.mp4")) for i in range(10)]
    parts = [take_shard(tasks, k, 3) for k in (1, 2, 3)]
    assert sorted(t.src.name for p in parts for t in p) == sorted(t.src.name for t in tasks)
    assert [len(p) for p in parts] == [4, 3, 3]


def test_many_inputs_two_workers_and_a_shard(tmp_path, golden_checkpoint):
    clips = [
        make_clip(tmp_path / f"clip{i}.mkv", audio=False, subtitle=None).path for i in range(3)
    ]
    out = tmp_path / "out"
    result = vsr_upscale(
        *clips, out, "--device", "cpu,cpu", "--weights", golden_checkpoint, "--json"
    )
    assert result.returncode == 0, result.stderr
    done = [e for e in _json_lines(result.stderr) if e["event"] == "done"]
    assert sorted(Path(e["output"]).name for e in done) == ["clip0.mkv", "clip1.mkv", "clip2.mkv"]
    assert all(e["frames"] == 6 for e in done)

    second = tmp_path / "second"
    result = vsr_upscale(*clips, second, "--shard", "2/2", "--weights", golden_checkpoint, "-q")
    assert result.returncode == 0, result.stderr
    expected = [t.dst.name for t in take_shard(collect(clips, second, False, None), 2, 2)]
    assert sorted(p.name for p in second.iterdir()) == expected == ["clip1.mkv"]


def test_json_events_are_the_only_thing_on_stderr(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mkv")
    result = vsr_upscale(clip.path, tmp_path / "out.mkv", "--weights", golden_checkpoint, "--json")
    assert result.returncode == 0
    events = _json_lines(result.stderr)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "warning" and "start" in kinds and kinds[-1] == "done"
    progress = [e for e in events if e["event"] == "progress"]
    assert progress and progress[-1]["frames"] == 6 == progress[-1]["total"]
    bad = vsr_upscale(
        tmp_path / "missing.mkv", tmp_path / "x.mkv", "--weights", golden_checkpoint, "--json"
    )
    assert bad.returncode == 1
    assert _json_lines(bad.stderr)[-1]["event"] == "error"


@pytest.mark.parametrize(
    ("fmt", "suffix"), [("matroska", ".mkv"), ("mp4", ".mp4"), ("mpegts", ".ts")]
)
def test_stdin_to_stdout(tmp_path, golden_checkpoint, fmt, suffix):
    clip = make_clip(tmp_path / "in.mkv", subtitle=None)
    with open(clip.path, "rb") as src:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "vsr_cli",
                "-",
                "-",
                "--format",
                fmt,
                "--weights",
                golden_checkpoint,
                "-q",
            ],
            stdin=src,
            capture_output=True,
            timeout=300,  # stdin is a pipe: not seekable
        )
    assert result.returncode == 0, result.stderr.decode()
    out = tmp_path / f"out{suffix}"
    out.write_bytes(result.stdout)  # nothing but the container's bytes on stdout
    with av.open(str(out)) as c:
        assert c.streams.video[0].width == 256 and c.streams.audio
        assert len(list(c.decode(video=0))) == 6


def test_stdout_needs_a_format(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    result = vsr_upscale(clip.path, "-", "--weights", golden_checkpoint)
    assert result.returncode == 2 and "--format" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tile", "10"], "tiles must be 0 (whole frame) or at least 64 px"),
        (["--preset", "nosuch"], "--preset: 'nosuch': libx264 refused it (invalid preset"),
        (["--no-such-option"], "No such option"),
    ],
)
def test_with_json_even_usage_errors_are_json(tmp_path, golden_checkpoint, args, message):
    """Scripts parse every stderr line: Typer's usage errors and the encoders' own
    complaints (x264 prints straight to stderr) come out as one JSON error event."""
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    out = tmp_path / "out.mkv"
    result = vsr_upscale(clip.path, out, "--weights", golden_checkpoint, "--json", *args)
    assert result.returncode == 2
    (event,) = _json_lines(result.stderr)
    assert event["event"] == "error" and message in event["message"]
    assert not out.exists()


def test_two_inputs_bound_for_one_output_are_refused_before_any_work(tmp_path):
    """a.mp4 and a.mkv with --ext mkv would both become out/a.mkv: refused at once (no
    weights are even looked for: none is reachable here)."""
    (tmp_path / "in").mkdir()
    a = make_clip(tmp_path / "in" / "a.mkv", audio=False, subtitle=None).path
    b = make_clip(tmp_path / "in" / "a.mp4", audio=False, subtitle=None).path
    env = {k: v for k, v in os.environ.items() if k != "VSR_DEBUG"}
    env |= {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    start = time.monotonic()
    result = vsr_upscale(a, b, tmp_path / "out", "--ext", "mkv", env=env)
    assert time.monotonic() - start < 30
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {a} and {b} would both be written to {tmp_path / 'out' / 'a.mkv'}"
    )
    assert not (tmp_path / "out").exists()


def test_an_output_folder_inside_the_input_folder_is_not_searched(tmp_path, golden_checkpoint):
    library = tmp_path / "clips"
    library.mkdir()
    make_clip(library / "a.mkv", audio=False, subtitle=None)
    make_clip(library / "b.vob", audio=False, subtitle=None)  # DVD names are collected too
    (library / "up").mkdir()
    (library / "up" / "old.mkv").write_bytes((library / "a.mkv").read_bytes())
    tasks = collect([library], library / "up", True, None)
    assert [t.src.name for t in tasks] == ["a.mkv", "b.vob"]
    result = vsr_upscale(
        library, library / "up", "-r", "--ext", "mkv", "--weights", golden_checkpoint, "-q"
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (library / "up").iterdir()) == ["a.mkv", "b.mkv", "old.mkv"]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupting_a_batch_on_two_devices_leaves_nothing(tmp_path, golden_checkpoint, sig, code):
    clips = [
        make_clip(
            tmp_path / f"clip{i}.mkv",
            size=(96, 64),
            pts=[40 * k for k in range(300)],
            audio=False,
            subtitle=None,
        ).path
        for i in range(2)
    ]
    out = tmp_path / "out"
    command = [sys.executable, "-m", "vsr_cli", *clips, out]
    command += ["--device", "cpu,cpu", "--weights", golden_checkpoint, "--chunk", "4", "-q"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)

    def partial() -> list:  # 12 s clips are made as pieces, in .NAME.vsr-job folders
        return list(out.glob("**/.*.part.mkv"))

    deadline = time.monotonic() + 120
    while len(partial()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)  # both workers writing
    assert len(partial()) == 2, "the workers never started writing"
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)  # the workers stop at their next chunk
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    # No output and no partial piece; each job folder stays, to resume from.
    assert not partial()
    assert sorted(p.name for p in out.iterdir()) == [".clip0.mkv.vsr-job", ".clip1.mkv.vsr-job"]


def test_one_output_into_missing_folders_makes_them_as_a_batch_does(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    out = tmp_path / "new" / "deeper" / "out.mkv"
    result = vsr_upscale(clip.path, out, "--weights", golden_checkpoint, "-q")
    assert result.returncode == 0, result.stderr
    assert frame_times(out) == frame_times(clip.path)
    blocked = tmp_path / "in.mkv" / "out.mkv"  # a file where a folder would go
    result = vsr_upscale(clip.path, blocked, "--weights", golden_checkpoint, "-q")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"error: {clip.path}: not a folder"


def test_the_api_makes_missing_folders_too(tmp_path, golden_checkpoint):
    clip = make_clip(tmp_path / "in.mkv", audio=False, subtitle=None)
    out = tmp_path / "api" / "out.mkv"
    result = upscale(clip.path, out, weights=golden_checkpoint, device="cpu")
    assert result.frames == 6 and frame_times(out) == frame_times(clip.path)


def test_a_concat_part_is_never_the_output(tmp_path, golden_checkpoint):
    a = make_clip(tmp_path / "a.ts", audio=False, subtitle=None).path
    b = make_clip(tmp_path / "b.ts", audio=False, subtitle=None).path
    before = a.read_bytes()
    result = vsr_upscale(f"concat:{a}|{b}", a, "--weights", golden_checkpoint, "-y", "-q")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"error: {a}: the output is the input"
    assert a.read_bytes() == before
