"""Which signals end a run as Ctrl-C does (SIGTERM, SIGHUP), and their handler outside an event loop.

Apart from engine.aio so that the CLI group can put it around every command without importing asyncio.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from selfinstruct.errors import Terminated

SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None)


def handled() -> list[int]:
    """The signals to handle here: none off the main thread (Python allows it only there), and not one the
    process was told to ignore (`nohup` ignores SIGHUP: a closed session must not end such a run)."""
    if threading.current_thread() is not threading.main_thread():
        return []
    return [signum for signum in SIGNALS if signal.getsignal(signum) is not signal.SIG_IGN]


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """Outside the event loop (reading inputs, starting the embedded model, a command that runs none: filter,
    stats, export...), SIGTERM and SIGHUP raise Terminated where Python would otherwise die silently; the previous
    handlers come back on exit (engine.aio.run installs its own inside and puts these back)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated(signum)

    previous = [(signum, signal.signal(signum, handler)) for signum in handled()]
    try:
        yield
    finally:
        for signum, old in previous:
            signal.signal(signum, old)
