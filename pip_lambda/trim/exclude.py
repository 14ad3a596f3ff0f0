"""``--exclude PATTERN`` and ``--exclude-package NAME``: what to leave out of the package, by path or by distribution.

Patterns are .gitignore patterns (``pathspec``'s implementation of git's
rules), matched against paths relative to the package root (the ``python/``
folder of a layer):

- a pattern without ``/`` matches a file or folder name at any depth
  (``*.md``, ``tests``);
- a pattern with ``/`` matches from the root (``numpy/doc``, ``pkg/*/fixtures``);
- ``*`` and ``?`` stay within one path component, ``**`` spans any number;
- a matching folder takes everything under it;
- ``!`` brings back what an earlier pattern left out, ``\\`` escapes the next character.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from pip_lambda.errors import UsageError
from pip_lambda.tree.distributions import Distribution

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

_HINT = "give a .gitignore pattern such as '*.md' or 'pkg/docs'"


def compile_patterns(patterns: Sequence[str]) -> GitIgnoreSpec:
    """The patterns as one .gitignore specification; a pattern that is invalid or can match nothing is a UsageError."""
    from pathspec import GitIgnoreSpec  # here: most builds exclude nothing, and pathspec takes a while to import

    for pattern in patterns:
        try:
            compiled = GitIgnoreSpec.from_lines([pattern])
        except re.error as error:
            raise UsageError(f"--exclude {pattern!r} is not a valid pattern ({error.msg})", hint=_HINT) from None
        except ValueError:
            raise UsageError(f"--exclude {pattern!r} is not a valid pattern", hint=_HINT) from None
        if all(part.include is None for part in compiled.patterns):
            # An empty pattern, a comment, a lone '/' or an unclosed '[' matches nothing in .gitignore either.
            raise UsageError(f"--exclude {pattern!r} matches nothing", hint=_HINT)
    return GitIgnoreSpec.from_lines(patterns)


def matching(paths: Iterable[str], patterns: Sequence[str]) -> list[str]:
    """The paths (relative, with ``/``) that ``patterns`` exclude."""
    return list(compile_patterns(patterns).match_files(paths))


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
