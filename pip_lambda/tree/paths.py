"""Paths that come from package metadata, confined to the package root; the one way to delete a file of a package.

Every path a wheel supplies (RECORD rows, top-level names, ``.dist-info``
names, entry points) is hostile until it has been through :func:`confined`:
normalised, relative, and unable to leave the root it is joined to.  Files of a
package are deleted only through :func:`remove_files`, which checks again, on
the file system, that each file lies inside the root, never follows a symlink
out of it, and then removes the folders it left empty inside the root.
"""

from __future__ import annotations

import logging
import posixpath
import stat
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


def confined(relative: str) -> str | None:
    """``relative`` normalised to a ``/``-separated path inside its root, or None when it could leave it.

    Refused: empty paths, NUL bytes, absolute paths (``/x``, ``\\x``, ``C:x``),
    and paths whose ``..`` parts climb above the root (``a/../../x``).
    Backslashes count as separators, as Windows would read them.
    """
    if not relative or "\x00" in relative:
        return None
    text = relative.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return None
    normal = posixpath.normpath(text)
    if normal in (".", "..") or normal.startswith("../"):
        return None
    return normal


def located(root: Path, relatives: Iterable[str]) -> dict[str, Path]:
    """Each of ``relatives`` that stays inside ``root`` on this file system, with its path there.

    Beyond :func:`confined`, every folder on the way must resolve inside
    ``root`` (a symlinked folder pointing elsewhere is refused); the last part
    itself is not resolved, so a symlink there names the link, not its target.
    Each folder is resolved once, however many paths share it.
    """
    real_root = Path(root).resolve()
    folders: dict[str, Path | None] = {"": real_root}

    def real(folder: str) -> Path | None:
        if folder not in folders:
            parent, _, name = folder.rpartition("/")
            base = real(parent)
            path = None if base is None else base / name
            if path is not None and path.is_symlink():
                path = _resolved_inside(path, real_root)
            folders[folder] = path
        return folders[folder]

    found: dict[str, Path] = {}
    for relative in relatives:
        normal = confined(relative)
        parent = None if normal is None else real(posixpath.dirname(normal))
        if normal is not None and parent is not None:
            found[relative] = parent / posixpath.basename(normal)
    return found


def _resolved_inside(link: Path, real_root: Path) -> Path | None:
    try:
        target = link.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return None
    return target if target.is_relative_to(real_root) else None


def remove_files(root: Path, relatives: Iterable[str]) -> int:
    """Delete files (or symlinks) of the package at ``root`` and the folders they leave empty; the bytes removed.

    A path that leaves the root, a folder, or a missing file is left alone.
    A symlink is removed itself; what it points to is never touched.  Emptied
    folders are removed up to, never including, ``root``.
    """
    relatives = list(relatives)
    paths = located(root, relatives)
    removed = 0
    emptied: set[str] = set()
    for relative in relatives:
        path = paths.get(relative)
        if path is None:
            log.debug("not removing %r: it is outside %s", relative, root)
            continue
        size = _unlink(path)
        if size is not None:
            removed += size
            emptied.add(posixpath.dirname(confined(relative) or ""))
    _remove_empty_folders(root, emptied)
    return removed


def _unlink(path: Path) -> int | None:
    """Delete one located file or symlink; its bytes (0 for a symlink), None when nothing was removed."""
    try:
        info = path.lstat()
    except OSError:
        return None
    if stat.S_ISDIR(info.st_mode):
        return None
    path.unlink()
    return 0 if stat.S_ISLNK(info.st_mode) else info.st_size


def _remove_empty_folders(root: Path, folders: Iterable[str]) -> None:
    """Remove each folder (relative, confined) and its parents while they are empty, never ``root`` itself."""
    chain = {folder for start in folders for folder in _with_parents(start)}
    paths = located(root, chain)
    for folder in sorted(chain, key=lambda name: name.count("/"), reverse=True):
        path = paths.get(folder)
        if path is None or path.is_symlink() or not path.is_dir():
            continue
        try:
            path.rmdir()
        except OSError:
            continue  # not empty: something else lives there


def _with_parents(folder: str) -> Iterable[str]:
    while folder:
        yield folder
        folder = posixpath.dirname(folder)
