"""Running the real command line in a subprocess, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys


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
