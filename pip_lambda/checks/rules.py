"""The static checks of ``verify``: plain functions from one file or distribution to findings.

Each answers one question Lambda asks when it loads the package: will it take
this wheel (tags), this binary (format, machine, glibc, extension suffix,
libraries), these paths (``.pth``, ``direct_url.json``), this SDK set.
"""

from __future__ import annotations

import functools
import json
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from importlib import resources
from pathlib import Path

from packaging.tags import Tag, parse_tag

from pip_lambda.checks.elf import BinaryKind, CorruptElf, ElfInfo, kind_of, read_elf
from pip_lambda.checks.findings import Finding, Level
from pip_lambda.plan.target import Target
from pip_lambda.tree.distributions import Distribution

# glibc version nodes without a number, and the release that introduced them.
_NAMED_GLIBC_NODES = {"GLIBC_ABI_DT_RELR": (2, 36), "GLIBC_ABI_GNU_TLS": (2, 42), "GLIBC_ABI_GNU2_TLS": (2, 42)}
SDK_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer")
_OTHER_PLATFORM_LIBRARIES = (".dylib", ".dll")
_EXTENSION_SUFFIX = re.compile(r"\.cpython-(\d)(\d+)(t?)-([A-Za-z0-9_]+)-(linux-gnu|linux-musl|darwin)\.so$")


@functools.cache
def policy_libraries() -> frozenset[str]:
    """Sonames every Lambda runtime can resolve without the package shipping them."""
    raw = json.loads(resources.files("pip_lambda").joinpath("data/manylinux-libraries.json").read_text("utf-8"))
    return frozenset(raw["libraries"])


def _reinstall(target: Target) -> str:
    return f"reinstall with 'pip-lambda install --runtime {target.runtime.name} --arch {target.arch}', which picks wheels for the target"


def _glibc(target: Target) -> str:
    major, minor = target.runtime.glibc
    return f"{target.runtime.name}'s glibc {major}.{minor} ({target.runtime.os})"


# --- wheel tags -------------------------------------------------------------------------------


def _python_version(digits: str) -> tuple[int, ...]:
    """``3`` → (3,), ``311`` → (3, 11)."""
    return (int(digits[0]), int(digits[1:])) if len(digits) > 1 else (int(digits),)


def tag_problem(tag: Tag, target: Target) -> tuple[Level, str, str] | None:
    """Why the runtime cannot load a wheel with this tag (level, reason, fix), or None when it can."""
    runtime, machine = target.runtime, target.arch.machine
    reinstall = _reinstall(target)
    interpreter, abi, platform = tag.interpreter, tag.abi, tag.platform
    if interpreter.startswith("pp") or abi.startswith("pypy"):
        return Level.ERROR, f"a PyPy wheel ({tag}); Lambda runs CPython", reinstall
    if re.fullmatch(r"cp\d+t", abi):
        return (
            Level.ERROR,
            f"a free-threaded CPython wheel ({tag}); Lambda's CPython is built without free threading",
            reinstall,
        )
    digits = interpreter[2:]
    if interpreter[:2] not in ("cp", "py") or not digits.isdigit():
        return Level.ERROR, f"a wheel for another Python implementation ({tag})", reinstall
    version = _python_version(digits)
    if version[0] != 3 or version[1:] > runtime.python[1:]:
        return (
            Level.ERROR,
            f"a wheel for Python {'.'.join(map(str, version))} ({tag}), not {runtime.python_version}",
            reinstall,
        )
    if abi not in ("none", "abi3") and not (abi == runtime.cpython_tag and interpreter == runtime.cpython_tag):
        return (
            Level.ERROR,
            f"a wheel for the ABI {abi} ({tag}); {runtime.name} loads {runtime.cpython_tag}, abi3 or none",
            reinstall,
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
        return Level.ERROR, f"a musl wheel ({tag}); Lambda runs glibc", reinstall
    if platform.startswith("macosx"):
        return Level.ERROR, f"a macOS wheel ({tag})", reinstall
    if platform.startswith("win"):
        return Level.ERROR, f"a Windows wheel ({tag})", reinstall
    newer = re.fullmatch(rf"manylinux_(\d+)_(\d+)_{machine}", platform)
    if newer and (int(newer.group(1)), int(newer.group(2))) > runtime.glibc:
        return (
            Level.ERROR,
            f"a wheel for glibc {newer.group(1)}.{newer.group(2)} ({tag}), newer than {_glibc(target)}",
            f"pin a release with a manylinux_{runtime.glibc[0]}_{runtime.glibc[1]}-or-older wheel (pip-lambda install picks one), or use a runtime with a newer glibc (python3.12+ has 2.34)",
        )
    return Level.ERROR, f"a wheel for another platform or architecture ({tag}), not {target}", reinstall


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


# --- binaries ---------------------------------------------------------------------------------


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
                    _reinstall(target),
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
                    _reinstall(target),
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
                _reinstall(target),
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
            f"needs {need} ({', '.join(node for _, node in too_new)}), newer than {_glibc(target)}: Lambda fails with \"version '{(unknown or [node for _, node in too_new])[-1]}' not found\"",
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
            _reinstall(target),
        )
    ]


# --- paths that leave the package -------------------------------------------------------------


def check_pth(path: str, text: str, site: str, distribution: str) -> list[Finding]:
    """A ``.pth`` file that points outside the package (an editable or path install)."""
    fix = "install the project from a wheel or an index instead of in editable mode (-e) or from a local path"
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if entry.startswith(("import ", "import\t")):
            if "__editable__" in entry:
                return [
                    Finding(
                        Level.ERROR,
                        "pth-outside",
                        distribution,
                        path,
                        "an editable install's import hook; the project's source is not in the package",
                        fix,
                    )
                ]
            continue
        outside = entry.startswith("/") or re.match(r"[A-Za-z]:[\\/]", entry) is not None
        resolved = posixpath.normpath(posixpath.join(site, entry))
        if outside or resolved == ".." or resolved.startswith("../"):
            return [
                Finding(
                    Level.ERROR,
                    "pth-outside",
                    distribution,
                    path,
                    f"adds {entry} to sys.path, outside the package (it does not exist on Lambda)",
                    fix,
                )
            ]
    return []


def check_direct_url(path: str, text: str, distribution: str) -> list[Finding]:
    """``direct_url.json`` of a distribution installed from a local folder or in editable mode."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    url = data.get("url", "") if isinstance(data, dict) else ""
    if not isinstance(url, str) or not url.startswith("file:"):
        return []
    editable = bool(data.get("dir_info", {}).get("editable")) if isinstance(data.get("dir_info"), dict) else False
    what = "an editable install" if editable else "a local path install"
    return [
        Finding(
            Level.ERROR,
            "direct-url",
            distribution,
            path,
            f"{what} from {url}, outside the package",
            "install the project from a wheel or an index; pip-lambda install refuses -e and builds no local paths",
        )
    ]


# --- the AWS SDK ------------------------------------------------------------------------------


def check_sdk(distributions: Iterable[tuple[Distribution, str]]) -> list[Finding]:
    """boto3, botocore and s3transfer bundled only partly shadow part of the runtime's own SDK."""
    present = {dist.key: (dist, path) for dist, path in distributions if dist.key in SDK_DISTRIBUTIONS}
    if not present or len(present) == len(SDK_DISTRIBUTIONS):
        return []
    missing = [name for name in SDK_DISTRIBUTIONS if name not in present]
    dist, path = present[min(present)]
    bundled = ", ".join(str(present[name][0]) for name in sorted(present))
    return [
        Finding(
            Level.WARNING,
            "sdk-partial",
            str(dist),
            path,
            f"bundles {bundled} but not {', '.join(missing)}: the runtime's own {', '.join(missing)} will be mixed with them, at other versions",
            f"bundle all of boto3, botocore and s3transfer (add {', '.join(missing)} to the requirements) or none of them",
        )
    ]
