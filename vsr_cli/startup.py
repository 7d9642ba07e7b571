"""Loading torch, which happens when work begins (never for help, ``info`` and the like).

Ctrl-C during ``import torch`` can land inside torch's C++ start-up, where a Python
exception cannot unwind: the process aborts ("terminate called after throwing an
instance of 'pybind11::error_already_set'") or dies by the signal, with no cleanup and
no one-line message. So the signals wait until the import is done, then arrive.
"""

from __future__ import annotations

import importlib
import signal
import sys
import threading

_HELD = (signal.SIGINT, signal.SIGTERM)


def load_torch() -> None:
    """Import torch, with Ctrl-C and SIGTERM held until it is loaded."""
    if "torch" in sys.modules or threading.current_thread() is not threading.main_thread():
        importlib.import_module("torch")
        return
    arrived: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: arrived.append(signum)) for s in _HELD}
    try:
        importlib.import_module("torch")
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    for signum in arrived[:1]:
        signal.raise_signal(signum)
