"""Ctrl-C around the AWS calls that clean up after a Ctrl-C.

When a deploy or a release is interrupted, Lift makes a few calls that put AWS back in a known
state (cancel the stack update, delete the unexecuted change set, put the alias back on the old
version, write the deployment record). A second Ctrl-C must not cut one of those calls in half, so
they run with SIGINT (and SIGTERM) held: a signal meanwhile is remembered, not raised
(`held.pressed` says so). Only the main thread receives signals; elsewhere this does nothing.

`terminate_as_interrupt()` makes SIGTERM (a cancelled CI job, `kill`) interrupt like Ctrl-C, so
the same cleanup runs instead of the process dying mid-deploy.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Held", "holding_interrupts", "terminate_as_interrupt"]


@dataclass
class Held:
    pressed: bool = False


@contextmanager
def holding_interrupts() -> Iterator[Held]:
    """Run the block with Ctrl-C (SIGINT) held; the previous handler is back afterwards."""
    held = Held()
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def remember(signum: int, frame: object) -> None:
        held.pressed = True

    previous = {signum: signal.signal(signum, remember) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield held
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def terminate_as_interrupt() -> None:
    """From now on SIGTERM raises KeyboardInterrupt in the main thread, as Ctrl-C does."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
