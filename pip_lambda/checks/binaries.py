"""The binary checks: format, machine, glibc, needed libraries and extension suffixes of every file."""

from __future__ import annotations

import functools
import json
import posixpath
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pip_lambda.checks.advice import glibc_of, reinstall
from pip_lambda.checks.elf import BinaryKind, CorruptElf, ElfInfo, kind_of, read_elf
from pip_lambda.checks.findings import Finding, Level
from pip_lambda.plan.target import Target

# glibc version nodes without a number, and the release that introduced them.
_NAMED_GLIBC_NODES = {"GLIBC_ABI_DT_RELR": (2, 36), "GLIBC_ABI_GNU_TLS": (2, 42), "GLIBC_ABI_GNU2_TLS": (2, 42)}
_OTHER_PLATFORM_LIBRARIES = (".dylib", ".dll")
_EXTENSION_SUFFIX = re.compile(r"\.cpython-(\d)(\d+)(t?)-([A-Za-z0-9_]+)-(linux-gnu|linux-musl|darwin)\.so$")


@functools.cache
def policy_libraries() -> frozenset[str]:
    """Sonames every Lambda runtime can resolve without the package shipping them."""
    raw = json.loads(resources.files("pip_lambda").joinpath("data/manylinux-libraries.json").read_text("utf-8"))
    return frozenset(raw["libraries"])


@dataclass(frozen=True)
class Package:
    """What the loader can find inside the package: its files and the folders on LD_LIBRARY_PATH."""

    files: frozenset[str]
    """Every file, relative to the package root, ``/``-separated."""
    library_dirs: tuple[str, ...]
    """Folders of the package on Lambda's LD_LIBRARY_PATH (``/var/task``, ``/var/task/lib``, ``/opt/lib``)."""


def _looks_loadable(name: str) -> bool:
    return name.endswith((".so", ".pyd")) or ".so." in name


def check_binary(path: str, file: Path, distribution: str, target: Target, package: Package) -> list[Finding]:
    """Findings for one file of the package; only ELF files and files named like libraries have any."""
    kind = kind_of(file)
    name = posixpath.basename(path)
    if kind is BinaryKind.ELF:
        try:
            info = read_elf(file)
        except CorruptElf as error:
            return [
                Finding(
                    Level.ERROR,
                    "binary-format",
                    distribution,
                    path,
                    f"a corrupt ELF file ({error})",
                    "reinstall the distribution; the file was damaged after the wheel was built",
                )
            ]
        return _check_elf(path, info, distribution, target, package)
    if kind in (BinaryKind.MACH_O, BinaryKind.PE) and not name.endswith(".class"):
        system = "macOS" if kind is BinaryKind.MACH_O else "Windows"
        if _looks_loadable(name):
            return [
                Finding(
                    Level.ERROR,
                    "binary-format",
                    distribution,
                    path,
                    f"a {kind} ({system}) binary, not ELF: Lambda fails with 'invalid ELF header'",
                    reinstall(target),
                )
            ]
        if name.endswith(_OTHER_PLATFORM_LIBRARIES):
            return [
                Finding(
                    Level.WARNING,
                    "binary-format",
                    distribution,
                    path,
                    f"a {kind} ({system}) library that Lambda cannot load",
                    reinstall(target),
                )
            ]
    return []


def _check_elf(path: str, info: ElfInfo, distribution: str, target: Target, package: Package) -> list[Finding]:
    machine = target.arch.machine
    if info.machine != machine or info.bits != 64:
        return [
            Finding(
                Level.ERROR,
                "elf-machine",
                distribution,
                path,
                f"built for {info.machine} ({info.bits}-bit), not {machine}: Lambda fails with 'wrong ELF class' or 'cannot open shared object file'",
                reinstall(target),
            )
        ]
    found = [*_check_glibc(path, info, distribution, target), *_check_needed(path, info, distribution, target, package)]
    if info.python_init:
        found.extend(_check_suffix(path, distribution, target))
    return found


def _glibc_version(node: str) -> tuple[int, ...] | None:
    number = node.removeprefix("GLIBC_")
    if re.fullmatch(r"\d+(\.\d+)+", number):
        return tuple(int(part) for part in number.split("."))
    return _NAMED_GLIBC_NODES.get(node)


def _check_glibc(path: str, info: ElfInfo, distribution: str, target: Target) -> list[Finding]:
    nodes = sorted({version for version in info.versions if version.startswith("GLIBC_")})
    if "GLIBC_PRIVATE" in nodes:
        return [
            Finding(
                Level.ERROR,
                "elf-glibc",
                distribution,
                path,
                "uses GLIBC_PRIVATE symbols, which glibc does not keep between releases",
                "use a manylinux wheel of the distribution; this binary was linked against glibc internals",
            )
        ]
    ceiling = target.runtime.glibc
    too_new = [
        (version, node)
        for node in nodes
        for version in [_glibc_version(node)]
        if version is None or version[:2] > ceiling
    ]
    if not too_new:
        return []
    unknown = [node for version, node in too_new if version is None]
    newest = max((version for version, _ in too_new if version is not None), default=None)
    need = f"glibc {'.'.join(map(str, newest))}" if newest else "an unknown glibc"
    return [
        Finding(
            Level.ERROR,
            "elf-glibc",
            distribution,
            path,
            f"needs {need} ({', '.join(node for _, node in too_new)}), newer than {glibc_of(target)}: Lambda fails with \"version '{(unknown or [node for _, node in too_new])[-1]}' not found\"",
            f"use a wheel built for manylinux_{ceiling[0]}_{ceiling[1]} or older (pip-lambda install picks one), or a runtime with a newer glibc (python3.12+ has 2.34)",
        )
    ]


def _resolve(path: str, library: str, info: ElfInfo, package: Package) -> bool:
    folder = posixpath.dirname(path)
    candidates: list[str] = []
    for entry in info.search_paths:
        expanded = entry.replace("${ORIGIN}", "$ORIGIN")
        if expanded.startswith("$ORIGIN"):
            candidates.append(posixpath.normpath(posixpath.join(folder, expanded[len("$ORIGIN") :].lstrip("/"))))
    candidates.extend(package.library_dirs)
    return any(posixpath.normpath(posixpath.join(candidate, library)) in package.files for candidate in candidates)


def _check_needed(path: str, info: ElfInfo, distribution: str, target: Target, package: Package) -> list[Finding]:
    runtime_libraries = policy_libraries() | {f"libpython{target.runtime.python_version}.so.1.0", "libpython3.so"}
    missing = [
        library
        for library in info.needed
        if library not in runtime_libraries and not _resolve(path, library, info, package)
    ]
    return [
        Finding(
            Level.WARNING,
            "elf-needed",
            distribution,
            path,
            f"needs {library}, which is neither in the package (through $ORIGIN run paths or lib/) nor a library every Lambda runtime has",
            "ship the library in the package (auditwheel repair bundles it into a wheel) or in a layer's lib/ folder",
        )
        for library in missing
    ]


def accepted_suffixes(target: Target) -> tuple[str, ...]:
    """Extension-module file suffixes the runtime's import system accepts."""
    return (
        f".cpython-{target.runtime.python[0]}{target.runtime.python[1]}-{target.arch.machine}-linux-gnu.so",
        ".abi3.so",
        ".so",
    )


def _check_suffix(path: str, distribution: str, target: Target) -> list[Finding]:
    name = posixpath.basename(path)
    if not name.endswith(".so"):
        return []
    for suffix in accepted_suffixes(target):
        if name.endswith(suffix) and name[: -len(suffix)].isidentifier():
            return []
    match = _EXTENSION_SUFFIX.search(name)
    if match:
        major, minor, threaded, machine, system = match.groups()
        built_for = f"Python {major}.{minor}{' free-threaded' if threaded else ''} on {machine}-{system}"
    else:
        built_for = "another interpreter"
    return [
        Finding(
            Level.ERROR,
            "extension-suffix",
            distribution,
            path,
            f"an extension module for {built_for}: {target.runtime.name} imports only {', '.join(accepted_suffixes(target))}, so the import fails with 'No module named'",
            reinstall(target),
        )
    ]
