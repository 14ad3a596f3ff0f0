"""The fixes findings suggest, worded once for every check; the facts in them come from the runtime table."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from pip_lambda.plan.runtimes import Runtime, all_runtimes, runtimes_providing
from pip_lambda.plan.target import Target


def reinstall(target: Target) -> str:
    return f"reinstall with 'pip-lambda install --runtime {target.runtime.name} --arch {target.arch}', which picks wheels for the target"


def glibc_of(target: Target) -> str:
    major, minor = target.runtime.glibc
    return f"{target.runtime.name}'s glibc {major}.{minor} ({target.runtime.os})"


def runtime_names(runtimes: Sequence[Runtime]) -> str:
    """``python3.12+`` when they are the newest of the table, else their names."""
    everything = all_runtimes()
    if len(runtimes) > 1 and tuple(everything[-len(runtimes) :]) == tuple(runtimes):
        return f"{runtimes[0].name}+"
    return ", ".join(runtime.name for runtime in runtimes)


def newer_runtime(nodes: Collection[str], what: str, has: Callable[[Runtime], str]) -> str:
    """The end of a fix: ``, or a runtime with a newer glibc (python3.12+ has 2.34)``, from the table."""
    found = runtimes_providing(nodes)
    if not found:
        return f"; no Lambda runtime has a {what} that new yet"
    return f", or a runtime with a newer {what} ({runtime_names(found)} has {has(found[0])})"


def newer_glibc(nodes: Collection[str]) -> str:
    return newer_runtime(nodes, "glibc", lambda runtime: f"{runtime.glibc[0]}.{runtime.glibc[1]}")
