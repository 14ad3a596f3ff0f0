"""What a build installs: the requirements pip resolves, or the wheels a lock file chose for the target.

A lock is named with ``-r pylock.toml`` (``pylock.NAME.toml``, extras as
``pylock.toml[aws]``), in the configuration's ``requirements``, or with
``--lock FILE`` (a pylock.toml, uv.lock or poetry.lock).  With no requirements
at all, the project folder is searched as PEP 751 advises for services:
``pylock.lambda.toml``, ``pylock.toml``, ``uv.lock``, ``poetry.lock``, then
``requirements.txt`` (as SAM does).  A lock decides every package, so it is not
mixed with other requirements or constraints.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pip_lambda.errors import UsageError
from pip_lambda.lock import convert, pylock
from pip_lambda.pip.args import REQUIREMENT, SEPARATOR, Role, tokenize
from pip_lambda.pip.requirements import is_lock_file
from pip_lambda.plan.selection import Selection
from pip_lambda.plan.source import RequirementsSource, Sdist, SourceKind
from pip_lambda.plan.target import Target
from pip_lambda.tree.staging import project_root

log = logging.getLogger(__name__)

DISCOVERED = (
    ("pylock.lambda.toml", SourceKind.PYLOCK),
    ("pylock.toml", SourceKind.PYLOCK),
    ("uv.lock", SourceKind.UV_LOCK),
    ("poetry.lock", SourceKind.POETRY_LOCK),
    ("requirements.txt", SourceKind.REQUIREMENTS),
)
"""What a build without requirements looks for in the project folder, first found wins."""


@dataclass(frozen=True)
class Decided:
    """pip's arguments (lock files taken out) and, for a lock, the wheels it chose."""

    pip_tokens: tuple[str, ...]
    selection: Selection | None = None
    sdists: tuple[Sdist, ...] = ()
    source: RequirementsSource | None = None


@dataclass(frozen=True)
class Wanted:
    """What the settings ask of a lock."""

    lock: str | None = None
    """``--lock`` / ``lock``: a pylock.toml, uv.lock or poetry.lock."""
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    allow_sdist: tuple[str, ...] = ()
    discover: bool = True
    """Look in the project folder when nothing is named (not for named targets, which say what they install)."""
    verbose: bool = False


def decide(tokens: Sequence[str], wanted: Wanted, target: Target) -> Decided:
    """Take the lock out of pip's arguments (or find one) and select its wheels for ``target``."""
    rest, named = _split(tokens)
    locks = [*named, *([wanted.lock] if wanted.lock else [])]
    if len(locks) > 1:
        raise UsageError(f"more than one lock file: {', '.join(locks)}", hint="build from one lock file at a time")
    discovered = False
    if not locks and wanted.discover and not names_requirements(rest):
        found = discover(project_root())
        if found is not None and found[1] is SourceKind.REQUIREMENTS:
            log.info("using %s: no requirements were given", found[0])
            source = RequirementsSource(SourceKind.REQUIREMENTS, found[0], discovered=True)
            return Decided((*rest, "-r", found[0], *_pip_groups(wanted)), source=source)
        if found is not None:
            locks, discovered = [found[0]], True
    if not locks:
        if wanted.extras:
            raise UsageError(
                f"--extra {wanted.extras[0]} selects an extra of a lock file, and no lock file is given",
                hint="name the extra in the requirement instead, such as requests[socks]",
            )
        return Decided((*rest, *_pip_groups(wanted)))
    if names_requirements(rest, constraints=True):
        raise UsageError(
            f"{locks[0]} decides every package, so it cannot be combined with other requirements or constraints",
            hint="give either the lock file or requirements, not both",
        )
    return _from_lock(locks[0], rest, wanted, target, discovered)


def discover(folder: Path) -> tuple[str, SourceKind] | None:
    """The first of :data:`DISCOVERED` in ``folder``, as a path relative to the current folder."""
    for name, kind in DISCOVERED:
        if (folder / name).is_file():
            return os.path.relpath(folder / name), kind
    return None


def kind_of(path: str) -> SourceKind:
    name = Path(path).name
    return {"uv.lock": SourceKind.UV_LOCK, "poetry.lock": SourceKind.POETRY_LOCK}.get(name, SourceKind.PYLOCK)


def _split(tokens: Sequence[str]) -> tuple[tuple[str, ...], list[str]]:
    """pip's arguments without the ``-r`` of lock files, and those lock files."""
    rest: list[str] = []
    locks: list[str] = []
    for token in tokenize(tokens):
        if token.option is REQUIREMENT and token.value is not None and is_lock_file(token.value):
            locks.append(token.value)
        elif token.spelling == SEPARATOR:
            rest.append(SEPARATOR)
        else:
            rest.extend(token.alone if token.bundled else token.raw)
    return tuple(rest), locks


def names_requirements(tokens: Sequence[str], *, constraints: bool = False) -> bool:
    roles = (Role.REQUIREMENTS, Role.CONSTRAINTS) if constraints else (Role.REQUIREMENTS,)
    return any(
        token.is_positional or (token.option is not None and token.option.role in roles) for token in tokenize(tokens)
    )


def _pip_groups(wanted: Wanted) -> tuple[str, ...]:
    """Without a lock, ``--group NAME`` is pip's own: a dependency group of pyproject.toml."""
    return tuple(part for group in wanted.groups for part in ("--group", group))


def _from_lock(written: str, rest: tuple[str, ...], wanted: Wanted, target: Target, discovered: bool) -> Decided:
    shown, named_extras = pylock.split_extras(written)
    extras, groups = (*named_extras, *wanted.extras), wanted.groups
    path = Path(shown)
    kind = kind_of(shown)
    converted_by = None
    if kind is SourceKind.PYLOCK:
        lock = pylock.read(path, shown)
    else:
        if not path.is_file():
            raise UsageError(f"lock file {shown} not found", hint="check the path (relative to the current folder)")
        text = convert.convert(kind, path, extras=extras, groups=groups, verbose=wanted.verbose)
        converted_by = convert.CONVERTERS[kind].name
        lock = pylock.parse(text, f"{shown} (as {converted_by} wrote it)")
        extras, groups = (), ()  # the tool wrote them into its export
    source = RequirementsSource(kind, shown, converted_by, discovered)
    if discovered or converted_by:
        log.info("using %s", source.describe())
    selection, sdists = pylock.select(
        lock,
        target,
        shown=shown,
        base=path.parent,
        extras=extras,
        groups=groups,
        allow_sdist=wanted.allow_sdist,
    )
    if not selection.wheels and not sdists:
        log.warning("%s selects no package for %s", shown, target)
    return Decided(rest, selection, sdists, source)
