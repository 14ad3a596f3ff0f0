"""Fresh staging folders, the marker that says pip-lambda made a folder, the targets it refuses, and debris."""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from pip_lambda.archive.writer import ZIP_MAGIC, temporary_zip_prefix
from pip_lambda.errors import UnsafePathError

log = logging.getLogger(__name__)

MARKER = ".pip-lambda-target"
"""File in the root of every folder pip-lambda creates; only such folders are ever replaced or deleted."""

_STAGING = ".pip-lambda-staging-"
RETIRED = ".pip-lambda-old-"
"""Name part of an old target renamed away while the new one takes its place (tree/replace.py)."""
JOURNAL = ".pip-lambda-journal"
"""Name part of the journal of a replacement in progress (tree/replace.py)."""


def is_ours(folder: Path) -> bool:
    return (folder / MARKER).is_file()


PROJECT_MARKERS = ("pyproject.toml", "setup.cfg", ".git")
"""A folder holding one of these is a project root."""
_VCS = (".git", ".hg", ".svn")
_SOURCES = ("pyproject.toml", "setup.py", "setup.cfg")


def project_root(start: Path | None = None) -> Path:
    """The nearest folder, from ``start`` (the current folder) up, with a pyproject.toml, setup.cfg or .git; else ``start``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if any((folder / name).exists() for name in PROJECT_MARKERS):
            return folder
    return here


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError):
        return None


def _source_files(folder: Path) -> list[str]:
    names = [name for name in _SOURCES if (folder / name).exists()]
    names += sorted(child.name for child in folder.glob("*.py") if child.name not in names)[:3]
    return names


def check_target(target: Path, *, allow_outside_project: bool = False) -> None:
    """Refuse a target folder that pip-lambda must not replace.

    Refused: the current folder or one containing it, the project folder, the
    home folder, the file system root, a folder outside the project (unless
    allowed), a version-control checkout, and any non-empty folder without
    pip-lambda's marker (naming the source files it holds, if any).
    """
    resolved = target.resolve()
    cwd = Path.cwd().resolve()
    project = project_root(cwd)
    protected = {
        project: "the project folder",
        Path(resolved.anchor): "the file system root",
        cwd: "the current folder",
    }
    home = _home()
    if home is not None:
        protected[home] = "your home folder"
    hint = "pass -t/--target with a folder of its own, such as build/lambda"
    if resolved in protected:
        raise UnsafePathError(
            f"refusing to use {protected[resolved]} ({target}) as the target: pip-lambda replaces the target on every build",
            hint=hint,
        )
    if cwd.is_relative_to(resolved):
        raise UnsafePathError(f"refusing to use {target} as the target: it contains the current folder", hint=hint)
    if not allow_outside_project and not resolved.is_relative_to(project):
        raise UnsafePathError(
            f"refusing to use {target} as the target: it is outside the project folder {project}",
            hint="build inside the project (the default is build/lambda), or pass --allow-outside-project",
        )
    if target.is_symlink():
        raise UnsafePathError(
            f"refusing to use {target} as the target: it is a symbolic link",
            hint="pass -t/--target with the folder itself",
        )
    if target.exists() and not target.is_dir():
        raise UnsafePathError(
            f"the target {target} is a file, not a folder", hint="pass -t/--target with a folder path"
        )
    if not target.is_dir():
        return
    checkouts = [name for name in _VCS if (target / name).exists()]
    if checkouts:
        raise UnsafePathError(
            f"refusing to replace {target}: it is a version-control checkout ({checkouts[0]})", hint=hint
        )
    if any(target.iterdir()) and not is_ours(target):
        sources = _source_files(target)
        holds = f" (it holds source files: {', '.join(sources)})" if sources else ""
        raise UnsafePathError(
            f"refusing to replace {target}: it is not empty and pip-lambda did not create it{holds}",
            hint="pass -t/--target with a new or empty folder, or move its contents away",
        )


def create_staging(target: Path) -> Path:
    """A new empty folder beside the target, marked as pip-lambda's."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{_STAGING}", dir=target.parent))
    (staging / MARKER).write_text("created by pip-lambda; the whole folder is replaced on every build\n", "utf-8")
    return staging


def remove_tree(folder: Path) -> None:
    """Delete a marked folder with its marker last, so that an interrupted removal stays recognisable."""
    for child in os.scandir(folder):
        if child.name == MARKER:
            continue
        if child.is_dir(follow_symlinks=False):
            shutil.rmtree(child.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                Path(child.path).unlink()
    with contextlib.suppress(OSError):
        (folder / MARKER).unlink()
        folder.rmdir()


def remove_ours(folder: Path) -> None:
    """Delete a folder, only when pip-lambda's marker says it made it."""
    if folder.is_dir() and not folder.is_symlink() and is_ours(folder):
        remove_tree(folder)


def clean_debris(target: Path) -> None:
    """Remove staging and retired folders, and a half-written journal, that an interrupted build left beside the target.

    Only folders named as pip-lambda names them and either marked or empty
    (a build killed between creating and marking its folder) are removed.
    Call it after tree/replace.recover(), which may still need them.
    """
    parent = target.parent
    if not parent.is_dir():
        return
    half_written = parent / f".{target.name}{JOURNAL}.tmp"
    if half_written.is_file() and not half_written.is_symlink():
        half_written.unlink()
    for prefix in (_STAGING, RETIRED):
        for leftover in parent.glob(f".{glob.escape(target.name)}{prefix}*"):
            if leftover.is_symlink() or not leftover.is_dir():
                continue
            if is_ours(leftover):
                log.debug("removing %s, left by an interrupted build", leftover)
                remove_tree(leftover)
            elif not any(leftover.iterdir()):
                leftover.rmdir()


def clean_zip_debris(output: Path) -> None:
    """Remove temporary zips that a killed build left beside ``output`` (never one a live build is writing)."""
    if not output.parent.is_dir():
        return
    for leftover in output.parent.glob(f"{glob.escape(temporary_zip_prefix(output))}*.tmp"):
        writer = leftover.name[len(temporary_zip_prefix(output)) :].split("-", 1)[0]
        if leftover.is_symlink() or not leftover.is_file() or not writer.isdigit() or _alive(int(writer)):
            continue
        with open(leftover, "rb") as handle:
            start = handle.read(4)
        if start in (b"", ZIP_MAGIC):
            log.debug("removing %s, left by an interrupted build", leftover)
            with contextlib.suppress(OSError):
                leftover.unlink()


def _alive(pid: int) -> bool:
    # os.kill(pid, 0) would terminate the process on Windows; there an open file cannot be deleted anyway.
    if pid == os.getpid() or sys.platform == "win32":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
