"""Fresh staging folders, the marker that says pip-lambda made a folder, and the swap into place."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from .errors import UnsafePathError

log = logging.getLogger(__name__)

MARKER = ".pip-lambda-target"
"""File in the root of every folder pip-lambda creates; only such folders are ever replaced or deleted."""

_STAGING = ".pip-lambda-staging-"
_RETIRED = ".pip-lambda-old-"


def is_ours(folder: Path) -> bool:
    return (folder / MARKER).is_file()


def check_target(target: Path) -> None:
    """Refuse a target folder that pip-lambda must not replace."""
    resolved = target.resolve()
    protected = {
        Path.cwd().resolve(): "the current folder",
        Path.home().resolve(): "your home folder",
        Path(resolved.anchor): "the file system root",
    }
    if resolved in protected:
        raise UnsafePathError(
            f"refusing to use {protected[resolved]} ({target}) as the target: pip-lambda replaces the target on every build",
            hint="pass -t/--target with a folder of its own, such as build/lambda",
        )
    if target.exists() and not target.is_dir():
        raise UnsafePathError(
            f"the target {target} is a file, not a folder", hint="pass -t/--target with a folder path"
        )
    if target.is_dir() and any(target.iterdir()) and not is_ours(target):
        raise UnsafePathError(
            f"refusing to replace {target}: it is not empty and pip-lambda did not create it",
            hint="pass -t/--target with a new or empty folder, or move its contents away",
        )


def check_output(output: Path, target: Path) -> None:
    """Refuse a zip path inside the folder that gets replaced."""
    if output.resolve().is_relative_to(target.resolve()):
        raise UnsafePathError(
            f"the output {output} is inside the target folder {target}, which every build replaces",
            hint="pass -o/--output with a path outside the target, such as build/lambda.zip",
        )
    if output.is_dir():
        raise UnsafePathError(f"the output {output} is a folder", hint="pass -o/--output with a .zip file path")


def create_staging(target: Path) -> Path:
    """A new empty folder beside the target, marked as pip-lambda's."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{_STAGING}", dir=target.parent))
    (staging / MARKER).write_text("created by pip-lambda; the whole folder is replaced on every build\n", "utf-8")
    return staging


def remove_ours(folder: Path) -> None:
    """Delete a folder, only when pip-lambda's marker says it made it."""
    if folder.is_dir() and is_ours(folder):
        shutil.rmtree(folder, ignore_errors=True)


def promote(staging: Path, target: Path) -> None:
    """Put the finished staging folder in the target's place, then delete the old target."""
    retired = None
    if target.exists():
        check_target(target)
        retired = Path(tempfile.mkdtemp(prefix=f".{target.name}{_RETIRED}", dir=target.parent))
        retired.rmdir()
        target.replace(retired)
    staging.replace(target)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def clean_debris(target: Path) -> None:
    """Remove staging and retired folders that an interrupted build left beside the target."""
    parent = target.parent
    if not parent.is_dir():
        return
    for prefix in (_STAGING, _RETIRED):
        for leftover in parent.glob(f".{target.name}{prefix}*"):
            if leftover.is_dir() and (is_ours(leftover) or not any(leftover.iterdir())):
                log.debug("removing %s, left by an interrupted build", leftover)
                shutil.rmtree(leftover, ignore_errors=True)
