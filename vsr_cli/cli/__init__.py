"""The command line: ``vsr`` and ``vsr-upscale``."""

from vsr_cli.cli.app import upscale_main, vsr_main

__all__ = ["upscale_main", "vsr_main"]
