"""Function source files and folders added at the package root (``--code``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from pip_lambda.errors import UnsafePathError, UsageError

# Never part of a function: version control data and this machine's bytecode.
_IGNORED = shutil.ignore_patterns(".git", ".hg", ".svn", "__pycache__", "*.pyc", "*.pyo")


def check_code_paths(paths: Sequence[Path], target_dir: Path, output: Path | None) -> None:
    """Refuse a --code path that is missing, holds the target or the zip, or has a name a zip cannot hold."""
    for path in paths:
        if not path.exists():
            raise UsageError(
                f"--code {path}: no such file or folder", hint="check the path, relative to the current folder"
            )
        source = path.resolve()
        for built, what in ((target_dir, "the target folder"), (output, "the zip")):
            if built is not None and built.resolve().is_relative_to(source):
                raise UnsafePathError(
                    f"--code {path} holds {what} {built}: the package would contain itself",
                    hint="pass the files to add instead, such as --code app.py or --code src/*",
                )
        _check_names(path, source.name)


def _check_names(path: Path, name: str) -> None:
    """Every name that lands in the zip is text (a name of undecodable bytes is not)."""
    names = [name]
    if path.is_dir():
        for folder, folders, files in os.walk(path):
            ignored = _IGNORED(folder, [*folders, *files])
            folders[:] = [child for child in folders if child not in ignored]
            names += [child for child in [*folders, *files] if child not in ignored]
    for found in names:
        try:
            found.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(
                f"--code {_shown(str(path))}: the name {_shown(found)} is not valid UTF-8, and a zip holds UTF-8 names",
                hint="rename it",
            ) from None


def _shown(name: str) -> str:
    """A file name as its bytes, undecodable ones escaped (\\xff), so the message prints anywhere."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def add_code(paths: Sequence[Path], destination: Path) -> None:
    """Copy each file or folder, by name, to ``destination`` (as ``zip -r pkg.zip PATH`` would)."""
    for path in paths:
        landing = destination / path.resolve().name
        if landing.exists():
            raise UsageError(
                f"--code {path} would overwrite {landing.name}, which an installed distribution already provides",
                hint="rename your module or folder",
            )
        if path.is_dir():
            shutil.copytree(path, landing, ignore=_IGNORED, symlinks=True)
        else:
            shutil.copy2(path, landing)
