"""Function source files and folders added at the package root (``--code``)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from pip_lambda.errors import UsageError

# Never part of a function: version control data and this machine's bytecode.
_IGNORED = shutil.ignore_patterns(".git", ".hg", ".svn", "__pycache__", "*.pyc", "*.pyo")


def check_code_paths(paths: Sequence[Path]) -> None:
    for path in paths:
        if not path.exists():
            raise UsageError(
                f"--code {path}: no such file or folder", hint="check the path, relative to the current folder"
            )


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
