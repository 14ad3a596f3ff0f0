"""The journal of a replacement in progress: what a killed build leaves for the next one to settle.

One small JSON file beside the target (``.NAME.pip-lambda-journal``), written
to a temporary name, flushed to disk and renamed into place before the first
rename of a replacement, and deleted after the last.  It names the staging
and retired folders beside the target, the identity (device, inode) of the new
folder and of the old one, so that either is found whichever rename moved it,
and the temporary zip with its output, size and checksum.  Paths are relative
to the journal's folder, so a project moved after a kill is still settled.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pip_lambda.tree.staging import JOURNAL

_VERSION = 1


@dataclass(frozen=True)
class NewZip:
    """A complete zip in a temporary file, waiting to replace ``output``."""

    temporary: Path
    output: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class Journal:
    """One replacement: the target, where its new and old folders may be, the new zip, the process doing it."""

    target_dir: Path
    staging: Path
    retired: Path
    new_tree: tuple[int, int]
    """Device and inode of the new folder: found by them wherever a rename left it."""
    old_tree: tuple[int, int] | None
    zip: NewZip | None
    pid: int


def journal_path(target_dir: Path) -> Path:
    return target_dir.parent / f".{target_dir.name}{JOURNAL}"


def write_journal(journal: Journal) -> None:
    path = journal_path(journal.target_dir)
    home = path.parent
    zipped = journal.zip
    data = {
        "pip_lambda_journal": _VERSION,
        "pid": journal.pid,
        "staging": journal.staging.name,
        "retired": journal.retired.name,
        "new_tree": list(journal.new_tree),
        "old_tree": list(journal.old_tree) if journal.old_tree else None,
        "zip": None
        if zipped is None
        else {
            "temporary": _relative(zipped.temporary, home),
            "output": _relative(zipped.output, home),
            "size": zipped.size,
            "sha256": zipped.sha256,
        },
    }
    temporary = path.with_name(f"{path.name}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    with open(os.open(temporary, flags, 0o644), "w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    _sync_folder(home)


def read_journal(path: Path, target_dir: Path) -> Journal | None:
    try:
        data: Any = json.loads(path.read_text("utf-8"))
        if data["pip_lambda_journal"] != _VERSION:
            return None
        home = path.parent
        zipped = data["zip"]
        new_zip = None
        if zipped is not None:
            new_zip = NewZip(
                home / zipped["temporary"], home / zipped["output"], int(zipped["size"]), str(zipped["sha256"])
            )
        old = data["old_tree"]
        return Journal(
            target_dir,
            home / _name(data["staging"]),
            home / _name(data["retired"]),
            (int(data["new_tree"][0]), int(data["new_tree"][1])),
            (int(old[0]), int(old[1])) if old is not None else None,
            new_zip,
            int(data["pid"]),
        )
    except (OSError, ValueError, TypeError, KeyError, IndexError):
        return None


def _name(value: object) -> str:
    """A journal's folder names are plain names beside the target, never paths."""
    if not isinstance(value, str) or Path(value).name != value or value in ("", ".", ".."):
        raise ValueError(f"not a folder name: {value!r}")
    return value


def _relative(path: Path, home: Path) -> str:
    """Relative to the journal's folder, so a project moved after a kill is still recovered."""
    try:
        return os.path.relpath(path.absolute(), home.absolute())
    except ValueError:  # another drive on Windows
        return str(path.absolute())


def remove_journal(journal: Journal) -> None:
    with contextlib.suppress(FileNotFoundError):
        journal_path(journal.target_dir).unlink()


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (the journal's name) to disk; Windows has no such call."""
    if sys.platform == "win32":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
