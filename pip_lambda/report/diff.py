"""``pip-lambda diff OLD NEW``: what changed between two packages, as lines for people and JSON for machines.

Pure functions over :class:`~pip_lambda.archive.contents.Contents`.  A file is
the same when its size, CRC-32 and executable bit are; how it was compressed
does not count, so two zips of the same tree at different levels are equal.
Each changed file is shown under the distribution whose RECORD lists it (in
the new package; in the old one for a removed file), or under ``-`` when no
RECORD does (your ``--code``, or files another tool added); code first, then
``.dist-info`` files.

The JSON form is versioned: ``{"schema": "pip-lambda-diff", "version": 1, …}``
(schema: ``pip_lambda/data/diff.schema.json``); a change that removes, renames
or redefines a field increments the version, new fields do not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pip_lambda.archive.contents import NO_DISTRIBUTION, Contents, FileInfo, Installed
from pip_lambda.cache.jsondata import Json
from pip_lambda.report.text import human

DIFF_SCHEMA = "pip-lambda-diff"
DIFF_VERSION = 1
SHOWN_PER_DISTRIBUTION = 10
"""Files listed per distribution in the text form unless all are asked for (-v); the JSON form has all."""


@dataclass(frozen=True)
class DistributionChange:
    key: str
    name: str
    old: str | None
    """The old version; None when the distribution was added."""
    new: str | None
    """The new version; None when it was removed."""


@dataclass(frozen=True)
class FileChange:
    path: str
    old: FileInfo | None
    new: FileInfo | None

    @property
    def kind(self) -> str:
        return "added" if self.old is None else "removed" if self.new is None else "changed"

    @property
    def size_change(self) -> int:
        return (self.new.size if self.new else 0) - (self.old.size if self.old else 0)


@dataclass(frozen=True)
class Group:
    """The changed files of one distribution, or of none (``key`` ``-``)."""

    key: str
    name: str
    old_version: str | None
    new_version: str | None
    changes: tuple[FileChange, ...]

    def of_kind(self, kind: str) -> list[FileChange]:
        return [change for change in self.changes if change.kind == kind]

    @property
    def size_change(self) -> int:
        return sum(change.size_change for change in self.changes)


@dataclass(frozen=True)
class Diff:
    old: Contents
    new: Contents
    distributions: tuple[DistributionChange, ...]
    groups: tuple[Group, ...]

    @property
    def equal(self) -> bool:
        return not self.distributions and not self.groups


def _same(old: FileInfo, new: FileInfo) -> bool:
    return (old.size, old.crc32, old.executable) == (new.size, new.crc32, new.executable)


def compare(old: Contents, new: Contents) -> Diff:
    """What changed from ``old`` to ``new``."""
    before = {dist.key: dist for dist in old.distributions}
    after = {dist.key: dist for dist in new.distributions}
    distributions = [
        DistributionChange(key, _either(before, after, key).name, _version(before, key), _version(after, key))
        for key in sorted(before.keys() | after.keys())
        if _version(before, key) != _version(after, key)
    ]
    old_owners, new_owners = old.owners(), new.owners()
    changes: dict[str, list[FileChange]] = {}
    for path in sorted(old.files.keys() | new.files.keys()):
        was, now = old.files.get(path), new.files.get(path)
        if was is not None and now is not None and _same(was, now):
            continue
        owner = (new_owners if now is not None else old_owners).get(path, NO_DISTRIBUTION)
        changes.setdefault(owner, []).append(FileChange(path, was, now))
    groups = [
        Group(key, _group_name(before, after, key), _version(before, key), _version(after, key), _code_first(found))
        for key, found in sorted(changes.items(), key=lambda item: (item[0] == NO_DISTRIBUTION, item[0]))
    ]
    return Diff(old, new, tuple(distributions), tuple(groups))


def _code_first(changes: list[FileChange]) -> tuple[FileChange, ...]:
    """Code before metadata: a version bump renames every ``.dist-info`` file, which says little."""
    return tuple(sorted(changes, key=lambda change: (".dist-info/" in change.path, change.path)))


def _either(before: Mapping[str, Installed], after: Mapping[str, Installed], key: str) -> Installed:
    return after[key] if key in after else before[key]


def _version(dists: Mapping[str, Installed], key: str) -> str | None:
    return dists[key].version if key in dists else None


def _group_name(before: Mapping[str, Installed], after: Mapping[str, Installed], key: str) -> str:
    return NO_DISTRIBUTION if key == NO_DISTRIBUTION else _either(before, after, key).name


# --- for people ---------------------------------------------------------------------------------


def _signed(size: int) -> str:
    return ("+" if size >= 0 else "-") + human(abs(size))


def _versions(old: str | None, new: str | None) -> str:
    if old is None:
        return f"{new} (new)"
    if new is None:
        return f"{old} (removed)"
    return old if old == new else f"{old} -> {new}"


def _counted(group: Group) -> str:
    counts = [(len(group.of_kind(kind)), kind) for kind in ("added", "removed", "changed")]
    return ", ".join(f"{number} {kind}" for number, kind in counts if number)


def diff_lines(diff: Diff, shown: int | None = SHOWN_PER_DISTRIBUTION) -> list[str]:
    """The diff for a terminal or a pull request; ``shown`` files per distribution (None: all)."""
    old, new = diff.old, diff.new
    lines = [f"--- {old.path} ({old.source.value})", f"+++ {new.path} ({new.source.value})"]
    if diff.equal:
        lines.append(f"no differences: {len(new.files):,} files, {len(new.distributions):,} distributions")
        return lines
    if diff.distributions:
        kinds = [
            ("added", [change for change in diff.distributions if change.old is None]),
            ("removed", [change for change in diff.distributions if change.new is None]),
            ("changed", [change for change in diff.distributions if change.old and change.new]),
        ]
        lines.append("distributions: " + ", ".join(f"{len(found)} {kind}" for kind, found in kinds if found))
        for dist in diff.distributions:
            if dist.old is None:
                lines.append(f"  + {dist.name} {dist.new}")
            elif dist.new is None:
                lines.append(f"  - {dist.name} {dist.old}")
            else:
                lines.append(f"  ~ {dist.name} {dist.old} -> {dist.new}")
    if diff.groups:
        lines.append("files:")
    for group in diff.groups:
        title = "- (no distribution)" if group.key == NO_DISTRIBUTION else group.name
        if group.key != NO_DISTRIBUTION:
            title += f" {_versions(group.old_version, group.new_version)}"
        lines.append(f"  {title}: {_counted(group)} ({_signed(group.size_change)})")
        listed = group.changes if shown is None else group.changes[:shown]
        for change in listed:
            mark = {"added": "+", "removed": "-", "changed": "~"}[change.kind]
            lines.append(f"    {mark} {change.path} ({_signed(change.size_change)})")
        if len(listed) < len(group.changes):
            lines.append(f"    ... and {len(group.changes) - len(listed):,} more (-v lists every file)")
    lines.append(_size_line(old, new))
    return lines


def _size_line(old: Contents, new: Contents) -> str:
    before, after = old.unzipped_size, new.unzipped_size
    line = f"size: unzipped {human(before)} -> {human(after)} ({_signed(after - before)})"
    if old.zipped_size is not None and new.zipped_size is not None:
        change = new.zipped_size - old.zipped_size
        line += f", zipped {human(old.zipped_size)} -> {human(new.zipped_size)} ({_signed(change)})"
    else:
        line += ", zipped: not known for a folder or a build without a zip"
    return line


# --- for machines -------------------------------------------------------------------------------


def _side(contents: Contents) -> Json:
    return {
        "path": str(contents.path),
        "kind": contents.source.value,
        "files": len(contents.files),
        "distributions": len(contents.distributions),
        "unzipped_size": contents.unzipped_size,
        "zipped_size": contents.zipped_size,
    }


def _file_json(change: FileChange) -> Json:
    return {
        "path": change.path,
        "old_size": None if change.old is None else change.old.size,
        "new_size": None if change.new is None else change.new.size,
    }


def _group_json(group: Group) -> Json:
    return {
        "distribution": group.name,
        "old_version": group.old_version,
        "new_version": group.new_version,
        "added": [_file_json(change) for change in group.of_kind("added")],
        "removed": [_file_json(change) for change in group.of_kind("removed")],
        "changed": [_file_json(change) for change in group.of_kind("changed")],
        "size_change": group.size_change,
    }


def _change(old: int | None, new: int | None) -> Json:
    return {"old": old, "new": new, "change": None if old is None or new is None else new - old}


def diff_json(diff: Diff) -> dict[str, Json]:
    """The diff as versioned JSON (schema: pip_lambda/data/diff.schema.json)."""
    changes = diff.distributions
    return {
        "schema": DIFF_SCHEMA,
        "version": DIFF_VERSION,
        "equal": diff.equal,
        "old": _side(diff.old),
        "new": _side(diff.new),
        "distributions": {
            "added": [{"name": change.name, "version": change.new} for change in changes if change.old is None],
            "removed": [{"name": change.name, "version": change.old} for change in changes if change.new is None],
            "changed": [
                {"name": change.name, "old_version": change.old, "new_version": change.new}
                for change in changes
                if change.old is not None and change.new is not None
            ],
        },
        "files": [_group_json(group) for group in diff.groups],
        "size": {
            "unzipped": _change(diff.old.unzipped_size, diff.new.unzipped_size),
            "zipped": _change(diff.old.zipped_size, diff.new.zipped_size),
        },
    }
