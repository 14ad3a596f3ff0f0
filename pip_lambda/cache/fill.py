"""Make sure the wheels a build installs are in the store: each missing one fetched once, by one pip process.

Which wheels: a selection given to the build (a lock, a shared layer), the
hashed requirement lines when they decide everything (cache/locked.py: no
resolver, and no pip at all when the store has every wheel), or pip's
resolution.  An empty store is filled by one resolving ``pip download``; a
store that holds wheels already is asked first, through pip's dry run, so
that only what it lacks is downloaded (see pip/fetch.py for the measurements).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from pip_lambda.cache import locked, store
from pip_lambda.cache.request import CacheRequest
from pip_lambda.cache.store import StoredWheel, StoreMiss
from pip_lambda.pip.fetch import copy_local, fetch_pinned, fetch_resolved, hashed_line, local_file, pin
from pip_lambda.pip.requirements import RequirementSet
from pip_lambda.pip.resolve import NotWheelFiles, resolve
from pip_lambda.plan.selection import PIP, Selection, Wheel

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _scratch(root: Path) -> Iterator[Path]:
    """A folder for downloads beside the entries, so a wheel file moves into its entry without a copy."""
    (root / "wheels").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".tmp-fetch-", dir=root / "wheels") as scratch:
        yield Path(scratch)


def _add_all(root: Path, request: CacheRequest, files: Sequence[Path], added: list[str]) -> list[StoredWheel]:
    return [store.add(root, file, request.target.runtime.python_version, added) for file in files]


def from_selection(
    root: Path, request: CacheRequest, found: RequirementSet, selection: Selection, added: list[str]
) -> list[StoredWheel]:
    """The store's entries for every wheel of ``selection``, the missing ones downloaded pinned, in one pip process."""
    entries = {wheel.sha256: store.checked(root, wheel.sha256) for wheel in selection.wheels}
    missing = [wheel for wheel in selection.wheels if entries[wheel.sha256] is None]
    if missing:
        log.debug("fetching %s", ", ".join(f"{wheel.name}=={wheel.version}" for wheel in missing))
        local = {wheel.sha256: path for wheel in missing if (path := local_file(wheel)) is not None}
        remote = [wheel for wheel in missing if wheel.sha256 not in local]
        with _scratch(root) as scratch:
            files = [copy_local(wheel, local[wheel.sha256], scratch) for wheel in missing if wheel.sha256 in local]
            if remote:
                files += fetch_pinned(
                    request.target,
                    request.pip_args.passthrough,
                    request.pip_args.platforms,
                    found,
                    [pin(wheel) for wheel in remote],
                    scratch,
                    stream=request.verbose,
                )
            entries.update((entry.sha256, entry) for entry in _add_all(root, request, files, added))
    return [_found(entries, wheel) for wheel in selection.wheels]


def _found(entries: dict[str, StoredWheel | None], wheel: Wheel) -> StoredWheel:
    entry = entries.get(wheel.sha256)
    if entry is None:
        raise StoreMiss(f"pip did not download {wheel.filename} (sha256 {wheel.sha256})")
    return entry


def resolved(
    root: Path, request: CacheRequest, found: RequirementSet, added: list[str]
) -> tuple[Selection, list[StoredWheel]]:
    """pip's resolution of the build's requirements, and the store's entries for it.

    StoreMiss when pip would install something that is not a wheel file;
    PipFailedError when pip cannot resolve or download.
    """
    if not store.is_empty(root):
        try:
            selection = resolve(request.target, request.pip_args)
        except NotWheelFiles as why:
            raise StoreMiss(str(why)) from None
        return selection, from_selection(root, request, found, selection, added)
    with _scratch(root) as scratch:
        files = fetch_resolved(
            request.target, request.pip_args.passthrough, request.pip_args.platforms, scratch, stream=request.verbose
        )
        entries = _add_all(root, request, files, added)
    wheels = sorted((entry.wheel() for entry in entries), key=lambda wheel: wheel.name)
    return Selection(tuple(wheels), PIP), entries


def from_lines(
    root: Path, request: CacheRequest, found: RequirementSet, lines: Sequence[locked.Line], added: list[str]
) -> tuple[Selection, list[StoredWheel]] | None:
    """The wheels hashed requirement lines pin, from the store; the lines it lacks downloaded by one pip process.

    None when the chosen wheels do not make a whole installation as pip would
    check it (a dependency not listed, a Requires-Python the target fails):
    pip then says why.
    """
    chosen, missing = locked.choose(root, lines, request.target, request.pip_args.platforms)
    if missing:
        with _scratch(root) as scratch:
            files = fetch_pinned(
                request.target,
                request.pip_args.passthrough,
                request.pip_args.platforms,
                found,
                [hashed_line(line.line) for line in missing],
                scratch,
                stream=request.verbose,
            )
            _add_all(root, request, files, added)
        chosen, missing = locked.choose(root, lines, request.target, request.pip_args.platforms)
        if missing:
            raise StoreMiss(f"pip did not download a wheel for {missing[0].line.text}")
    if not locked.complete(chosen, lines, request.target, request.pip_args):
        return None
    wheels = tuple(sorted((line.wheel(entry) for line, entry in chosen), key=lambda wheel: wheel.name))
    return Selection(wheels, ", ".join(found.sources)), [entry for _, entry in chosen]
