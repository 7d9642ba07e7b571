"""The command line: ``vsr`` and ``vsr-upscale``.

The entry points import the application themselves, so that Ctrl-C while it loads
ends as it does later: one line and exit 130, no traceback from inside an import.
"""

from __future__ import annotations

import sys
from types import ModuleType


def _app() -> ModuleType:
    try:
        from vsr_cli.cli import app
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        raise SystemExit(130) from None
    return app


def upscale_main() -> None:
    """Entry point of ``vsr-upscale``."""
    _app().upscale_main()


def vsr_main() -> None:
    """Entry point of ``vsr``."""
    _app().vsr_main()


__all__ = ["upscale_main", "vsr_main"]
