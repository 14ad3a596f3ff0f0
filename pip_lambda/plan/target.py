"""What a build is for: a runtime on an architecture, its platform tags and marker environment."""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pip_lambda.errors import UsageError
from pip_lambda.plan.runtimes import Runtime, table

if TYPE_CHECKING:
    from packaging.tags import Tag


class Arch(enum.Enum):
    """A Lambda instruction set architecture, named as Lambda names it."""

    X86_64 = "x86_64"
    ARM64 = "arm64"

    def __str__(self) -> str:
        return self.value

    @property
    def machine(self) -> str:
        """The name in platform tags, ``platform.machine()`` and ELF documentation."""
        return "aarch64" if self is Arch.ARM64 else "x86_64"

    @classmethod
    def parse(cls, text: str) -> Arch:
        aliases = {"x86_64": cls.X86_64, "amd64": cls.X86_64, "arm64": cls.ARM64, "aarch64": cls.ARM64}
        try:
            return aliases[text.lower()]
        except KeyError:
            raise UsageError(
                f"unknown architecture {text!r}",
                hint="choose x86_64 (alias amd64) or arm64 (alias aarch64)",
            ) from None


@dataclass(frozen=True)
class Target:
    """A Lambda runtime on one architecture."""

    runtime: Runtime
    arch: Arch

    @property
    def platform_tags(self) -> tuple[str, ...]:
        """Every platform tag the target can load, most specific first, as pip ranks them.

        pip matches ``--platform`` values literally (it expands only the legacy
        ``manylinux2014``/``2010`` aliases), so each ``manylinux_2_N`` is listed.
        """
        machine = self.arch.machine
        major, ceiling = self.runtime.glibc
        oldest = dict(table().oldest_glibc)[machine]
        tags = [f"manylinux_{major}_{minor}_{machine}" for minor in range(ceiling, oldest[1] - 1, -1)]
        legacy = [
            f"{alias}_{machine}" for alias, glibc in table().legacy_aliases if oldest <= glibc <= self.runtime.glibc
        ]
        return tuple(tags + legacy)

    @property
    def supported_tags(self) -> tuple[Tag, ...]:
        """Every wheel tag the runtime loads, most preferred first, as packaging (and pip) rank them."""
        from packaging.tags import compatible_tags, cpython_tags

        version, interpreter = self.runtime.python, self.runtime.cpython_tag
        platforms = list(self.platform_tags)
        # The ABI and interpreter are Lambda's, as pip's --implementation cp names them: not this
        # machine's (a debug or free-threaded build here would add cp312d or cp313t).
        return (
            *cpython_tags(version, abis=[interpreter], platforms=platforms),
            *compatible_tags(version, interpreter=interpreter, platforms=platforms),
        )

    @functools.cached_property
    def supported_tag_set(self) -> frozenset[Tag]:
        """:attr:`supported_tags` for membership tests, computed once per target."""
        return frozenset(self.supported_tags)

    def loads_platform(self, tag: str) -> bool:
        """Whether a wheel platform tag (``manylinux_2_28_x86_64``, ``any``…) loads on the target."""
        return tag == "any" or tag in self.platform_tags

    @property
    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker values on the target, whatever machine runs the build.

        The patch level is unknown in advance (AWS updates runtimes in place), so
        ``python_full_version`` is ``X.Y.0``; kernel release and version are unknown too.
        """
        version = self.runtime.python_version
        return {
            "implementation_name": "cpython",
            "implementation_version": f"{version}.0",
            "os_name": "posix",
            "platform_machine": self.arch.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": f"{version}.0",
            "python_version": version,
            "sys_platform": "linux",
        }

    def __str__(self) -> str:
        return f"{self.runtime.name} {self.arch}"
