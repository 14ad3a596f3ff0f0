"""One build at a time per target and per zip: a lock file for each, held for the whole build.

A second build into the same target, or writing the same zip, waits, with a
message naming the process it waits for, and runs once the first has
finished, so the two never mix.  It waits as long as it takes: the operating
system releases the lock the moment the holder exits, even after ``kill -9``,
so a lock can never be stale, and Ctrl-C stops the wait.  The lock files live in
pip-lambda's state folder (system/state.py), named after the real path of the
target or zip, never beside them: a deploy tool zips that folder as it is.  A
lock file stays (deleting it would let a third build lock a file the second is
still waiting on).  A build takes its target's lock first, then its zips' locks in
the order of their paths, so two builds never wait for each other in a circle.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from pip_lambda.system.state import lock_file

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.2

if sys.platform == "win32":
    import msvcrt

    def _try_lock(descriptor: int) -> bool:
        os.lseek(descriptor, 0, os.SEEK_SET)
        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _wait_lock(descriptor: int) -> None:
        while not _try_lock(descriptor):
            time.sleep(_POLL_SECONDS)

    def _unlock(descriptor: int) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(descriptor: int) -> bool:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _wait_lock(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_EX)

    def _unlock(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)


def _holder(descriptor: int) -> str:
    try:
        os.lseek(descriptor, 0, os.SEEK_SET)
        text = os.read(descriptor, 64).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"process {text}" if text.isdigit() else "another process"


@contextmanager
def target_lock(target_dir: Path) -> Iterator[Path]:
    """Hold the lock of the target folder while inside; wait for it if another build holds it."""
    with _locked(target_dir, f"its build into {target_dir}") as path:
        yield path


@contextmanager
def zip_locks(outputs: Iterable[Path]) -> Iterator[None]:
    """Hold the locks of these zips (taken in the order of their paths, after the target's) while inside."""
    unique = {output.resolve(): output for output in outputs}
    with ExitStack() as stack:
        for key in sorted(unique):
            stack.enter_context(_locked(unique[key], f"its build of {unique[key]}"))
        yield


@contextmanager
def _locked(subject: Path, doing: str) -> Iterator[Path]:
    path = lock_file(subject)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        if not _try_lock(descriptor):
            log.warning("waiting for %s to finish %s (lock file %s)", _holder(descriptor), doing, path)
            _wait_lock(descriptor)
            log.info("lock acquired; going on with %s", subject)
        os.ftruncate(descriptor, 0)
        os.lseek(descriptor, 0, os.SEEK_SET)
        os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))
        try:
            yield path
        finally:
            _unlock(descriptor)
    finally:
        os.close(descriptor)
