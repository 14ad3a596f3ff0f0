"""The optional step between the installed tree and the zip: leave out, slim, strip, compile.

Order matters and is fixed: whole distributions first (runtime-provided, then
--exclude-package, both by RECORD), then --exclude patterns, then the slim
rules, then --strip, and --compile last so only code that ships gets bytecode.
Files go only through :func:`pip_lambda.tree.paths.remove_files`, and every
RECORD is brought back in line with the tree after each step.  The host's
``__pycache__`` is gone already (tree.clean.clean_site runs before).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from pip_lambda.pip.requirements import RequirementSet
from pip_lambda.plan.request import TrimOptions
from pip_lambda.plan.target import Target
from pip_lambda.tree.distributions import Distribution, find_distributions, update_records
from pip_lambda.tree.paths import remove_files
from pip_lambda.tree.staging import MARKER
from pip_lambda.trim import bytecode, exclude, slim
from pip_lambda.trim import runtime_provided as runtimeprovided

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrimResult:
    size_before: int
    size_after: int
    saved: tuple[tuple[str, int], ...]
    """(step, bytes) in the order the steps ran; slim rules are ``slim:<rule>``; --compile adds, so it is negative."""
    left_out: tuple[str, ...]
    """Distributions removed whole, as ``name==version``."""
    distributions: tuple[Distribution, ...]
    """What remains installed, with the files each RECORD listed before --slim's ``record`` rule removed it."""
    warnings: tuple[str, ...] = ()


def all_files(site: Path) -> list[str]:
    """Every file of the package (relative, with ``/``); pip-lambda's own marker is not part of it."""
    files = (path.relative_to(site).as_posix() for path in site.rglob("*") if path.is_file())
    return sorted(name for name in files if name != MARKER)


def tree_size(site: Path) -> int:
    return sum((site / name).lstat().st_size for name in all_files(site))


def remove(site: Path, paths: Iterable[str], warnings: list[str]) -> int:
    """Delete files (relative paths) and the folders they leave empty, then drop their RECORD rows; the bytes saved."""
    before = tree_size(site)
    remove_files(site, paths)
    warnings.extend(update_records(site))
    return before - tree_size(site)


def trim(site: Path, options: TrimOptions, target: Target, requirements: RequirementSet, origin: str) -> TrimResult:
    """Apply the options to the installed tree at ``site``; ``requirements`` are the build's, ``origin`` is where Lambda sees it."""
    if not options.active:
        return TrimResult(0, 0, (), (), tuple(find_distributions(site)))
    size_before = tree_size(site)
    saved: list[tuple[str, int]] = []
    warnings: list[str] = []
    leaving = _remove_distributions(site, options, target, requirements, saved, warnings)
    if options.exclude:
        saved.append(("exclude", remove(site, exclude.matching(all_files(site), options.exclude), warnings)))
    slimmed = slim.plan(site, _owned(site, find_distributions(site))) if options.slim else {}
    for rule, paths in slimmed.items():
        if rule != "record":
            saved.append((f"slim:{rule}", remove(site, paths, warnings)))
    if options.strip:
        saved.append(("strip", _strip(site, target, warnings)))
    # Read while RECORD still lists each distribution's files, so their sizes are known.
    distributions = find_distributions(site)
    if "record" in slimmed:
        saved.append(("slim:record", remove(site, slimmed["record"], warnings)))
    if options.compile:
        saved.append(("compile", -_compile(site, options, target, origin)))
    size_after = tree_size(site)
    return TrimResult(
        size_before,
        size_after,
        tuple(saved),
        tuple(str(dist) for dist in sorted(leaving, key=lambda dist: dist.key)),
        tuple(distributions),
        tuple(warnings),
    )


def _remove_distributions(
    site: Path,
    options: TrimOptions,
    target: Target,
    requirements: RequirementSet,
    saved: list[tuple[str, int]],
    warnings: list[str],
) -> list[Distribution]:
    """--exclude-runtime-provided, then --exclude-package; the distributions removed."""
    leaving: list[Distribution] = []
    if options.exclude_runtime_provided:
        distributions = find_distributions(site)
        planned = runtimeprovided.plan(site, distributions, target, runtimeprovided.requested(requirements))
        if planned.pins:
            warnings.append(runtimeprovided.pin_warning(planned.pins))
        saved.append(("runtime-provided", _leave_out(site, planned.leaving, distributions, warnings)))
        leaving.extend(planned.leaving)
    if options.exclude_packages:
        distributions = find_distributions(site)
        chosen, missing = exclude.select(distributions, options.exclude_packages)
        already = {dist.key for dist in leaving}
        warnings.extend(
            f"--exclude-package {name}: not installed, nothing left out"
            for name in missing
            if canonicalize_name(name) not in already
        )
        saved.append(("exclude-package", _leave_out(site, chosen, distributions, warnings)))
        leaving.extend(chosen)
    return leaving


def _compile(site: Path, options: TrimOptions, target: Target, origin: str) -> int:
    """Write the bytecode; the bytes it adds."""
    interpreter = bytecode.compile_interpreter(target, options.python)
    before = tree_size(site)
    compiled = bytecode.compile_tree(site, interpreter, origin)
    log.info("compiled %d modules with %s", compiled.files, " ".join(compiled.interpreter))
    return tree_size(site) - before


def _owned(site: Path, distributions: Sequence[Distribution]) -> set[str]:
    owned: set[str] = set()
    for distribution in distributions:
        owned.update(exclude.distribution_files(site, distribution))
    return owned


def _leave_out(
    site: Path, leaving: Sequence[Distribution], installed: Sequence[Distribution], warnings: list[str]
) -> int:
    if leaving:
        log.info("leaving out %s", ", ".join(str(dist) for dist in leaving))
    staying = [dist for dist in installed if dist not in leaving]
    return remove(site, exclude.files_of(site, leaving, staying), warnings)


def _strip(site: Path, target: Target, warnings: list[str]) -> int:
    before = tree_size(site)
    from pip_lambda.trim.strip import (
        strip_files,  # pyelftools loads only when --strip is asked for: a no-op rebuild stays fast
    )

    result = strip_files(site, all_files(site), target)
    if result.tool is None and result.kept:
        warnings.append(
            "--strip: no 'strip' command on this machine (install binutils); shared objects left as they were"
        )
    elif result.kept:
        log.info(
            "--strip left %d file(s) as they were (strip failed or a check did not pass; -v says why)", len(result.kept)
        )
    log.debug("--strip: %d stripped, %d had nothing to strip", len(result.stripped), len(result.unchanged))
    warnings.extend(update_records(site, changed=set(result.stripped)))
    return before - tree_size(site)
