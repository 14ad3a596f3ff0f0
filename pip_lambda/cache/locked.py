"""Hashed requirements decide the wheels without pip's resolver: every line pinned, every file named by its hash.

Requirements that are fully pinned and hashed (``--require-hashes``, or a
``--hash`` on every line, each line ``==`` or ``name @ url``; pip's rule that
hash checking needs every dependency listed) leave pip's resolver nothing to
decide.  Lines whose markers the target does not meet are left out, as pip
leaves them out.  For each line, the store's wheel whose sha256 is among the
line's hashes and whose tags the target loads is taken, the most preferred tag
first; only lines the store has no wheel for are downloaded.  The chosen set is
then checked as pip would check it (Requires-Python, every dependency listed
at a version it accepts); when it is not whole, pip runs and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from pip_lambda.cache import store
from pip_lambda.cache.store import StoredWheel
from pip_lambda.pip.args import PipArgs, tokenize
from pip_lambda.pip.requirements import RequirementLine, RequirementSet
from pip_lambda.plan.selection import Wheel
from pip_lambda.plan.target import Target

_SHA256 = "sha256:"


@dataclass(frozen=True)
class Line:
    """One hashed requirement line that applies to the target."""

    line: RequirementLine
    name: str
    specifier: SpecifierSet | None
    """None for ``name @ url``: its hashes alone say which file."""
    url: str
    extras: frozenset[str]
    sha256s: tuple[str, ...]

    def wheel(self, entry: StoredWheel) -> Wheel:
        return entry.wheel(self.url, direct=bool(self.url))


def lines(found: RequirementSet, pip_args: PipArgs, target: Target) -> tuple[Line, ...] | None:
    """The requirement lines that apply to ``target``, when hashes pin every one; else None (pip resolves).

    Not when pip reads requirements pip-lambda did not read (a URL, a lock
    file, ``--group``), with constraint lines, or with a line that is not
    pinned to one file by ``==`` or a URL, or carries no sha256 hash.
    """
    if not found.requirements or pip_args.read_by_pip or len(found.sources) != len(found.files):
        return None
    if any(line.constraint for line in found.lines) or pip_args.requirements:
        return None
    environment = target.marker_environment
    taken: dict[str, Line] = {}
    for written in found.requirements:
        sha256s = tuple(value[len(_SHA256) :] for value in written.hashes if value.startswith(_SHA256))
        if not sha256s or "${" in written.text:
            return None
        try:
            requirement = Requirement(written.text)
        except InvalidRequirement:
            return None
        if requirement.marker is not None and not requirement.marker.evaluate({**environment, "extra": ""}):
            continue
        specifiers = list(requirement.specifier)
        exact = len(specifiers) == 1 and specifiers[0].operator == "==" and "*" not in specifiers[0].version
        if not (exact or requirement.url) or (exact and requirement.url):
            return None
        name = canonicalize_name(requirement.name)
        if name in taken:  # pip refuses a requirement given twice; let it say so
            return None
        specifier = None if requirement.url else requirement.specifier
        taken[name] = Line(written, name, specifier, requirement.url or "", frozenset(requirement.extras), sha256s)
    return tuple(taken.values())


def choose(
    root: Path, wanted: Sequence[Line], target: Target, platforms: Sequence[str] = ()
) -> tuple[list[tuple[Line, StoredWheel]], list[Line]]:
    """For each line, the stored wheel it pins that the target loads best; the lines without one.

    ``platforms``: the ``--platform`` values given to pip, which then considers only those.
    """
    tags = [tag for tag in target.supported_tags if not platforms or tag.platform in (*platforms, "any")]
    ranks: dict[Tag, int] = {tag: rank for rank, tag in reversed(list(enumerate(tags)))}
    chosen: list[tuple[Line, StoredWheel]] = []
    missing: list[Line] = []
    for line in wanted:
        candidates = []
        for sha256 in line.sha256s:
            entry = store.read_entry(root, sha256)
            rank = _rank(entry, line, ranks) if entry is not None else None
            if rank is not None:
                candidates.append((rank, sha256))
        entry = next(
            (found for _, sha256 in sorted(candidates) if (found := store.checked(root, sha256)) is not None), None
        )
        if entry is None:
            missing.append(line)
        else:
            chosen.append((line, entry))
    return chosen, missing


def _rank(entry: StoredWheel, line: Line, ranks: dict[Tag, int]) -> int | None:
    """How much the target prefers this stored wheel for ``line`` (lower is better); None when it does not fit."""
    if entry.name != line.name or (line.specifier is not None and not line.specifier.contains(entry.version, True)):
        return None
    try:
        tags = parse_wheel_filename(entry.filename)[3]
    except InvalidWheelFilename:
        return None
    return min((ranks[tag] for tag in tags if tag in ranks), default=None)


def complete(
    chosen: Sequence[tuple[Line, StoredWheel]], wanted: Sequence[Line], target: Target, pip_args: PipArgs
) -> bool:
    """Whether pip would install exactly these wheels: Requires-Python met, and every dependency listed and accepted."""
    options = {token.option.name for token in tokenize(pip_args.passthrough) if token.option is not None}
    entries = {entry.name: entry for _, entry in chosen}
    try:
        if "--ignore-requires-python" not in options and not all(
            SpecifierSet(entry.requires_python).contains(target.runtime.python_version, True)
            for entry in entries.values()
            if entry.requires_python
        ):
            return False
        if "--no-deps" in options:
            return True
        pending = [(line.name, extra) for line in wanted for extra in ("", *line.extras)]
        seen: set[tuple[str, str]] = set()
        while pending:
            name, extra = pending.pop()
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for text in entries[name].requires:
                requirement = Requirement(text)
                marker = requirement.marker
                if marker is not None and not marker.evaluate({**target.marker_environment, "extra": extra}):
                    continue
                dependency = entries.get(canonicalize_name(requirement.name))
                if dependency is None or not requirement.specifier.contains(dependency.version, True):
                    return False
                pending.extend((dependency.name, wanted_extra) for wanted_extra in ("", *requirement.extras))
    except (InvalidRequirement, InvalidSpecifier):
        return False
    return True
