"""The terminal: colour when it is one, a live status line for long steps, aligned tables.

Colour follows the usual conventions: never when ``NO_COLOR`` is set (to
anything but the empty string), always when ``FORCE_COLOR`` is, otherwise only
on a terminal that is not ``TERM=dumb``.  The status line appears only on a
terminal outside CI; in logs and pipes each step is one plain line.  The status
line is drawn with carriage returns and spaces, never escape codes, so
``NO_COLOR`` output is free of them.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import Mapping
from typing import TextIO

from pip_lambda.system.redact import RedactingFilter

log = logging.getLogger("pip_lambda")

_STYLES = {"bold": "1", "red": "31", "green": "32", "yellow": "33", "dim": "2"}
_LEVEL_STYLES = {logging.WARNING: "yellow", logging.ERROR: "red", logging.CRITICAL: "red"}
_SPINNER = "|/-\\"


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def is_terminal(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    try:
        return stream.isatty() and _environ(environ).get("TERM") != "dumb"
    except ValueError:  # a closed stream
        return False


def use_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    env = _environ(environ)
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return is_terminal(stream, env)


def live_status(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a redrawn status line suits the stream: a terminal, and not a CI log."""
    return is_terminal(stream, environ) and not _environ(environ).get("CI")


def paint(text: str, style: str, enabled: bool) -> str:
    return f"\x1b[{_STYLES[style]}m{text}\x1b[0m" if enabled and text else text


class TerminalHandler(logging.Handler):
    """Log records on a stream: ``warning:``/``error:`` prefixes, coloured when allowed.

    With ``live``, an INFO record is a step in progress: a status line with a
    spinner and the elapsed time, redrawn until the next record (or ``flush``)
    ends the step and leaves one line with its duration.
    """

    def __init__(self, stream: TextIO, *, colour: bool, live: bool, interval: float = 0.1) -> None:
        super().__init__()
        self.stream = stream
        self.colour = colour
        self.live = live
        self.interval = interval
        self._step: str | None = None
        self._started = 0.0
        self._width = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._write_lock = threading.Lock()

    def format_line(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno < logging.WARNING:
            return message
        prefix = f"{record.levelname.lower()}:"
        return f"{paint(prefix, _LEVEL_STYLES.get(record.levelno, 'red'), self.colour)} {message}"

    def emit(self, record: logging.LogRecord) -> None:
        if self.live and getattr(record, "progress", False):
            return  # the spinner and its clock already show that the step goes on; progress lines are for logs
        try:
            self.flush()
            if self.live and record.levelno == logging.INFO:
                self._begin(record.getMessage())
            else:
                self._write(self.format_line(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must never break the build
            self.handleError(record)

    def _write(self, text: str) -> None:
        with self._write_lock:
            self.stream.write(text)
            self.stream.flush()

    def _draw(self, frame: str) -> None:
        line = f"{frame} {self._step} ({time.monotonic() - self._started:.0f}s)"
        self._write("\r" + line.ljust(self._width))
        self._width = len(line)

    def _begin(self, step: str) -> None:
        self._step, self._started, self._width = step, time.monotonic(), 0
        self._stop.clear()
        self._draw(_SPINNER[0])
        self._thread = threading.Thread(target=self._spin, name="pip-lambda-status", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        for frame in itertools.cycle(_SPINNER[1:] + _SPINNER[0]):
            if self._stop.wait(self.interval):
                return
            self._draw(frame)

    def flush(self) -> None:
        """End the step in progress, if any, leaving one line with its duration."""
        if self._step is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        line = f"{self._step} ({time.monotonic() - self._started:.1f}s)"
        self._write("\r" + line.ljust(self._width) + "\n")
        self._step, self._thread = None, None

    def close(self) -> None:
        self.flush()
        super().close()


def configure_logging(verbosity: int) -> None:
    """-v shows debug lines, -q hides progress, -qq hides warnings too."""
    level = {1: logging.DEBUG, 0: logging.INFO, -1: logging.WARNING}.get(
        verbosity, logging.DEBUG if verbosity > 0 else logging.ERROR
    )
    for old in log.handlers:
        old.close()
    # pip streams its own output with -v, so the live status line is for the default verbosity only.
    live = verbosity == 0 and live_status(sys.stderr)
    handler = TerminalHandler(sys.stderr, colour=use_colour(sys.stderr), live=live)
    handler.addFilter(RedactingFilter())
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def end_status() -> None:
    """End the live status line, if one is drawn, before printing anything else."""
    for handler in log.handlers:
        handler.flush()
