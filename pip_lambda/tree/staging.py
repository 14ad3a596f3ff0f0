"""Fresh staging folders, the targets pip-lambda refuses, the folders it may replace, and debris.

Nothing of pip-lambda's stays inside a target or beside it once a build is
done: which folders pip-lambda made is recorded in its state folder
(system/state.py).  While a build runs, its staging folder beside the target
carries a marker, removed (under the journal of the replacement) before the
folder becomes the target, so that a build killed earlier leaves it
recognisable by its name and marker; a retired old target is recognised by the
journal (tree/replace.py).
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pip_lambda.archive.reader import Kind, open_zip
from pip_lambda.archive.writer import ZIP_MAGIC, temporary_zip_prefix, written_by_pip_lambda
from pip_lambda.errors import PipLambdaError, UnsafePathError
from pip_lambda.system.state import state_root, vouches

log = logging.getLogger(__name__)

MARKER = ".pip-lambda-staging"
"""File in the root of a staging folder until it becomes the target; never in a target, never zipped."""
LEGACY_MARKER = ".pip-lambda-target"
"""The marker file older versions left in every target: such a target is pip-lambda's, once more."""

_STAGING = ".pip-lambda-staging-"
RETIRED = ".pip-lambda-old-"
"""Name part of an old target renamed away while the new one takes its place (tree/replace.py)."""
JOURNAL = ".pip-lambda-journal"
"""Name part of the journal of a replacement in progress (tree/replace.py)."""


def is_marked(folder: Path) -> bool:
    """A staging folder (or, from an older version, any folder it made) that carries pip-lambda's marker."""
    return any((folder / name).is_file() for name in (MARKER, LEGACY_MARKER))


def made_by_pip_lambda(folder: Path, output: Path | None = None) -> bool:
    """Whether pip-lambda made the folder at ``folder``: its state says so, or an older version's marker does.

    Without either (a state folder lost with a container's home), a folder
    holding exactly the files of the zip pip-lambda wrote from it at
    ``output`` (names and sizes) is taken as pip-lambda's too: replacing it
    loses nothing that zip does not hold.
    """
    return vouches(folder) or (folder / LEGACY_MARKER).is_file() or _same_as_its_zip(folder, output)


def _same_as_its_zip(folder: Path, output: Path | None) -> bool:
    if output is None or not output.is_file() or not written_by_pip_lambda(output):
        return False
    try:
        with open_zip(output) as archive:
            zipped = {member.name: member.size for member in archive.members if member.kind is Kind.FILE}
    except (PipLambdaError, OSError):
        return False
    found: dict[str, int] = {}
    # Links followed, as the zip writer followed them; the count bounds a walk that a link loop would not end.
    for parent, _, files in os.walk(folder, followlinks=True):
        for name in files:
            path = Path(parent, name)
            try:
                found[path.relative_to(folder).as_posix()] = path.stat().st_size
            except OSError:
                return False
            if len(found) > len(zipped):
                return False
    return found == zipped


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


def _protected(cwd: Path) -> list[tuple[Path, str]]:
    """Folders no target may be, or contain, in the order a refusal names them."""
    folders = [(cwd, "the current folder"), (project_root(cwd), "the project folder")]
    home = _home()
    if home is not None:
        folders.append((home, "your home folder"))
    return folders


def check_target(target_dir: Path, code: Sequence[Path] = (), output: Path | None = None) -> None:
    """Refuse a target folder that pip-lambda must not replace; any other place is fine, other disks included.

    Refused, by the real path (symlinks followed): the file system root, the
    home folder, the current folder, the project folder or any folder above
    them; a folder holding a ``--code`` path; a symlink; a file; a
    version-control checkout; and any non-empty folder pip-lambda did not make
    (naming the source files it holds, if any).  ``output`` is the build's zip,
    the last resort of :func:`made_by_pip_lambda`.
    """
    resolved = target_dir.resolve()
    hint = "pass -t/--target with a folder of its own, such as build/lambda"
    protected = [(Path(resolved.anchor), "the file system root"), *_protected(Path.cwd().resolve())]
    for folder, what in protected:
        if resolved == folder:
            raise UnsafePathError(
                f"refusing to use {what} ({target_dir}) as the target: pip-lambda replaces the target on every build",
                hint=hint,
            )
    for folder, what in protected:
        if folder.is_relative_to(resolved):
            raise UnsafePathError(
                f"refusing to use {target_dir} as the target: it contains {what} ({folder})", hint=hint
            )
    for path in code:
        if path.resolve().is_relative_to(resolved):
            raise UnsafePathError(
                f"refusing to use {target_dir} as the target: it holds --code {path}, which every build would delete",
                hint=hint,
            )
    if target_dir.is_symlink():
        raise UnsafePathError(
            f"refusing to use {target_dir} as the target: it is a symbolic link",
            hint="pass -t/--target with the folder itself",
        )
    if target_dir.exists() and not target_dir.is_dir():
        raise UnsafePathError(
            f"the target {target_dir} is a file, not a folder", hint="pass -t/--target with a folder path"
        )
    if not target_dir.is_dir():
        return
    checkouts = [name for name in _VCS if (target_dir / name).exists()]
    if checkouts:
        raise UnsafePathError(
            f"refusing to replace {target_dir}: it is a version-control checkout ({checkouts[0]})", hint=hint
        )
    if any(target_dir.iterdir()) and not made_by_pip_lambda(target_dir, output):
        sources = _source_files(target_dir)
        holds = f" (it holds source files: {', '.join(sources)})" if sources else ""
        raise UnsafePathError(
            f"refusing to replace {target_dir}: it is not empty and pip-lambda did not create it{holds}",
            hint=(
                "empty or remove it if its contents may go, or pass -t/--target with a new or empty folder "
                f"(pip-lambda remembers the folders it made in {state_root()})"
            ),
        )


def create_staging(target_dir: Path) -> Path:
    """A new empty folder beside the target (so on its file system), marked as pip-lambda's staging folder."""
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}{_STAGING}", dir=target_dir.parent))
    # mkdtemp makes it 0700; as the target it must be readable as a folder made with mkdir (deploy tools copy it).
    staging.chmod(0o755)
    (staging / MARKER).write_text("a build of pip-lambda in progress; removed when it ends\n", "utf-8")
    return staging


def unmark(staging: Path) -> None:
    """Take the marker out of a staging folder about to become the target (the journal vouches for it now)."""
    with contextlib.suppress(FileNotFoundError):
        (staging / MARKER).unlink()


def remove_tree(folder: Path) -> None:
    """Delete a folder pip-lambda made, its markers last, so that an interrupted removal stays recognisable."""
    markers = (MARKER, LEGACY_MARKER)
    for child in os.scandir(folder):
        if child.name in markers:
            continue
        if child.is_dir(follow_symlinks=False):
            shutil.rmtree(child.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                Path(child.path).unlink()
    with contextlib.suppress(OSError):
        for name in markers:
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
        folder.rmdir()


def remove_ours(folder: Path) -> None:
    """Delete a folder, only when pip-lambda's marker says it is a staging folder (or an older version's target)."""
    if folder.is_dir() and not folder.is_symlink() and is_marked(folder):
        remove_tree(folder)


def clean_debris(target_dir: Path) -> None:
    """Remove staging and retired folders, and a half-written journal, that an interrupted build left beside the target.

    Only folders named as pip-lambda names them and either marked or empty
    (a build killed between creating and marking its folder) are removed.
    Call it after tree/replace.recover(), which may still need them.
    """
    parent = target_dir.parent
    if not parent.is_dir():
        return
    half_written = parent / f".{target_dir.name}{JOURNAL}.tmp"
    if half_written.is_file() and not half_written.is_symlink():
        half_written.unlink()
    for prefix in (_STAGING, RETIRED):
        for leftover in parent.glob(f".{glob.escape(target_dir.name)}{prefix}*"):
            if leftover.is_symlink() or not leftover.is_dir():
                continue
            if is_marked(leftover):
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
