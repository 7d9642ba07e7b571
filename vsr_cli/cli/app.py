"""The ``vsr`` and ``vsr-upscale`` programs: their commands, signals, and ONE table from
errors to a line on stderr and an exit code.

Exit codes: 0 done, 1 failed, 2 usage error (before any model loads), 130
interrupted (Ctrl-C), 143 terminated (SIGTERM); either way no output file or
temporary file is left. ``VSR_DEBUG=1`` shows tracebacks instead. The CLI imports
nothing of vsr_cli but ``api``, ``config``, ``errors`` and the reporters.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
from collections.abc import Callable

import typer

from vsr_cli.cli import commands, quality, upscale
from vsr_cli.cli.help import SectionedCommand
from vsr_cli.errors import InternalError, UsageError, VsrError
from vsr_cli.events import JsonReporter, Outcome, QuietReporter

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 2, 130, 143


class _Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's time limit, ``kill``), cleaned up like Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def _silence_stdout() -> None:
    """After the reader of stdout went away: point it at /dev/null, so that Python's own
    flush at exit does not print a traceback about the broken pipe."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _closed_pipe(e: BaseException) -> str:
    _silence_stdout()
    return "the output pipe was closed before the video was complete"


def _usage(e: BaseException) -> str:
    """Typer's own parsing errors (an unknown option, a value that is not a number)."""
    return e.format_message()  # type: ignore[attr-defined]


def _is_parse_error(e: BaseException) -> bool:
    # Typer carries its own copy of Click: recognised by shape, not by import.
    return hasattr(e, "format_message") and hasattr(e, "exit_code")


# Ordered: the first row whose test matches wins, so a subclass precedes its base
# (SIGTERM's _Terminated before KeyboardInterrupt; EncoderOptionError is a UsageError
# and an OutputError, and exits 2 because UsageError comes before VsrError).
_ERRORS: tuple[tuple[Callable[[BaseException], bool], int, Callable[[BaseException], str]], ...] = (
    (lambda e: isinstance(e, _Terminated), EXIT_TERMINATED, lambda e: "terminated"),
    (lambda e: isinstance(e, KeyboardInterrupt), EXIT_INTERRUPTED, lambda e: "interrupted"),
    (lambda e: isinstance(e, UsageError), EXIT_USAGE, str),
    (_is_parse_error, EXIT_USAGE, _usage),
    (lambda e: isinstance(e, BrokenPipeError), EXIT_FAILED, _closed_pipe),
    (lambda e: isinstance(e, VsrError), EXIT_FAILED, str),
    (
        lambda e: isinstance(e, MemoryError),
        EXIT_FAILED,
        lambda e: "out of memory; try a smaller --chunk or --tile",
    ),
    (lambda e: isinstance(e, Exception), EXIT_FAILED, lambda e: str(InternalError("vsr", e))),
)


def _report(e: BaseException) -> int:
    """Say what went wrong in one line (a JSON event with ``--json``) and give the exit code;
    an error that is a bug says so and asks for a report. ``VSR_DEBUG=1`` raises every
    error instead, with its traceback."""
    row = next((r for r in _ERRORS if r[0](e)), None)
    if row is None or os.environ.get("VSR_DEBUG") == "1":
        raise e
    _, code, message = row
    said = message(e)
    if said:  # (a command run without arguments has printed its help instead)
        reporter = JsonReporter() if "--json" in sys.argv[1:] else QuietReporter()
        reporter.outcome(Outcome("", "failed", message=said))
    return code


def _guarded(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with its errors reported through the table, before Typer's own handling
    (which would turn Ctrl-C into a silent 130 and a closed pipe into a silent 1)."""

    @functools.wraps(command)
    def run(*args: object, **kwargs: object) -> None:
        try:
            command(*args, **kwargs)
        except typer.Exit:
            raise
        except BaseException as e:
            raise typer.Exit(_Said(_report(e))) from None

    return run


def _main(app: typer.Typer, prog_name: str) -> None:
    """Run ``app``; usage errors of Typer's own parsing go through the table too."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = app(prog_name=prog_name, standalone_mode=False)
    except Exception as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # `vsr` alone: the help, as --help
            print(e.format_message())  # type: ignore[attr-defined]
            code = 0
        else:
            code = _report(e)
    if code == EXIT_INTERRUPTED and not isinstance(code, _Said):
        # Ctrl-C before the command ran (while Typer parsed): Typer returns a silent 130.
        _report(KeyboardInterrupt())
    if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        _exit_now(code)
    raise SystemExit(code if isinstance(code, int) else 0)


class _Said(int):
    """An exit code whose error has been reported."""


def _exit_now(code: int) -> None:
    """Leave at once once a signal's run is cleaned up: where a C extension saw the
    KeyboardInterrupt first (torch's start-up), Python's own exit would end the process
    by SIGINT, so that the shell sees a kill instead of the documented exit code."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _app(**settings: object) -> typer.Typer:
    # Plain help (no boxes), which wraps readably at 80 columns; options under headings.
    return typer.Typer(
        add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None, **settings
    )


EXAMPLES = {
    "upscale": """Examples:

\b
  vsr-upscale in.mp4 out.mp4
  vsr-upscale film.mkv test.mkv --ss 1:02:00 -t 10  # ten seconds, to try
  vsr-upscale clips/ upscaled/ -r --skip-existing   # a folder, resumable
  vsr-upscale film.mkv film_4x.mkv --segment 3/8    # one share; vsr join
  ffmpeg -i in.mov -f nut - | vsr-upscale - - -f nut > out.nut""",
    "eval": """Examples:

\b
  vsr eval REDS4/GT --lr REDS4/sharp_bicubic
  vsr eval Vid4/GT --lr Vid4/BIx4 --json > vid4.json""",
    "compare": """Examples:

\b
  vsr compare in.mp4 out.mp4
  vsr compare in.mp4 out.mp4 --video cmp.mp4 --at 10 -t 5 --wipe""",
    "doctor": """Examples:

\b
  vsr doctor                      # paste this into a bug report
  vsr doctor --check              # does each speed lever run right here?""",
    "join": """Example:

\b
  vsr join /data/film_4x.mkv    # once every --segment K/N run has ended""",
}


COMMANDS = {
    "upscale": upscale.upscale,
    "models": commands.models,
    "download": commands.download,
    "info": commands.info,
    "bench": commands.bench,
    "join": commands.join,
    "clean": commands.clean,
    "doctor": commands.doctor,
    "eval": quality.evaluate,
    "compare": quality.compare,
}
vsr_app = _app(no_args_is_help=True, help="Video super-resolution with PSRT-recurrent.")
for name, command in COMMANDS.items():
    vsr_app.command(name, cls=SectionedCommand, epilog=EXAMPLES.get(name))(_guarded(command))


def upscale_main() -> None:
    """Entry point of ``vsr-upscale``."""
    app = _app()
    app.command(cls=SectionedCommand, epilog=EXAMPLES["upscale"])(_guarded(upscale.upscale))
    _main(app, "vsr-upscale")


def vsr_main() -> None:
    """Entry point of ``vsr``."""
    _main(vsr_app, "vsr")
