"""The ``wheel-tags`` check: will the runtime load a wheel with these tags."""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.parser import HeaderParser
from pathlib import Path

from packaging.tags import Tag, parse_tag

from pip_lambda.checks.advice import glibc_of, reinstall
from pip_lambda.checks.findings import Finding, Level
from pip_lambda.plan.target import Target
from pip_lambda.tree.distributions import Distribution


def _python_version(digits: str) -> tuple[int, ...]:
    """``3`` → (3,), ``311`` → (3, 11)."""
    return (int(digits[0]), int(digits[1:])) if len(digits) > 1 else (int(digits),)


def tag_problem(tag: Tag, target: Target) -> tuple[Level, str, str] | None:
    """Why the runtime cannot load a wheel with this tag (level, reason, fix), or None when it can."""
    runtime, machine = target.runtime, target.arch.machine
    advice = reinstall(target)
    interpreter, abi, platform = tag.interpreter, tag.abi, tag.platform
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
    if platform == "any" or target.loads_platform(platform):
        return None
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
        return (
            Level.ERROR,
            f"a wheel for glibc {newer.group(1)}.{newer.group(2)} ({tag}), newer than {glibc_of(target)}",
            f"pin a release with a manylinux_{runtime.glibc[0]}_{runtime.glibc[1]}-or-older wheel (pip-lambda install picks one), or use a runtime with a newer glibc (python3.12+ has 2.34)",
        )
    return Level.ERROR, f"a wheel for another platform or architecture ({tag}), not {target}", advice


def read_wheel_tags(wheel_file: Path) -> list[Tag]:
    headers = HeaderParser().parsestr(wheel_file.read_text("utf-8", errors="replace"))
    return [tag for value in headers.get_all("Tag") or [] for tag in parse_tag(value.strip())]


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
