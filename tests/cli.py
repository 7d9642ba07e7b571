"""Running the real command line in a subprocess, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys

import av


def vsr_upscale(
    *args: object, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "vsr_cli"], args, timeout, env)


def vsr(
    *args: object, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """The ``vsr`` command (subcommands: eval, compare, models, ...)."""
    command = [sys.executable, "-c", "from vsr_cli.cli import vsr_main; vsr_main()"]
    return _run(command, args, timeout, env)


def upscale_file(
    src: object, dst: object, weights: object, *options: object
) -> subprocess.CompletedProcess:
    """``vsr-upscale SRC DST --weights WEIGHTS -q OPTIONS``, which never shows a traceback."""
    result = vsr_upscale(src, dst, "--weights", weights, "-q", *options)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def warnings_in(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


def decoded_frames(path: object) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def _run(
    command: list[str], args: tuple[object, ...], timeout: float, env: dict[str, str] | None
) -> subprocess.CompletedProcess:
    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "VSR_DEBUG"}
    return subprocess.run(
        [*command, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )
