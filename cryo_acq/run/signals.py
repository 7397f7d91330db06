"""Ctrl-C and SIGTERM, routed to whoever is running (a run, a sequence) while it runs."""

from __future__ import annotations

import signal
import threading
from typing import Callable


def on_stop_signals(handler: Callable[[str], None]) -> Callable[[], None]:
    """While installed, SIGINT and SIGTERM call ``handler(signal name)`` instead of
    interrupting; returns the function that restores the previous handlers. Outside the
    main thread (the GUI's worker) signals cannot be caught: nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {}

    def route(signum, frame):
        handler(signal.Signals(signum).name)

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, route)
    return lambda: [signal.signal(sig, h) for sig, h in previous.items()]
