"""``--exclude PATTERN`` and ``--exclude-package NAME``: what to leave out of the package, by path or by distribution.

Patterns follow .gitignore habits, matched against paths relative to the
package root (the ``python/`` folder of a layer):

- a pattern without ``/`` matches a file or folder name at any depth
  (``*.md``, ``tests``);
- a pattern with ``/`` matches from the root (``numpy/doc``, ``pkg/*/fixtures``);
- ``*`` and ``?`` stay within one path component, ``**`` spans any number;
- a matching folder takes everything under it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

from pip_lambda.errors import UsageError
from pip_lambda.tree.distributions import Distribution


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A regular expression that fully matches the paths ``pattern`` excludes."""
    text = pattern.replace("\\", "/").strip()
    anchored = "/" in text.rstrip("/")
    text = text.strip("/")
    if not text:
        raise UsageError(f"--exclude {pattern!r} matches nothing", hint="give a glob such as '*.md' or 'pkg/docs'")
    parts: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if text.startswith("**/", index):
            parts.append("(?:[^/]+/)*")
            index += 3
            continue
        if text.startswith("**", index):
            parts.append(".*")
            index += 2
            continue
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        elif char == "[" and "]" in text[index + 2 :]:
            end = text.index("]", index + 2)
            members = text[index + 1 : end]
            negated = members.startswith("!")
            members = re.sub(r"([\\\]^])", r"\\\1", members[1:] if negated else members)
            parts.append(f"[{'^/' if negated else ''}{members}]")
            index = end
        else:
            parts.append(re.escape(char))
        index += 1
    prefix = "" if anchored else "(?:.*/)?"
    return re.compile(f"{prefix}{''.join(parts)}(?:/.*)?", re.DOTALL)


def matching(paths: Iterable[str], patterns: Sequence[str]) -> list[str]:
    """The paths (relative, with ``/``) that any of ``patterns`` excludes."""
    compiled = [compile_pattern(pattern) for pattern in patterns]
    return [path for path in paths if any(regex.fullmatch(path) for regex in compiled)]


def distribution_files(site: Path, distribution: Distribution) -> set[str]:
    """The files a distribution owns: those its RECORD lists (confined to ``site``), and everything in its ``.dist-info``."""
    owned = set(distribution.files)
    dist_info = site / distribution.dist_info
    owned.update(path.relative_to(site).as_posix() for path in dist_info.rglob("*") if path.is_file())
    return {path for path in owned if (site / path).is_file()}


def files_of(site: Path, leaving: Sequence[Distribution], staying: Sequence[Distribution]) -> list[str]:
    """Files of the ``leaving`` distributions that none of the ``staying`` ones also lists (shared namespaces)."""
    kept: set[str] = set()
    for distribution in staying:
        kept.update(distribution.files)
    gone: set[str] = set()
    for distribution in leaving:
        gone.update(distribution_files(site, distribution))
    return sorted(gone - kept)


def select(distributions: Sequence[Distribution], names: Sequence[str]) -> tuple[list[Distribution], list[str]]:
    """The installed distributions called ``names`` (any spelling), and the names not installed."""
    wanted = {canonicalize_name(name): name for name in names}
    found = [distribution for distribution in distributions if distribution.key in wanted]
    missing = [name for key, name in wanted.items() if key not in {dist.key for dist in found}]
    return found, missing
