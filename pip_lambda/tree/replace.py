"""Putting a new package in place: its folder and its zip replace the old ones together, or neither does.

Both new parts are complete before either moves: the staging folder beside the
target, and the zip in a temporary file beside the output.  Then, with SIGINT,
SIGTERM and SIGHUP held off until the end (a stop that arrives meanwhile is
raised afterwards, and its message says the new package is in place), the new
folder is recorded in pip-lambda's state as one it made (system/state.py), a
journal naming both parts is written beside the target and flushed to disk,
and the staging folder's marker is taken out (the journal vouches for it now,
and nothing of pip-lambda's may end up in a target); then:

1. the new folder takes the target's place: on Linux one atomic exchange of
   the two folders (renameat2 with RENAME_EXCHANGE), so there is no moment
   without a target; elsewhere, or on a file system without it, the old
   target is renamed away and the new one renamed in;
2. the temporary zip is renamed over the old zip (skipped when the old zip
   has the same bytes, so its mtime stays and make sees no change);
3. the old folder is deleted (found by its identity in the journal), then the
   journal, and the state keeps only the folder now in place.

A rename that fails undoes the ones before it.  ``kill -9`` cannot be held
off: the next build of the target calls recover() under its lock, before
anything else, and finishes the replacement from the journal, or undoes it
when a new part is missing.  The journal guards against a process that dies,
not against a machine that loses power: the new files are not flushed to disk
one by one.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from pip_lambda.archive.writer import holds
from pip_lambda.errors import EnvironmentProblem
from pip_lambda.system.pausing import pause_point
from pip_lambda.system.signals import note_replaced, shielded
from pip_lambda.system.state import Made, expect, identity, settle
from pip_lambda.tree.journal import Journal, NewZip, journal_path, read_journal, remove_journal, write_journal
from pip_lambda.tree.staging import MARKER, RETIRED, check_target, is_marked, remove_ours, remove_tree, unmark

log = logging.getLogger(__name__)


def describe(target_dir: Path, output: Path | None) -> str:
    return f"{target_dir} and {output}" if output is not None else str(target_dir)


def put_in_place(target_dir: Path, staging: Path, output: Path | None, new_zip: NewZip | None) -> None:
    """Replace ``target`` with the finished ``staging`` folder and ``output`` with ``new_zip``, both or neither.

    Takes the staging folder and the temporary zip over: when it returns or
    raises they are gone, unless a journal keeps them for the next build.
    """
    try:
        pause_point("staged")
        if target_dir.exists():  # again: what is in the folder may have changed while the build ran
            check_target(target_dir, output=output)
        if new_zip is not None and holds(new_zip.output, new_zip.size, new_zip.sha256):
            new_zip.temporary.unlink()
            new_zip = None
        new_tree = identity(staging)
        if new_tree is None:
            raise FileNotFoundError(errno.ENOENT, "the new folder is gone", str(staging))
        made = Made(new_tree, frozenset(child.name for child in staging.iterdir() if child.name != MARKER))
        retired = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}{RETIRED}", dir=target_dir.parent))
        retired.rmdir()  # only the unique name is wanted
        journal = Journal(target_dir, staging, retired, new_tree, identity(target_dir), new_zip, os.getpid())
    except BaseException:
        with shielded():
            discard(staging, new_zip)
        raise
    with shielded():
        try:
            expect(target_dir, made)
            write_journal(journal)
            unmark(staging)
        except BaseException:
            remove_journal(journal)
            discard(staging, new_zip)
            raise
        pause_point("journal")
        try:
            _forward(journal)
        except OSError as failure:
            try:
                _backward(journal)
            except OSError:
                raise EnvironmentProblem(
                    f"cannot put the new package in place ({failure}), nor the previous one back",
                    hint=f"the next pip-lambda build of {target_dir} finishes or undoes the replacement",
                ) from None
            remove_journal(journal)
            raise
        note_replaced(describe(target_dir, output))
        _finish(journal)


def discard(staging: Path | None, new_zip: NewZip | None) -> None:
    """Delete a new package that will not be put in place (its staging folder still marked)."""
    if staging is not None:
        remove_ours(staging)
    if new_zip is not None:
        new_zip.temporary.unlink(missing_ok=True)


def recover(target_dir: Path) -> None:
    """Settle a replacement that a killed build left halfway (call with the target's lock held)."""
    path = journal_path(target_dir)
    if not path.is_file():
        return
    journal = read_journal(path, target_dir)
    if journal is None:
        log.warning("removing %s: it is not a journal pip-lambda can read", path)
        path.unlink()
        return
    with shielded():
        try:
            _forward(journal)
            done = "finished"
        except OSError as why:
            log.debug("cannot finish the interrupted replacement: %s", why)
            try:
                _backward(journal)
            except OSError as failure:
                raise EnvironmentProblem(
                    f"cannot settle the replacement of {target_dir} that process {journal.pid} left halfway: {failure}",
                    hint=f"put the folder to keep at {target_dir}, delete {path}, and build again",
                ) from None
            done = "undid"
        _finish(journal)
    zipped = journal.zip.output if journal.zip else None
    log.warning(
        "%s the replacement of %s that process %d began before it was stopped",
        done,
        describe(target_dir, zipped),
        journal.pid,
    )


def output_of_pending(target_dir: Path) -> Path | None:
    """The zip an interrupted replacement of ``target`` was writing, if any: its lock is needed to recover."""
    path = journal_path(target_dir)
    journal = read_journal(path, target_dir) if path.is_file() else None
    return journal.zip.output if journal is not None and journal.zip is not None else None


# --- the steps ------------------------------------------------------------------------------


def _forward(journal: Journal) -> None:
    """New folder in the target's place, then the new zip in the output's place."""
    target_dir, new_zip = journal.target_dir, journal.zip
    if (
        new_zip is not None
        and not new_zip.temporary.is_file()
        and not holds(new_zip.output, new_zip.size, new_zip.sha256)
    ):
        raise FileNotFoundError(errno.ENOENT, "the new zip is gone", str(new_zip.temporary))
    new = _find(journal, journal.new_tree)
    if new is None:
        raise FileNotFoundError(errno.ENOENT, "the new folder is gone", str(journal.staging))
    if new != target_dir:
        if _find(journal, journal.old_tree) != target_dir:
            new.rename(target_dir)  # the old target is already away, or there was none
        elif not _exchange(new, target_dir):
            target_dir.rename(journal.retired)
            pause_point("target-retired")
            new.rename(target_dir)
        pause_point("target-replaced")
    if new_zip is not None and new_zip.temporary.is_file():
        new_zip.temporary.replace(new_zip.output)
        pause_point("zip-replaced")


def _backward(journal: Journal) -> None:
    """The old folder back in the target's place, the new folder and zip deleted; the old zip was never touched."""
    target_dir = journal.target_dir
    new, old = _find(journal, journal.new_tree), _find(journal, journal.old_tree)
    if new == target_dir:
        if old is not None and _exchange(old, target_dir):
            new = old
        else:
            new = journal.retired if old == journal.staging else journal.staging
            target_dir.rename(new)
    if old is not None and old != target_dir and new != old:
        old.rename(target_dir)
    if new is not None:
        remove_tree(new)  # found by the journal's identity: its marker may be gone already
    if journal.zip is not None:
        journal.zip.temporary.unlink(missing_ok=True)


def _finish(journal: Journal) -> None:
    """Delete the folder that lost (the journal says which), then the journal; the state keeps the winner."""
    for leftover in (journal.staging, journal.retired):
        found = identity(leftover)
        if found is not None and found != journal.new_tree and (found == journal.old_tree or is_marked(leftover)):
            remove_tree(leftover)
    pause_point("old-removed")
    remove_journal(journal)
    settle(journal.target_dir)


# --- folders found by identity, swapped in one step where possible ---------------------------


def _find(journal: Journal, wanted: tuple[int, int] | None) -> Path | None:
    if wanted is None:
        return None
    return next(
        (place for place in (journal.target_dir, journal.staging, journal.retired) if identity(place) == wanted), None
    )


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders in one step (Linux renameat2, RENAME_EXCHANGE); False where that is not available."""
    exchange = _renameat2()
    if exchange is None:
        return False
    failure = exchange(os.fsencode(first), os.fsencode(second))
    if failure in (0, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return failure == 0  # an old kernel or a file system without exchange: rename twice instead
    raise OSError(failure, os.strerror(failure), str(first), None, str(second))


@functools.cache
def _renameat2() -> Callable[[bytes, bytes], int] | None:
    if sys.platform != "linux":
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2  # glibc 2.28+, musl 1.2.2+
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2

    def exchange(first: bytes, second: bytes) -> int:
        """0, or the errno of the failure."""
        return 0 if function(at_fdcwd, first, at_fdcwd, second, rename_exchange) == 0 else ctypes.get_errno()

    return exchange
