"""Signals turned into exceptions, child processes stopped with their group, cleanup shielded.

SIGINT raises KeyboardInterrupt; SIGTERM and SIGHUP raise Terminated, so the
same ``except BaseException`` cleanup runs for all three.  A child (pip) runs
in a process group of its own: a signal sent to pip-lambda alone (as CI runners
do) still stops pip, which gets SIGINT first so that it removes its own
temporary folders, then SIGKILL if it does not exit.  What a stop leaves
behind is recorded here too (note_replaced), so its message is true.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import IO, Any

log = logging.getLogger(__name__)

GRACE_SECONDS = 10.0
"""How long a child gets to clean up after SIGINT before it is killed."""


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived; like KeyboardInterrupt, not an Exception, so no handler swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def _stopping_signals() -> list[signal.Signals]:
    return [signal.SIGTERM] if sys.platform == "win32" else [signal.SIGTERM, signal.SIGHUP]


@contextmanager
def _handled(signums: Iterable[int], handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """Route ``signums`` to ``handler`` while inside (main thread only; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # A signal ignored on purpose (nohup ignores SIGHUP) stays ignored.
    watched = [signum for signum in signums if signal.getsignal(signum) != signal.SIG_IGN]
    previous = {signum: signal.signal(signum, handler) for signum in watched}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextmanager
def signals_raise() -> Iterator[None]:
    """While inside, SIGINT raises KeyboardInterrupt and SIGTERM/SIGHUP raise Terminated."""
    with _handled([signal.SIGINT], signal.default_int_handler), _handled(_stopping_signals(), _raise):
        yield


_replaced: list[str] = []


def note_replaced(what: str) -> None:
    """Record that a new package (``what`` names its folder and zip) is in place, for the message of a later stop."""
    _replaced.append(what)


def forget_replacements() -> None:
    _replaced.clear()


def stop_outcome() -> str:
    """What a stop leaves behind, as the end of its message."""
    if not _replaced:
        return "the previous package was left as it was"
    if len(_replaced) == 1:
        return f"the new package is in place ({_replaced[0]})"
    return f"the new packages are in place ({'; '.join(_replaced)}); any other was left as it was"


@contextmanager
def shielded() -> Iterator[None]:
    """Hold off SIGINT/SIGTERM/SIGHUP during cleanup; one that arrives is raised when the cleanup ends."""
    arrived: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        arrived.append(signum)

    with _handled([signal.SIGINT, *_stopping_signals()], hold):
        yield
    if arrived:
        raise KeyboardInterrupt if arrived[0] == signal.SIGINT else Terminated(arrived[0])


def child_options() -> dict[str, Any]:
    """Popen keyword arguments that give the child a process group of its own."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def run_child(
    command: Sequence[str],
    environment: Mapping[str, str],
    line: Callable[[str], None],
    *,
    cwd: Path | None = None,
    stdout: IO[str] | None = None,
) -> int:
    """Run a child (pip, uv, poetry) in a process group of its own; its exit code.

    Each line it prints goes to ``line`` as it comes: stdout and stderr merged,
    or stderr alone when ``stdout`` takes the output.  An interrupt (Ctrl-C,
    SIGTERM) stops the child and everything it started before it propagates.
    """
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(environment),
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.STDOUT if stdout is None else subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        encoding="utf-8",
        errors="replace",
        **child_options(),
    )
    lines = process.stdout if stdout is None else process.stderr
    assert lines is not None
    try:
        for raw in lines:
            line(raw.rstrip("\r\n"))
        return process.wait()
    except BaseException:
        stop_child(process)
        raise
    finally:
        lines.close()


def stop_child(process: subprocess.Popen[str]) -> None:
    """Stop a child started with child_options() and everything it started; wait until it is gone."""
    if process.poll() is not None:
        return
    with shielded():
        log.debug("stopping pip (process %d)", process.pid)
        _signal_group(process, interrupt=True)
        try:
            process.wait(GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(process, interrupt=False)
            process.wait()
        if sys.platform != "win32":
            _kill_leftovers(process.pid)


def _signal_group(process: subprocess.Popen[str], *, interrupt: bool) -> None:
    if sys.platform == "win32":
        if interrupt:
            process.send_signal(signal.CTRL_BREAK_EVENT)
        else:
            process.kill()
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT if interrupt else signal.SIGKILL)


def _kill_leftovers(group: int) -> None:
    """Grandchildren (a build backend) may outlive pip; the group goes with it."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
