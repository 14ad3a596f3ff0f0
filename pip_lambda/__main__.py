"""``pip-lambda`` and ``python -m pip_lambda``: a shim over :mod:`pip_lambda.cli.main`.

The first thing it does is handle the stopping signals, before the imports that
take most of the start-up time: a Ctrl-C then ends the process with one line
and its exit code, never a traceback from the middle of an import.  The command
line takes the signals over once it runs (system/signals.py).
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType


def _stop_quietly(signum: int, frame: FrameType | None) -> None:
    what = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    os.write(2, f"error: {what}; the previous package was left as it was\n".encode())
    os._exit(128 + signum)


def _handle_stops() -> None:
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    for signum in [getattr(signal, name) for name in names if hasattr(signal, name)]:
        # A signal ignored on purpose (nohup, a background job) stays ignored.
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, _stop_quietly)


def entrypoint() -> None:
    _handle_stops()
    from pip_lambda.system.pausing import pause_point

    pause_point("start")
    from pip_lambda.cli.main import main

    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
