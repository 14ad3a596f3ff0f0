"""The table of Lambda Python runtimes, loaded from ``data/runtimes.json``."""

from __future__ import annotations

import datetime
import functools
import json
import sys
from dataclasses import dataclass
from importlib import resources

from pip_lambda.errors import UsageError


@dataclass(frozen=True)
class Runtime:
    """One Lambda Python runtime as AWS documents it."""

    name: str
    python: tuple[int, int]
    os: str
    glibc: tuple[int, int]
    architectures: tuple[str, ...]
    released: datetime.date
    deprecated: datetime.date
    block_create: datetime.date
    block_update: datetime.date

    @property
    def python_version(self) -> str:
        """``"3.12"`` for python3.12."""
        return f"{self.python[0]}.{self.python[1]}"

    @property
    def cpython_tag(self) -> str:
        """``"cp312"`` for python3.12."""
        return f"cp{self.python[0]}{self.python[1]}"

    def deprecation_notice(self, today: datetime.date) -> str | None:
        """A sentence naming the deprecation dates, or None while the runtime is supported."""
        if today < self.deprecated:
            return None
        return (
            f"{self.name} is deprecated since {self.deprecated.isoformat()}: "
            f"AWS blocks creating functions on {self.block_create.isoformat()} and updating them "
            f"on {self.block_update.isoformat()}; move to a newer runtime"
        )


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


@functools.cache
def all_runtimes() -> tuple[Runtime, ...]:
    """Every runtime in the table, oldest first."""
    raw = json.loads(resources.files("pip_lambda").joinpath("data/runtimes.json").read_text("utf-8"))
    return tuple(
        Runtime(
            name=entry["name"],
            python=_version(entry["python"]),
            os=entry["os"],
            glibc=_version(entry["glibc"]),
            architectures=tuple(entry["architectures"]),
            released=datetime.date.fromisoformat(entry["released"]),
            deprecated=datetime.date.fromisoformat(entry["deprecated"]),
            block_create=datetime.date.fromisoformat(entry["block_create"]),
            block_update=datetime.date.fromisoformat(entry["block_update"]),
        )
        for entry in raw["runtimes"]
    )


def runtime_names() -> list[str]:
    return [runtime.name for runtime in all_runtimes()]


def get_runtime(name: str) -> Runtime:
    """The runtime called ``name``; ``3.12`` is accepted for ``python3.12``."""
    wanted = name if name.startswith("python") else f"python{name}"
    for runtime in all_runtimes():
        if runtime.name == wanted:
            return runtime
    raise UsageError(
        f"unknown runtime {name!r}",
        hint=f"choose one of: {', '.join(runtime_names())}",
    )


def default_runtime(version_info: tuple[int, int] | None = None) -> Runtime:
    """The runtime matching the running interpreter, so a tox environment builds for itself."""
    major, minor = version_info or sys.version_info[:2]
    for runtime in all_runtimes():
        if runtime.python == (major, minor):
            return runtime
    raise UsageError(
        f"Lambda has no runtime for this interpreter's Python {major}.{minor}, so --runtime is needed",
        hint=f"pass --runtime with one of: {', '.join(runtime_names())}",
    )
