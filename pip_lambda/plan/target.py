"""What a build is for: a runtime on an architecture, its platform tags and marker environment."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pip_lambda.errors import UsageError
from pip_lambda.plan.runtimes import Runtime

if TYPE_CHECKING:
    from packaging.tags import Tag

# x86_64 manylinux starts at glibc 2.5 (manylinux1); aarch64 at 2.17 (manylinux2014).
_OLDEST_GLIBC_MINOR = {"x86_64": 5, "aarch64": 17}
# PEP 600 aliases, newest first: manylinux2014 is glibc 2.17, manylinux2010 2.12, manylinux1 2.5.
_LEGACY_ALIASES = (("manylinux2014", 17), ("manylinux2010", 12), ("manylinux1", 5))


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
        ceiling = self.runtime.glibc[1]
        tags = [f"manylinux_2_{minor}_{machine}" for minor in range(ceiling, _OLDEST_GLIBC_MINOR[machine] - 1, -1)]
        legacy = [f"{alias}_{machine}" for alias, minor in _LEGACY_ALIASES if minor >= _OLDEST_GLIBC_MINOR[machine]]
        return tuple(tags + legacy)

    @property
    def supported_tags(self) -> tuple[Tag, ...]:
        """Every wheel tag the runtime loads, most preferred first, as packaging (and pip) rank them."""
        from packaging.tags import compatible_tags, cpython_tags

        version = self.runtime.python
        platforms = list(self.platform_tags)
        return (*cpython_tags(version, platforms=platforms), *compatible_tags(version, platforms=platforms))

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
