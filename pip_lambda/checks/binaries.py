"""The binary checks: format, machine, symbol versions, needed libraries and extension suffixes of every file."""

from __future__ import annotations

import functools
import json
import posixpath
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pip_lambda.checks.advice import glibc_of, newer_glibc, newer_runtime, reinstall
from pip_lambda.checks.elf import BinaryKind, CorruptElf, ElfInfo, ElfReader, kind_of, read_elf
from pip_lambda.checks.findings import Finding, Level
from pip_lambda.errors import EnvironmentProblem
from pip_lambda.plan.runtimes import Version, version_node
from pip_lambda.plan.target import Target

GCC_RUNTIME_FAMILIES = ("GLIBCXX", "CXXABI", "GCC")
"""Version families of libstdc++ (GLIBCXX, CXXABI) and libgcc_s (GCC): the ``elf-gcc-runtime`` check."""
_OTHER_PLATFORM_LIBRARIES = (".dylib", ".dll")
_EXTENSION_SUFFIX = re.compile(r"\.cpython-(\d)(\d+)(t?)-([A-Za-z0-9_]+)-(linux-gnu|linux-musl|darwin)\.so$")


@functools.cache
def policy_libraries() -> frozenset[str]:
    """Sonames every Lambda runtime can resolve without the package shipping them."""
    source = resources.files("pip_lambda").joinpath("data/manylinux-libraries.json")
    try:
        libraries = json.loads(source.read_text("utf-8"))["libraries"]
    except (ValueError, KeyError, TypeError):
        libraries = None
    if not isinstance(libraries, list) or not all(isinstance(name, str) and name for name in libraries):
        raise EnvironmentProblem(
            f"pip-lambda's library list {source} is broken: expected an object whose 'libraries' lists sonames",
            hint="reinstall pip-lambda; if you edited that file, fix it",
        )
    return frozenset(libraries)


@dataclass(frozen=True)
class Package:
    """What the loader can find inside the package: its files and the folders on LD_LIBRARY_PATH."""

    files: frozenset[str]
    """Every file, relative to the package root, ``/``-separated."""
    library_dirs: tuple[str, ...]
    """Folders of the package on Lambda's LD_LIBRARY_PATH (``/var/task``, ``/var/task/lib``, ``/opt/lib``)."""


def _looks_loadable(name: str) -> bool:
    return name.endswith((".so", ".pyd")) or ".so." in name


def check_binary(
    path: str, file: Path, distribution: str, target: Target, package: Package, read: ElfReader = read_elf
) -> list[Finding]:
    """Findings for one file of the package; only ELF files and files named like libraries have any.

    ``read`` gives what the ELF reader finds in the file (kept by content: cache/elfinfo.py).
    """
    kind = kind_of(file)
    name = posixpath.basename(path)
    if kind is BinaryKind.ELF:
        try:
            info = read(file)
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
    nodes = _os_versions(path, info, package)
    found = [
        *_check_glibc(path, nodes, distribution, target),
        *_check_gcc_runtime(path, nodes, distribution, target),
        *_check_needed(path, info, distribution, target, package),
    ]
    if info.python_init:
        found.extend(_check_suffix(path, distribution, target))
    return found


def _os_versions(path: str, info: ElfInfo, package: Package) -> list[str]:
    """Version nodes the file needs from the OS: from every library but those the package ships under its own name."""
    system = policy_libraries()
    nodes = {
        version
        for library, version in info.version_needs
        if library in system or not _resolve(path, library, info, package)
    }
    return sorted(nodes, key=_node_order)


def _node_order(node: str) -> tuple[bool, Version, str]:
    """Numbered nodes by version, the unknown named ones last."""
    version = version_node(node)[1]
    return version is None, version or (), node


def _check_glibc(path: str, nodes: list[str], distribution: str, target: Target) -> list[Finding]:
    glibc = [node for node in nodes if version_node(node)[0] == "GLIBC"]
    if "GLIBC_PRIVATE" in glibc:
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
    too_new = [node for node in glibc if not target.runtime.system.provides(node)]
    if not too_new:
        return []
    newest = max((version for node in too_new for version in [version_node(node)[1]] if version), default=None)
    need = f"glibc {'.'.join(map(str, newest))}" if newest else "an unknown glibc"
    major, minor = target.runtime.glibc
    return [
        Finding(
            Level.ERROR,
            "elf-glibc",
            distribution,
            path,
            f"needs {need} ({', '.join(too_new)}), newer than {glibc_of(target)}: Lambda fails with \"version '{too_new[-1]}' not found\"",
            f"use a wheel built for manylinux_{major}_{minor} or older (pip-lambda install picks one){newer_glibc(too_new)}",
        )
    ]


def _check_gcc_runtime(path: str, nodes: list[str], distribution: str, target: Target) -> list[Finding]:
    """GLIBCXX and CXXABI (libstdc++) and GCC (libgcc_s) against the versions of the runtime's OS."""
    system = target.runtime.system
    wanted = [node for node in nodes if version_node(node)[0] in GCC_RUNTIME_FAMILIES]
    too_new = sorted(
        (node for node in wanted if not system.provides(node)),
        key=lambda node: (GCC_RUNTIME_FAMILIES.index(version_node(node)[0]), _node_order(node)),
    )
    if not too_new:
        return []
    families = sorted({version_node(node)[0] for node in too_new}, key=GCC_RUNTIME_FAMILIES.index)
    shown = [node for node in too_new if version_node(node)[0] == families[0]][-1]
    has = ", ".join(f"{family}_{'.'.join(map(str, system.highest(family) or ()))}" for family in families)
    major, minor = target.runtime.glibc
    return [
        Finding(
            Level.ERROR,
            "elf-gcc-runtime",
            distribution,
            path,
            f"needs {', '.join(too_new)}, newer than {target.runtime.name}'s libstdc++ and libgcc_s (GCC {system.gcc}, {system.name}: up to {has}): Lambda fails with \"version '{shown}' not found\"",
            f"use a wheel built for manylinux_{major}_{minor} or older, or one that bundles its C++ runtime"
            + newer_runtime(too_new, "C++ runtime", lambda runtime: f"GCC {runtime.system.gcc}'s"),
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
