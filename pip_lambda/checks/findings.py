"""What verification found, and its two renderings: a table for people and versioned JSON for machines."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass

JSON_SCHEMA = "pip-lambda-verify"
JSON_VERSION = 1
NO_DISTRIBUTION = "-"
"""The distribution of a file no RECORD lists (function code, or a tree installed without metadata)."""


class Level(enum.Enum):
    ERROR = "error"
    """The package will not load, or not as built: the build fails."""
    WARNING = "warning"
    """It may load, but something is likely wrong."""

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Finding:
    """One problem: where it is, why it matters and what to do."""

    level: Level
    check: str
    """A stable name of the check: ``wheel-tags``, ``binary-format``, ``elf-machine``…"""
    distribution: str
    """``name==version``, or ``-`` for files of no distribution."""
    path: str
    """The file, relative to the package root, with ``/`` separators."""
    reason: str
    fix: str

    def as_json(self) -> dict[str, str]:
        return {
            "level": str(self.level),
            "check": self.check,
            "distribution": self.distribution,
            "path": self.path,
            "reason": self.reason,
            "fix": self.fix,
        }

    def __str__(self) -> str:
        where = " ".join(part for part in (self.distribution, self.path) if part and part != NO_DISTRIBUTION)
        return f"{where}: {self.reason}; {self.fix}" if where else f"{self.reason}; {self.fix}"


def errors(findings: Sequence[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.level is Level.ERROR]


def warnings(findings: Sequence[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.level is Level.WARNING]


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    """Errors first, then by distribution and file, so the table reads package by package."""
    return sorted(findings, key=lambda f: (f.level is not Level.ERROR, f.distribution.lower(), f.path, f.check))


def table(findings: Sequence[Finding]) -> str:
    """A table of level, distribution and file; reason and fix on the lines under each row."""
    rows = ordered(findings)
    if not rows:
        return ""
    level_width = max(len("LEVEL"), *(len(str(f.level)) for f in rows))
    dist_width = max(len("DISTRIBUTION"), *(len(f.distribution) for f in rows))
    lines = [f"{'LEVEL':<{level_width}}  {'DISTRIBUTION':<{dist_width}}  FILE"]
    indent = " " * (level_width + 2)
    for finding in rows:
        lines.append(f"{finding.level!s:<{level_width}}  {finding.distribution:<{dist_width}}  {finding.path or '-'}")
        lines.append(f"{indent}reason: {finding.reason}")
        lines.append(f"{indent}fix:    {finding.fix}")
    return "\n".join(lines)


def plural(count: int, word: str) -> str:
    """``1 error``, ``2 errors``."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def counts(findings: Sequence[Finding]) -> str:
    """``2 errors, 1 warning``."""
    return f"{plural(len(errors(findings)), 'error')}, {plural(len(warnings(findings)), 'warning')}"


def to_json(findings: Sequence[Finding], **about: object) -> str:
    """The JSON document ``verify --json`` prints (schema in the README, section "pip-lambda verify")."""
    document: dict[str, object] = {"schema": JSON_SCHEMA, "version": JSON_VERSION}
    document.update(about)
    document["ok"] = not errors(findings)
    document["errors"] = len(errors(findings))
    document["warnings"] = len(warnings(findings))
    document["findings"] = [finding.as_json() for finding in ordered(findings)]
    return json.dumps(document, indent=2)
