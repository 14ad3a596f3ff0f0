"""One build at a time per target: a lock file beside the target, held for the whole build.

A second build into the same target waits, with a message naming the process
it waits for, and runs once the first has finished, so the two never mix.  It
waits as long as it takes: the operating system releases the lock the moment
the holder exits, even after ``kill -9``, so a lock can never be stale, and
Ctrl-C stops the wait.  The lock file itself stays (deleting it would let a
third build lock a file the second is still waiting on).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

_SUFFIX = ".pip-lambda.lock"
_POLL_SECONDS = 0.2


def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}{_SUFFIX}"


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
def target_lock(target: Path) -> Iterator[Path]:
    """Hold the lock of ``target`` while inside; wait for it if another build holds it."""
    path = lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        if not _try_lock(descriptor):
            log.warning("waiting for %s to finish its build into %s (lock file %s)", _holder(descriptor), target, path)
            _wait_lock(descriptor)
            log.info("lock acquired; building into %s", target)
        os.ftruncate(descriptor, 0)
        os.lseek(descriptor, 0, os.SEEK_SET)
        os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))
        try:
            yield path
        finally:
            _unlock(descriptor)
    finally:
        os.close(descriptor)
