"""Paths that come from package metadata, confined to the package root; the one way to delete a file of a package.

Every path a wheel supplies (RECORD rows, top-level names, ``.dist-info``
names, entry points) is hostile until it has been through :func:`confined`:
normalised, relative, and unable to leave the root it is joined to.  Files of a
package are deleted only through :func:`remove_file`, which checks again, on
the file system, that the file lies inside the root and never follows a
symlink out of it.
"""

from __future__ import annotations

import logging
import posixpath
import stat
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


def inside(root: Path, relative: str) -> Path | None:
    """The path of ``relative`` under ``root`` when it stays there on this file system, else None.

    Beyond :func:`confined`, every folder on the way must resolve inside
    ``root`` (a symlinked folder pointing elsewhere is refused); the last part
    itself is not resolved, so a symlink there names the link, not its target.
    """
    normal = confined(relative)
    if normal is None:
        return None
    real_root = Path(root).resolve()
    parent = (real_root / posixpath.dirname(normal)).resolve()
    if not parent.is_relative_to(real_root):
        return None
    return parent / posixpath.basename(normal)


def remove_file(root: Path, relative: str) -> int:
    """Delete one file (or symlink) of the package at ``root``; the bytes it held, 0 when nothing was removed.

    A path that leaves the root, a folder, or a missing file is left alone.
    A symlink is removed itself; what it points to is never touched.
    """
    path = inside(root, relative)
    if path is None:
        log.debug("not removing %r: it is outside %s", relative, root)
        return 0
    try:
        info = path.lstat()
    except OSError:
        return 0
    if stat.S_ISDIR(info.st_mode):
        return 0
    path.unlink()
    return 0 if stat.S_ISLNK(info.st_mode) else info.st_size
