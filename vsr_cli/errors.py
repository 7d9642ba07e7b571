"""Errors a user can act on. Their message is the one line the CLI prints."""


class VsrError(Exception):
    """Base of every error whose message is meant for the user, not a traceback."""


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


class EncoderOptionError(OutputError):
    """An encoder option the encoder refuses: a usage error that names the option."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


class MissingExtraError(VsrError):
    """A command needs an optional dependency (``pip install 'vsr-cli[eval]'``)."""
