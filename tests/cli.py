"""Running the real command line in a subprocess, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys


def vsr_upscale(
    *args: object, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "VSR_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "vsr_cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )
