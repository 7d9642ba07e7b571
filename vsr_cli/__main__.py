"""``python -m vsr_cli`` is ``vsr-upscale``."""

from vsr_cli.cli import upscale_main

upscale_main()
