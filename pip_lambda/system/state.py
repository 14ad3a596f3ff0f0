"""pip-lambda's own state, kept away from every package: which folders it made, and where builds lock.

Deploy tools zip a folder as it is (SAM's ``$(ARTIFACTS_DIR)``, CDK's
``Code.fromAsset(folder)``), so nothing of pip-lambda's may live inside a target
or beside it.  What used to be a marker file in the target is a record here:
for each target, by its real path, the identity (device, inode) of each folder
pip-lambda put there and the top-level names it put in it.  A folder is
vouched for when its identity is recorded and it still holds one of those
names (an inode number can be reused by a folder made after ours was deleted;
that folder would have to hold a name of our package too).  The locks of
builds live here as well, one file per target or zip path.

The folder is the user state folder (``~/.local/state/pip-lambda`` on Linux),
or ``PIP_LAMBDA_STATE_DIR``; not the cache folder, which ``cache purge`` empties.
Records are written to a temporary name and renamed, so a reader sees a whole
record or none; a record that cannot be read vouches for nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pip_lambda.errors import EnvironmentProblem

log = logging.getLogger(__name__)

STATE_VARIABLE = "PIP_LAMBDA_STATE_DIR"
_VERSION = 1

Identity = tuple[int, int]
"""A folder's device and inode numbers (of the folder itself, never a link's target)."""


def state_root() -> Path:
    """``PIP_LAMBDA_STATE_DIR``, else the user state folder (platformdirs: ~/.local/state/pip-lambda on Linux)."""
    override = os.environ.get(STATE_VARIABLE)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_state_dir

    return Path(user_state_dir("pip-lambda", appauthor=False))


def identity(folder: Path) -> Identity | None:
    """The folder's identity, or None when ``folder`` is no folder (a link to one is not)."""
    try:
        info = os.lstat(folder)
    except OSError:
        return None
    return (info.st_dev, info.st_ino) if stat.S_ISDIR(info.st_mode) else None


def _key(path: Path) -> str:
    """A file name for a path: the digest of its real path (the folder need not exist yet)."""
    real = os.fsencode(os.path.realpath(path))
    return hashlib.sha256(real).hexdigest()[:40]


def _folder(name: str) -> Path:
    """A folder of the state, made if needed; one clear line when it cannot be."""
    folder = state_root() / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise EnvironmentProblem(
            f"cannot use pip-lambda's state folder {folder}: {error.strerror or error}",
            hint=f"make it writable, or set {STATE_VARIABLE} to a writable folder; the previous package was left as it was",
        ) from None
    return folder


def lock_file(subject: Path) -> Path:
    """Where the lock of builds into ``subject`` (a target folder or a zip) lives; its folder exists."""
    return _folder("locks") / f"{_key(subject)}.lock"


# --- the folders pip-lambda made ---------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    """One folder pip-lambda put at a target's path: its identity and the top-level names it put in it."""

    identity: Identity
    names: frozenset[str]


def _record(target_dir: Path) -> Path:
    return state_root() / "targets" / f"{_key(target_dir)}.json"


def _read(target_dir: Path) -> list[Made]:
    path = _record(target_dir)
    try:
        data = json.loads(path.read_text("utf-8"))
        if data["pip_lambda_state"] != _VERSION or data["path"] != os.path.realpath(target_dir):
            return []
        return [
            Made((int(item["device"]), int(item["inode"])), frozenset(str(name) for name in item["names"]))
            for item in data["folders"]
        ]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError, KeyError) as why:
        log.debug("ignoring the record %s of %s: %s", path, target_dir, why)
        return []


def _write(target_dir: Path, folders: Iterable[Made]) -> None:
    path = _record(target_dir)
    kept = sorted(folders, key=lambda made: made.identity)
    if not kept:
        path.unlink(missing_ok=True)
        return
    data = {
        "pip_lambda_state": _VERSION,
        "path": os.path.realpath(target_dir),
        "folders": [
            {"device": made.identity[0], "inode": made.identity[1], "names": sorted(made.names)} for made in kept
        ],
    }
    _folder(path.parent.name)
    descriptor, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    temporary = Path(name)
    try:
        with open(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def vouches(target_dir: Path) -> bool:
    """Whether pip-lambda put the folder at ``target`` there, and it still holds some of what was put in it."""
    current = identity(target_dir)
    if current is None:
        return False
    try:
        names = {entry.name for entry in os.scandir(target_dir)}
    except OSError:
        return False
    return any(made.identity == current and made.names & names for made in _read(target_dir))


def expect(target_dir: Path, made: Made) -> None:
    """Record ``made`` before it is put at ``target``; the folder there now stays vouched for until :func:`settle`.

    Call with the target's lock held, before the first rename: a build killed
    after it leaves both folders recognisable, whichever one ends up in place.
    """
    current = identity(target_dir)
    kept = [earlier for earlier in _read(target_dir) if earlier.identity == current]
    _write(target_dir, [*kept, made])


def settle(target_dir: Path) -> None:
    """After a replacement: keep only the record of the folder now at ``target`` (none when it is gone)."""
    current = identity(target_dir)
    recorded = _read(target_dir)
    kept = [made for made in recorded if made.identity == current]
    if kept != recorded:
        _write(target_dir, kept)
