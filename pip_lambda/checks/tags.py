"""The ``wheel-tags`` check: will the runtime load a wheel with these tags.

Whether it loads is decided by ``packaging.tags``: a tag loads when it is one
of the target's supported tags (:attr:`Target.supported_tags`, the tags pip
accepts for the runtime's Python, ABI and platforms).  The code below only
words the reason for a tag that does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.parser import HeaderParser
from pathlib import Path

from packaging.tags import Tag, parse_tag

from pip_lambda.checks.advice import glibc_of, newer_glibc, reinstall
from pip_lambda.checks.findings import Finding, Level
from pip_lambda.plan.target import Target
from pip_lambda.tree.distributions import Distribution

Problem = tuple[Level, str, str]
"""(level, reason, fix)."""


def tag_problem(tag: Tag, target: Target) -> Problem | None:
    """Why the runtime cannot load a wheel with this tag (level, reason, fix), or None when it can."""
    if tag in target.supported_tag_set:
        return None
    return _implementation_problem(tag, target) or _platform_problem(tag, target) or _combination_problem(tag, target)


def _python_version(digits: str) -> tuple[int, ...]:
    """``3`` → (3,), ``311`` → (3, 11)."""
    return (int(digits[0]), int(digits[1:])) if len(digits) > 1 else (int(digits),)


def _implementation_problem(tag: Tag, target: Target) -> Problem | None:
    """The interpreter or ABI is not Lambda's CPython of the runtime's version."""
    runtime, advice = target.runtime, reinstall(target)
    interpreter, abi = tag.interpreter, tag.abi
    if interpreter.startswith("pp") or abi.startswith("pypy"):
        return Level.ERROR, f"a PyPy wheel ({tag}); Lambda runs CPython", advice
    if re.fullmatch(r"cp\d+t", abi):
        return (
            Level.ERROR,
            f"a free-threaded CPython wheel ({tag}); Lambda's CPython is built without free threading",
            advice,
        )
    digits = interpreter[2:]
    if interpreter[:2] not in ("cp", "py") or not digits.isdigit():
        return Level.ERROR, f"a wheel for another Python implementation ({tag})", advice
    version = _python_version(digits)
    if version[0] != 3 or version[1:] > runtime.python[1:]:
        return (
            Level.ERROR,
            f"a wheel for Python {'.'.join(map(str, version))} ({tag}), not {runtime.python_version}",
            advice,
        )
    if abi not in ("none", "abi3") and not (abi == runtime.cpython_tag and interpreter == runtime.cpython_tag):
        return (
            Level.ERROR,
            f"a wheel for the ABI {abi} ({tag}); {runtime.name} loads {runtime.cpython_tag}, abi3 or none",
            advice,
        )
    return None


def _platform_problem(tag: Tag, target: Target) -> Problem | None:
    """The platform is not one the runtime's OS and architecture load."""
    runtime, machine, platform = target.runtime, target.arch.machine, tag.platform
    if platform == "any" or target.loads_platform(platform):
        return None
    advice = reinstall(target)
    if platform == f"linux_{machine}":
        return (
            Level.WARNING,
            f"a locally built wheel ({tag}): it loads only if built against glibc {runtime.glibc[0]}.{runtime.glibc[1]} or older (see the ELF findings)",
            f"prefer a manylinux wheel, or build it in the Lambda build image (public.ecr.aws/sam/build-{runtime.name})",
        )
    if platform.startswith("musllinux"):
        return Level.ERROR, f"a musl wheel ({tag}); Lambda runs glibc", advice
    if platform.startswith("macosx"):
        return Level.ERROR, f"a macOS wheel ({tag})", advice
    if platform.startswith("win"):
        return Level.ERROR, f"a Windows wheel ({tag})", advice
    newer = re.fullmatch(rf"manylinux_(\d+)_(\d+)_{machine}", platform)
    if newer and (int(newer.group(1)), int(newer.group(2))) > runtime.glibc:
        major, minor = runtime.glibc
        return (
            Level.ERROR,
            f"a wheel for glibc {newer.group(1)}.{newer.group(2)} ({tag}), newer than {glibc_of(target)}",
            f"pin a release with a manylinux_{major}_{minor}-or-older wheel (pip-lambda install picks one)"
            + newer_glibc([f"GLIBC_{newer.group(1)}.{newer.group(2)}"]),
        )
    return Level.ERROR, f"a wheel for another platform or architecture ({tag}), not {target}", advice


def _combination_problem(tag: Tag, target: Target) -> Problem:
    """Each part would load, but not together: pip installs no wheel with this combination."""
    runtime = target.runtime
    if tag.abi == "none" and tag.interpreter.startswith("cp"):
        why = f"a cpXY-none wheel is for that CPython version only, and {runtime.name} is {runtime.cpython_tag}"
    elif tag.abi == "abi3" and not tag.interpreter.startswith("cp3"):
        why = "the stable ABI (abi3) goes with a cp3X interpreter tag"
    elif tag.platform == "any":
        why = f"a wheel built for the ABI {tag.abi} names a platform, never any"
    else:
        why = f"it is not among the tags pip installs for {runtime.name}"
    return Level.ERROR, f"a wheel tagged {tag}, which no installer accepts for {target}: {why}", reinstall(target)


def read_wheel_tags(wheel_file: Path) -> list[Tag]:
    """The ``Tag:`` lines of a WHEEL file; a line that is not a tag is skipped (it matches nothing)."""
    headers = HeaderParser().parsestr(wheel_file.read_text("utf-8", errors="replace"))
    tags: list[Tag] = []
    for value in headers.get_all("Tag") or []:
        try:
            tags.extend(parse_tag(str(value).strip()))
        except ValueError:
            continue
    return tags


def check_wheel_tags(distribution: Distribution, dist_info: str, tags: Sequence[Tag], target: Target) -> list[Finding]:
    """A distribution loads when one of its tags does; otherwise report the mildest problem."""
    problems = []
    for tag in tags:
        problem = tag_problem(tag, target)
        if problem is None:
            return []
        problems.append(problem)
    if not problems:
        return []
    level, reason, fix = min(problems, key=lambda problem: problem[0] is Level.ERROR)
    return [Finding(level, "wheel-tags", str(distribution), f"{dist_info}/WHEEL", f"installed from {reason}", fix)]
