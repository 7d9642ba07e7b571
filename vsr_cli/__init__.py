"""vsr-cli: video super-resolution with PSRT-recurrent, from the command line."""

from vsr_cli.api import load_engines, upscale
from vsr_cli.models.psrt import PSRTRecurrent
from vsr_cli.weights import read_checkpoint

__version__ = "0.1.0"
__all__ = ["PSRTRecurrent", "__version__", "load_engines", "read_checkpoint", "upscale"]
