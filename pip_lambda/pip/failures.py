"""pip's failures, said better than "pip failed": known error lines, and why no file of a requirement loads.

Known failures (an unknown option, a missing value, hash checking, a full
disk) are named from pip's final error lines; pip's own lines are still shown
above. When pip found no distribution for a requirement, one probe explains
it: ``pip install --dry-run --no-deps -vvv`` for that requirement, with the
target's flags and the build's indexes. The probe installs nothing and runs no
code from the index; its log names every file pip saw and skipped, and each is
classified by its file name (``packaging.utils``) against the target's tags:
only wheels for a newer glibc, for other platforms or architectures, for other
Python versions, only an sdist, or no release matching the specifier.
"""

from __future__ import annotations

import enum
import logging
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from pip_lambda.errors import EnvironmentProblem, NoCompatibleWheelError, PipFailedError, PipLambdaError, UsageError
from pip_lambda.pip.run import install_command, run_pip
from pip_lambda.pip.sdists import SdistOnlyError
from pip_lambda.plan.runtimes import all_runtimes
from pip_lambda.plan.target import Target

log = logging.getLogger(__name__)

_NO_SUCH_OPTION = re.compile(r"no such option: (\S+)")
_NEEDS_ARGUMENT = re.compile(r"(\S+) option requires (\d+) argument")
_HASHES_MISSING = "Hashes are required in --require-hashes mode"
_NOT_PINNED = "must have their versions pinned with =="
_HASH_MISMATCH = "DO NOT MATCH THE HASHES"
_NO_SPACE = ("[Errno 28]", "No space left on device")
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
# pip -vvv names each file it considers: "Found link URL, version: V" or "Skipping link: REASON: URL".
_LINK_LINES = ("Found link", "Skipping link:")
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:/[^\s#?,]+")
_REQUIRES_PYTHON = "Requires-Python"
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")


def _known(failure: PipFailedError) -> PipLambdaError | None:
    """A clearer error for a failure pip's error lines name, or None."""
    detail = failure.detail
    option = _NO_SUCH_OPTION.search(detail)
    if option:
        return UsageError(
            f"unknown option {option.group(1)}: neither pip-lambda nor 'pip install' has it (on the command line or in a requirements file)",
            hint="see 'pip-lambda install --help' and 'pip install --help'",
            detail=detail,
        )
    needs = _NEEDS_ARGUMENT.search(detail)
    if needs:
        return UsageError(f"{needs.group(1)} needs a value", hint="see 'pip install --help'", detail=detail)
    if _HASHES_MISSING in detail or _NOT_PINNED in detail:
        return PipFailedError(
            f"{failure.message}: hash checking is on, and a requirement or one of its dependencies has no pinned, hashed line",
            hint="list every package, dependencies included, with == and --hash (pip-compile --generate-hashes does this)",
            detail=detail,
        )
    if _HASH_MISMATCH in detail:
        return PipFailedError(
            f"{failure.message}: a downloaded file does not match the --hash in the requirements",
            hint="the file changed on the index, or the hash is wrong: check it before updating the hash",
            detail=detail,
        )
    if any(marker in detail for marker in _NO_SPACE):
        return EnvironmentProblem(
            "no space left on the disk while pip installed the requirements",
            hint="free space on the disk of the target folder (or of TMPDIR); the previous package was left as it was",
            detail=detail,
        )
    return None


class Misfit(enum.Enum):
    """Why a wheel does not load on the target, in the order the reasons are reported."""

    NEWER_GLIBC = 1
    OTHER_PLATFORM = 2
    OTHER_PYTHON = 3


@dataclass(frozen=True)
class Offered:
    """A file pip saw for the requirement: a wheel (with its tags) or an sdist (tags None)."""

    filename: str
    version: Version
    tags: frozenset[Tag] | None
    requires_other_python: bool = False
    """pip skipped it for its Requires-Python."""


def _offered(filename: str, requires_other_python: bool) -> tuple[str, Offered] | None:
    try:
        if filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(filename)
            return name, Offered(filename, version, tags, requires_other_python)
        name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return name, Offered(filename, version, None, requires_other_python)


def offered_files(log_text: str, name: str) -> list[Offered]:
    """Every file of project ``name`` that pip's -vvv log names, newest version first."""
    wanted = canonicalize_name(name)
    found: dict[str, Offered] = {}
    for line in log_text.splitlines():
        if not line.lstrip().startswith(_LINK_LINES):
            continue
        for url in _URL.findall(line):
            parsed = _offered(unquote(url.rsplit("/", 1)[-1]), _REQUIRES_PYTHON in line)
            if parsed is not None and parsed[0] == wanted:
                found.setdefault(parsed[1].filename, parsed[1])
    return sorted(found.values(), key=lambda offered: offered.version, reverse=True)


def _glibc(platform: str, target: Target) -> tuple[int, int] | None:
    """The glibc a ``manylinux_X_Y`` platform tag of the target's architecture needs."""
    match = _MANYLINUX.match(platform)
    if match is None or match.group(3) != target.arch.machine:
        return None
    return int(match.group(1)), int(match.group(2))


def _newer_glibc(platform: str, target: Target) -> bool:
    needed = _glibc(platform, target)
    return needed is not None and needed > target.runtime.glibc


def misfit(wheel: Offered, target: Target) -> Misfit | None:
    """Why ``wheel`` does not load on the target, or None when it does."""
    tags = wheel.tags or frozenset()
    if wheel.requires_other_python:
        return Misfit.OTHER_PYTHON
    supported = set(target.supported_tags)
    if tags & supported:
        return None
    pythons = {(tag.interpreter, tag.abi) for tag in supported}
    for_our_python = [tag for tag in tags if (tag.interpreter, tag.abi) in pythons]
    if any(_newer_glibc(tag.platform, target) for tag in for_our_python):
        return Misfit.NEWER_GLIBC
    if not for_our_python and any(target.loads_platform(tag.platform) for tag in tags):
        return Misfit.OTHER_PYTHON
    return Misfit.OTHER_PLATFORM


def _glibc_hint(name: str, wheel: Offered, target: Target) -> str:
    needed = min(
        glibc for tag in wheel.tags or () if (glibc := _glibc(tag.platform, target)) and glibc > target.runtime.glibc
    )
    runtimes = [runtime.name for runtime in all_runtimes() if runtime.glibc >= needed]
    newer = f" ({', '.join(runtimes)})" if runtimes else ""
    return f"use a runtime with glibc {needed[0]}.{needed[1]} or newer{newer}, or pin an older {name} that ships manylinux2014 wheels"


def _misfit_error(kind: Misfit, name: str, wheel: Offered, target: Target, detail: str) -> NoCompatibleWheelError:
    runtime = target.runtime
    if kind is Misfit.NEWER_GLIBC:
        return NoCompatibleWheelError(
            f"{name}: no wheel loads on {runtime.name} (glibc {runtime.glibc[0]}.{runtime.glibc[1]}); the release pip would pick needs a newer glibc ({wheel.filename})",
            hint=_glibc_hint(name, wheel, target),
            detail=detail,
        )
    if kind is Misfit.OTHER_PLATFORM:
        return NoCompatibleWheelError(
            f"{name}: no wheel for {target}; wheels exist only for other platforms ({wheel.filename})",
            hint=f"build for the architecture the wheels support (--arch), or ask the {name} maintainers for Linux {target.arch.machine} wheels",
            detail=detail,
        )
    return NoCompatibleWheelError(
        f"{name}: no wheel for Python {runtime.python_version}; wheels exist for other Python versions ({wheel.filename})",
        hint=f"choose the runtime those wheels are for, or pin a {name} release with wheels for {runtime.name}",
        detail=detail,
    )


def classify(requirement: str, offered: Sequence[Offered], target: Target, detail: str) -> PipLambdaError | None:
    """The error that says why no file of ``offered`` installs for ``requirement``; None if one should."""
    wanted = Requirement(requirement)
    name = wanted.name
    matching = [item for item in offered if wanted.specifier.contains(item.version, prereleases=True)]
    wheels = [item for item in matching if item.tags is not None]
    misfits = [(kind, wheel) for wheel in wheels if (kind := misfit(wheel, target)) is not None]
    if len(misfits) < len(wheels):
        return None  # a wheel loads: pip failed for another reason, which its own lines say
    if misfits:
        kind = min((kind for kind, _ in misfits), key=lambda kind: kind.value)
        wheel = next(wheel for other, wheel in misfits if other is kind)  # the newest: pip would pick it
        return _misfit_error(kind, name, wheel, target, detail)
    sdists = [item for item in matching if item.tags is None]
    if sdists:
        return SdistOnlyError(
            f"{name}: only a source distribution (sdist) matches {requirement} ({sdists[0].filename}), and pip-lambda installs wheels only",
            hint=f"pass --allow-sdist {name} to build it here into a pure-Python wheel (this runs its build code), pin a {name} release that ships wheels, or build the wheel in the Lambda build image (public.ecr.aws/sam/build-{target.runtime.name})",
            detail=detail,
            name=name,
            requirement=requirement,
            sdist=sdists[0].filename,
        )
    if offered:
        versions = list(dict.fromkeys(str(item.version) for item in offered))
        shown = ", ".join(versions[:5]) + (", ..." if len(versions) > 5 else "")
        return NoCompatibleWheelError(
            f"{name}: no release matching {requirement} was found; the index has {shown}",
            hint="check the version in the requirement",
            detail=detail,
        )
    return NoCompatibleWheelError(
        f"{name}: no release matching {requirement} was found on the configured indexes",
        hint="check the name and version, and the index options (-i, --extra-index-url, --find-links)",
        detail=detail,
    )


def probe(target: Target, requirement: str, looks: Sequence[str], environment: Mapping[str, str]) -> str:
    """pip's -vvv log of a dry run for ``requirement`` alone, looking where the build looks."""
    with tempfile.TemporaryDirectory(prefix="pip-lambda-probe-") as scratch:
        arguments = [*looks, "--dry-run", "--no-deps", "-vvv", requirement]
        command = install_command(target, Path(scratch) / "site", arguments, target.platform_tags)
        log.debug("asking pip why no file of %s installs", requirement)
        return run_pip(command, environment, check=False).output


def explain(
    failure: PipFailedError, target: Target, looks: Sequence[str], environment: Mapping[str, str]
) -> PipLambdaError:
    """The clearest error for ``failure``: a known one, or why no file installs (one probe), else ``failure`` itself.

    ``looks`` are the arguments that say where the build's pip looks (see requirements.looks_arguments).
    """
    known = _known(failure)
    if known is not None:
        return known
    match = _NO_MATCH.search(failure.detail)
    if match is None:
        return failure
    requirement = match.group(1)
    try:
        name = Requirement(requirement).name
    except InvalidRequirement:
        return failure
    offered = offered_files(probe(target, requirement, looks, environment), name)
    return classify(requirement, offered, target, failure.detail) or failure
