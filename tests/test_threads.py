"""Threads that share the process: encoder checks and stream probes on one thread must not
touch the process's stderr, where another thread may be writing JSON events."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cli import vsr_upscale
from media import make_clip

# One thread opens encoders (each check new, so none is answered from a cache) and writers
# whose streams are probed (SubRip into MP4 is refused, then converted); the other writes
# numbered lines to stderr the whole time. Every line must arrive.
_SCRIPT = r"""
import json, sys, threading
from pathlib import Path
from vsr_cli.api import configure
from vsr_cli.context import RunContext
from vsr_cli.errors import VsrError
from vsr_cli.events import CallbackReporter
from vsr_cli.config import EncodeSettings
from vsr_cli.video.encoder import check_encoder
from vsr_cli.video.reader import VideoReader
from vsr_cli.video.spec import OutputSpec
from vsr_cli.video.writer import VideoWriter

configure()
clip, folder = Path(sys.argv[1]), Path(sys.argv[2])
done = threading.Event()
warned = []

def work():
    context = RunContext(CallbackReporter(None, warned.append))
    reader = VideoReader(clip)  # open while writers copy its streams
    spec = OutputSpec.from_source(reader, 1)
    for i in range(12):
        check_encoder(EncodeSettings(crf=10 + i), "mp4")
        try:
            check_encoder(EncodeSettings(crf=10 + i, preset="nosuch"), "mp4")  # x264 prints
        except VsrError:
            pass
        with VideoWriter(folder / f"{i}.mp4", spec, EncodeSettings(), context):
            pass  # left unfinished: aborted
    done.set()

def talk():
    n = 0
    while not done.is_set():
        sys.stderr.write(json.dumps({"n": n}) + "\n")
        sys.stderr.flush()
        n += 1
    sys.stderr.write(json.dumps({"last": n - 1, "warnings": len(warned)}) + "\n")

threads = [threading.Thread(target=work), threading.Thread(target=talk)]
for t in threads:
    t.start()
for t in threads:
    t.join()
"""


def test_probing_encoders_and_streams_leaves_other_threads_stderr_alone(tmp_path):
    clip = make_clip(tmp_path / "in.mkv")  # with AAC audio and a SubRip subtitle
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT, clip.path, tmp_path],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [json.loads(line) for line in run.stderr.splitlines()]  # nothing else there
    *numbered, last = lines
    assert [line["n"] for line in numbered] == list(range(last["last"] + 1))  # none lost
    assert last["warnings"] == 12  # each writer said it converted the subtitles
    assert not list(Path(tmp_path).glob("*.mp4")) and not list(Path(tmp_path).glob(".*part*"))


def test_two_workers_with_json_report_every_file(tmp_path, golden_checkpoint):
    """Two devices' workers at once, each probing its outputs' streams and encoders while
    the other reports: every file's start, warning and done reach stderr, as JSON."""
    clips = [make_clip(tmp_path / f"clip{i}.mkv").path for i in range(6)]
    out = tmp_path / "out"
    result = vsr_upscale(
        *clips, out, "--device", "cpu,cpu", "--weights", golden_checkpoint, "--ext", "mp4",
        "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]
    for clip in clips:
        mine = [e["event"] for e in events if e.get("file") == str(clip)]
        assert mine[0] == "start" and mine[-1] == "done", mine
        assert "warning" in mine  # SubRip converted to mov_text for MP4
    assert events[-1]["event"] == "summary" and events[-1]["done"] == 6
    assert sorted(p.name for p in out.iterdir()) == [f"clip{i}.mp4" for i in range(6)]
