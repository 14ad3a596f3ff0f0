"""The table of Lambda Python runtimes and the facts checked against them, from ``data/runtimes.json``.

The file is validated when it is loaded, as auditwheel validates its policy
file: every field present and of its type, versions that parse, runtimes in
order, and each runtime's OS providing at least what the OS of an older
runtime provides.  A broken file is one clear error, not a traceback later.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from importlib import resources

from pip_lambda.errors import EnvironmentProblem, UsageError

Version = tuple[int, ...]

ARCHITECTURES = ("x86_64", "arm64")
MACHINES = ("x86_64", "aarch64")
_VERSION = re.compile(r"\d+(\.\d+)*")


@dataclass(frozen=True)
class OperatingSystem:
    """The OS under a runtime: the highest symbol version of each family its libraries define."""

    name: str
    gcc: str
    symbol_versions: tuple[tuple[str, Version], ...]
    """(family, highest version): ``("GLIBC", (2, 26))``, ``("GLIBCXX", (3, 4, 24))``…"""
    named_symbol_versions: frozenset[str]
    """Version nodes without a number that the OS defines (``CXXABI_TM_1``)."""

    def highest(self, family: str) -> Version | None:
        return dict(self.symbol_versions).get(family)

    def provides(self, node: str) -> bool:
        """Whether the OS's libraries define the version node; nodes of families not in the table pass."""
        family, version = version_node(node)
        highest = self.highest(family)
        if highest is None or node in self.named_symbol_versions:
            return True
        return version is not None and version <= highest


@dataclass(frozen=True)
class Runtime:
    """One Lambda Python runtime as AWS documents it."""

    name: str
    python: tuple[int, int]
    system: OperatingSystem
    architectures: tuple[str, ...]
    released: datetime.date
    deprecated: datetime.date
    block_create: datetime.date
    block_update: datetime.date

    @property
    def os(self) -> str:
        return self.system.name

    @property
    def glibc(self) -> tuple[int, int]:
        major, minor = self.system.highest("GLIBC") or (0, 0)
        return major, minor

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


@dataclass(frozen=True)
class RuntimeProvided:
    """The AWS SDK every runtime ships."""

    sdk: tuple[str, ...]
    """Distributions bundled all together or not at all."""
    excluded: tuple[str, ...]
    """What --exclude-runtime-provided leaves out as one unit: the SDK first, then what goes with it."""
    modules: frozenset[str]
    """Top-level modules the runtime imports without the package."""


@dataclass(frozen=True)
class RuntimeTable:
    runtimes: tuple[Runtime, ...]
    named_symbol_versions: tuple[tuple[str, str], ...]
    legacy_aliases: tuple[tuple[str, tuple[int, int]], ...]
    """PEP 600 aliases, newest first: (``manylinux2014``, (2, 17))…"""
    oldest_glibc: tuple[tuple[str, tuple[int, int]], ...]
    """(machine, the oldest glibc a manylinux tag names there)."""
    runtime_provided: RuntimeProvided


class BrokenTable(Exception):
    """``data/runtimes.json`` does not hold what the code expects."""


def version_node(node: str) -> tuple[str, Version | None]:
    """``GLIBCXX_3.4.29`` → ("GLIBCXX", (3, 4, 29)); named nodes map through the table, else None."""
    family, _, rest = node.partition("_")
    if _VERSION.fullmatch(rest):
        return family, _parse_version(rest)
    introduced = dict(table().named_symbol_versions).get(node)
    return family, _parse_version(introduced.partition("_")[2]) if introduced else None


def _parse_version(text: str) -> Version:
    return tuple(int(part) for part in text.split("."))


# --- validation ---------------------------------------------------------------------------------


def _object(value: object, where: str, required: Collection[str]) -> dict[str, object]:
    if not isinstance(value, dict):
        raise BrokenTable(f"{where}: expected an object")
    fields = {key: item for key, item in value.items() if not str(key).startswith("_")}
    unknown = sorted(set(fields) - set(required))
    missing = [key for key in required if key not in fields]
    if unknown or missing:
        raise BrokenTable(f"{where}: {'unknown field ' + unknown[0] if unknown else 'missing field ' + missing[0]}")
    return fields


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BrokenTable(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _texts(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise BrokenTable(f"{where}: expected a non-empty list of strings")
    items = tuple(_text(item, f"{where}[{index}]") for index, item in enumerate(value))
    if len(set(items)) != len(items):
        raise BrokenTable(f"{where}: an entry is listed twice")
    return items


def _version(value: object, where: str, parts: int | None = None) -> Version:
    text = _text(value, where)
    if not _VERSION.fullmatch(text) or (parts is not None and text.count(".") + 1 != parts):
        raise BrokenTable(f"{where}: {text!r} is not a version like {'2.26' if parts == 2 else '3.4.29'}")
    return _parse_version(text)


def _pair(value: object, where: str) -> tuple[int, int]:
    major, minor = _version(value, where, parts=2)
    return major, minor


def _date(value: object, where: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(_text(value, where))
    except ValueError:
        raise BrokenTable(f"{where}: {value!r} is not a date like 2027-03-03") from None


def _system(value: object, where: str) -> OperatingSystem:
    fields = _object(value, where, ("name", "gcc", "symbol_versions", "named_symbol_versions"))
    raw_versions = fields["symbol_versions"]
    if not isinstance(raw_versions, dict) or "GLIBC" not in raw_versions:
        raise BrokenTable(f"{where}.symbol_versions: expected an object with at least GLIBC")
    versions = tuple(
        (_text(family, f"{where}.symbol_versions"), _version(text, f"{where}.symbol_versions.{family}"))
        for family, text in raw_versions.items()
    )
    _pair(raw_versions["GLIBC"], f"{where}.symbol_versions.GLIBC")
    return OperatingSystem(
        _text(fields["name"], f"{where}.name"),
        _text(fields["gcc"], f"{where}.gcc"),
        versions,
        frozenset(_texts(fields["named_symbol_versions"], f"{where}.named_symbol_versions")),
    )


def _runtime(value: object, where: str, systems: dict[str, OperatingSystem]) -> Runtime:
    keys = ("name", "python", "os", "architectures", "released", "deprecated", "block_create", "block_update")
    fields = _object(value, where, keys)
    name, python = _text(fields["name"], f"{where}.name"), _pair(fields["python"], f"{where}.python")
    if name != f"python{python[0]}.{python[1]}":
        raise BrokenTable(f"{where}: the name {name!r} does not match python {python[0]}.{python[1]}")
    system = systems.get(_text(fields["os"], f"{where}.os"))
    if system is None:
        raise BrokenTable(f"{where}.os: {fields['os']!r} is not one of the operating_systems")
    architectures = _texts(fields["architectures"], f"{where}.architectures")
    if not set(architectures) <= set(ARCHITECTURES):
        raise BrokenTable(f"{where}.architectures: expected some of {', '.join(ARCHITECTURES)}")
    dates = [_date(fields[key], f"{where}.{key}") for key in keys[4:]]
    if not dates[0] < dates[1] <= dates[2] <= dates[3]:
        raise BrokenTable(f"{where}: expected released < deprecated <= block_create <= block_update")
    return Runtime(name, python, system, architectures, *dates)


def _check_order(runtimes: tuple[Runtime, ...]) -> None:
    """Runtimes oldest first, each OS providing at least what the OS of the runtime before it does."""
    for older, newer in zip(runtimes, runtimes[1:]):
        if newer.python <= older.python:
            raise BrokenTable(f"runtimes: {newer.name} comes after {older.name}; list them oldest first")
        for family, version in older.system.symbol_versions:
            if (newer.system.highest(family) or ()) < version:
                raise BrokenTable(f"runtimes: {newer.name}'s OS has older {family} than {older.name}'s")


def _aliases(value: object, where: str, keys: Iterable[str] | None = None) -> tuple[tuple[str, tuple[int, int]], ...]:
    if not isinstance(value, dict) or not value:
        raise BrokenTable(f"{where}: expected a non-empty object")
    pairs = tuple((_text(key, where), _pair(text, f"{where}.{key}")) for key, text in value.items())
    if keys is not None and sorted(key for key, _ in pairs) != sorted(keys):
        raise BrokenTable(f"{where}: expected exactly {', '.join(sorted(keys))}")
    return pairs


def parse_table(raw: object) -> RuntimeTable:
    """The validated table; BrokenTable names the first field that is wrong."""
    keys = ("operating_systems", "named_symbol_versions", "manylinux", "runtime_provided", "runtimes")
    fields = _object(raw, "runtimes.json", keys)
    raw_systems = fields["operating_systems"]
    if not isinstance(raw_systems, list) or not raw_systems:
        raise BrokenTable("operating_systems: expected a non-empty list")
    systems = {
        system.name: system
        for index, item in enumerate(raw_systems)
        for system in [_system(item, f"operating_systems[{index}]")]
    }
    raw_runtimes = fields["runtimes"]
    if not isinstance(raw_runtimes, list) or not raw_runtimes:
        raise BrokenTable("runtimes: expected a non-empty list")
    runtimes = tuple(_runtime(item, f"runtimes[{index}]", systems) for index, item in enumerate(raw_runtimes))
    _check_order(runtimes)
    named = fields["named_symbol_versions"]
    if not isinstance(named, dict):
        raise BrokenTable("named_symbol_versions: expected an object")
    for node, numbered in named.items():
        family, _, rest = _text(numbered, f"named_symbol_versions.{node}").partition("_")
        if not node.startswith(family + "_") or not _VERSION.fullmatch(rest):
            raise BrokenTable(f"named_symbol_versions.{node}: expected a numbered node of its family, like GLIBC_2.36")
    manylinux = _object(fields["manylinux"], "manylinux", ("legacy_aliases", "oldest_glibc"))
    aliases = _aliases(manylinux["legacy_aliases"], "manylinux.legacy_aliases")
    if [version for _, version in aliases] != sorted((version for _, version in aliases), reverse=True):
        raise BrokenTable("manylinux.legacy_aliases: list the newest alias first")
    provided = _object(fields["runtime_provided"], "runtime_provided", ("sdk", "excluded_with_sdk", "modules"))
    sdk = _texts(provided["sdk"], "runtime_provided.sdk")
    modules = _texts(provided["modules"], "runtime_provided.modules")
    if not all(module.isidentifier() for module in modules):
        raise BrokenTable("runtime_provided.modules: expected module names")
    return RuntimeTable(
        runtimes,
        tuple((str(node), str(numbered)) for node, numbered in named.items()),
        aliases,
        _aliases(manylinux["oldest_glibc"], "manylinux.oldest_glibc", MACHINES),
        RuntimeProvided(
            sdk, sdk + _texts(provided["excluded_with_sdk"], "runtime_provided.excluded_with_sdk"), frozenset(modules)
        ),
    )


@functools.cache
def table() -> RuntimeTable:
    """The runtime table shipped with pip-lambda, validated once per process."""
    source = resources.files("pip_lambda").joinpath("data/runtimes.json")
    try:
        return parse_table(json.loads(source.read_text("utf-8")))
    except (BrokenTable, ValueError) as error:
        raise EnvironmentProblem(
            f"pip-lambda's runtime table {source} is broken: {error}",
            hint="reinstall pip-lambda; if you edited that file, fix the field named",
        ) from None


# --- lookups ------------------------------------------------------------------------------------


def all_runtimes() -> tuple[Runtime, ...]:
    """Every runtime in the table, oldest first."""
    return table().runtimes


def runtime_provided() -> RuntimeProvided:
    return table().runtime_provided


def runtime_names() -> list[str]:
    return [runtime.name for runtime in all_runtimes()]


def runtimes_providing(nodes: Iterable[str]) -> tuple[Runtime, ...]:
    """The runtimes whose OS defines every one of the version nodes, oldest first."""
    wanted = list(nodes)
    return tuple(runtime for runtime in all_runtimes() if all(runtime.system.provides(node) for node in wanted))


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
