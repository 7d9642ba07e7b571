"""Errors a user can act on. Their message is the one line the CLI prints.

The CLI maps each class to an exit code in one table (``vsr_cli/cli/app.py``):
``UsageError`` (a setting that can never work) exits 2 before any model loads;
every other ``VsrError`` exits 1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class VsrError(Exception):
    """Base of every error whose message is meant for the user, not a traceback."""


class UsageError(VsrError):
    """A setting that cannot work, whatever the input: found before any work is done."""


class CheckpointError(VsrError):
    """A weights file that can't be read, or isn't a PSRT-recurrent checkpoint."""


class InputError(VsrError):
    """An input that is missing, unreadable, not a video, or broken."""


class NoVideoStreamError(InputError):
    """A readable file without a video stream (audio only, say): a batch skips it."""


class OutputError(VsrError):
    """An output that can't or mustn't be written (exists, same as input, unsupported)."""


class WeightsError(VsrError):
    """A model that can't be found, downloaded or verified."""


class EncoderOptionError(OutputError, UsageError):
    """An encoder option the encoder refuses: a usage error that names the option."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


class OutOfMemory(VsrError):
    """The device ran out of memory even with the smallest tiles."""


class MissingExtraError(VsrError):
    """A command needs an optional dependency (``pip install 'vsr-cli[eval]'``)."""


@contextlib.contextmanager
def bugs_named(subject: str) -> Iterator[None]:
    """Inside: an error that is none of ours (nor an interrupt, a closed pipe or a full
    memory, which the CLI says in its own words) is a bug about ``subject``."""
    try:
        yield
    except (VsrError, BrokenPipeError, MemoryError):
        raise
    except Exception as e:
        raise InternalError(subject, e) from e


class InternalError(VsrError):
    """A bug, not a condition of the input: an error none of our checks expected (a
    dependency whose API moved, say). Said in one line that asks for a report."""

    def __init__(self, subject: str, error: BaseException) -> None:
        where = _where(error)
        super().__init__(
            f"{subject}: internal error ({type(error).__name__}: {error}{where}); please "
            "report it with the traceback that VSR_DEBUG=1 shows"
        )


def _where(error: BaseException) -> str:
    """``, at video/hdr.py:32``: the deepest line of vsr_cli the error passed through."""
    trace, found = error.__traceback__, ""
    while trace is not None:
        path = trace.tb_frame.f_code.co_filename.replace("\\", "/")
        if "/vsr_cli/" in path:
            found = f", at {path.rsplit('/vsr_cli/', 1)[1]}:{trace.tb_lineno}"
        trace = trace.tb_next
    return found
