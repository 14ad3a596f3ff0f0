"""The fixes findings suggest, worded once for every check."""

from __future__ import annotations

from pip_lambda.plan.target import Target


def reinstall(target: Target) -> str:
    return f"reinstall with 'pip-lambda install --runtime {target.runtime.name} --arch {target.arch}', which picks wheels for the target"


def glibc_of(target: Target) -> str:
    major, minor = target.runtime.glibc
    return f"{target.runtime.name}'s glibc {major}.{minor} ({target.runtime.os})"
