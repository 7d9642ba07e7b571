"""Running the real command line: in this process, as the entry points run (argv, stdin,
stdout, stderr and the exit code all as a shell sees them), or in a subprocess where the
process itself is what is tested, or where ``env`` must hold from the start (the Hub's
settings are read when huggingface_hub is imported)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator

import av

from vsr_cli.cli import upscale_main, vsr_main


def vsr_upscale(
    *args: object, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    if env is not None:
        return _subprocess([sys.executable, "-m", "vsr_cli"], args, timeout, env)
    return _in_process(upscale_main, "vsr-upscale", args)


def vsr(
    *args: object, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """The ``vsr`` command (subcommands: eval, compare, models, ...)."""
    if env is not None:
        command = [sys.executable, "-c", "from vsr_cli.cli import vsr_main; vsr_main()"]
        return _subprocess(command, args, timeout, env)
    return _in_process(vsr_main, "vsr", args)


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


def _in_process(
    main: Callable[[], None], program: str, args: tuple[object, ...]
) -> subprocess.CompletedProcess:
    argv = [program, *map(str, args)]
    stdout, stderr = io.BytesIO(), io.StringIO()
    code: object = 0
    with _as_a_process(argv, stdout, stderr):
        try:
            main()
        except SystemExit as e:
            code = e.code
    text = stdout.getvalue().decode("utf-8", errors="replace")
    return subprocess.CompletedProcess(argv, _exit_status(code), text, stderr.getvalue())


@contextlib.contextmanager
def _as_a_process(argv: list[str], stdout: io.BytesIO, stderr: io.StringIO) -> Iterator[None]:
    """argv, an empty stdin, captured stdout (with a byte ``buffer``) and stderr, no
    VSR_DEBUG; the SIGTERM handler the CLI installs is put back after."""
    saved = sys.argv, sys.stdin, sys.stdout, sys.stderr, signal.getsignal(signal.SIGTERM)
    debug = os.environ.pop("VSR_DEBUG", None)
    with open(os.devnull) as empty:
        sys.argv, sys.stdin = argv, empty
        text = io.TextIOWrapper(stdout, encoding="utf-8", write_through=True)
        sys.stdout, sys.stderr = text, stderr
        try:
            yield
        finally:
            text.flush()
            text.detach()  # the bytes stay readable
            sys.argv, sys.stdin, sys.stdout, sys.stderr, handler = saved
            signal.signal(signal.SIGTERM, handler)
            if debug is not None:
                os.environ["VSR_DEBUG"] = debug


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def _subprocess(
    command: list[str], args: tuple[object, ...], timeout: float, env: dict[str, str]
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*command, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={k: v for k, v in env.items() if k != "VSR_DEBUG"},
        stdin=subprocess.DEVNULL,
    )
