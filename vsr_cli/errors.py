"""Errors a user can act on. Their message is the one line the CLI prints.

The CLI maps each class to an exit code in one table (``vsr_cli/cli/app.py``):
``UsageError`` (a setting that can never work) exits 2 before any model loads;
every other ``VsrError`` exits 1.
"""


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
