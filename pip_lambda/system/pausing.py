"""A test-only pause: the process stops at a named step until a signal arrives, so tests need no sleeps.

``_PIP_LAMBDA_PAUSE=STEP:PATH`` makes the process, each time it reaches STEP,
write ``paused PID STEP`` to PATH (a fifo, or ``/dev/fd/N`` of a pipe the test
passes in) and wait for a signal.  SIGINT, SIGTERM and SIGHUP are then handled
as they would have been at that moment (raised, or held by a shield); SIGUSR1
only resumes; SIGKILL ends the process there.  The leading underscore keeps
the variable out of the ``PIP_LAMBDA_*`` settings.  This module imports
nothing heavy: the entry point uses it before anything else is loaded.
"""

from __future__ import annotations

import os
import signal
import sys

VARIABLE = "_PIP_LAMBDA_PAUSE"


def pause_point(step: str) -> None:
    """Stop here when the test hook names ``step``; otherwise return at once."""
    wanted, _, announce = os.environ.get(VARIABLE, "").partition(":")
    if wanted != step or not announce or sys.platform == "win32":
        return
    stops = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1}
    # Blocked before the announcement, so a signal sent right after it waits for sigwait instead of being lost.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    try:
        with open(announce, "w", encoding="utf-8") as channel:
            channel.write(f"paused {os.getpid()} {step}\n")
        arrived = signal.sigwait(stops)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    if arrived != signal.SIGUSR1:
        signal.raise_signal(arrived)
