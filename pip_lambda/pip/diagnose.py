"""Explain why pip found no wheel for a requirement: a newer glibc, other platforms, or only an sdist.

pip's own message ("from versions: none") does not say which.  pip-lambda reads
only the requirement from pip's final error line, then asks pip again, through
its public command line, with wider tags; each probe is a dry run with
``--no-deps`` that installs nothing and runs no code from the index.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion

from pip_lambda.errors import NoCompatibleWheelError, PipFailedError
from pip_lambda.pip.run import install_command
from pip_lambda.pip.sdists import SdistOnlyError, sdist_file
from pip_lambda.plan.runtimes import all_runtimes
from pip_lambda.plan.target import Arch, Target

log = logging.getLogger(__name__)

_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
_INDEX_OPTIONS = frozenset(
    {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--no-index", "--pre", "--trusted-host",
     "--cert", "--client-cert", "--proxy", "--timeout", "--retries", "--keyring-provider"}
)  # fmt: skip
_FLAGS = frozenset({"--no-index", "--pre"})
_FOREIGN_PLATFORMS = ("musllinux_1_2_{machine}", "macosx_14_0_arm64", "macosx_14_0_x86_64", "win_amd64", "win_arm64")


def index_arguments(pip_args: Sequence[str]) -> list[str]:
    """The options of ``pip_args`` that say where pip looks, for the probes."""
    kept: list[str] = []
    tokens = iter(pip_args)
    for token in tokens:
        option = token.split("=", 1)[0]
        if option in _INDEX_OPTIONS:
            kept.append(token)
            if "=" not in token and option not in _FLAGS:
                kept.append(next(tokens, ""))
    return kept


def _probe(
    target: Target,
    requirement: str,
    platforms: Sequence[str],
    index_args: Sequence[str],
    environment: Mapping[str, str],
    python_version: str | None = None,
) -> str | None:
    """The wheel file pip would pick with these tags, or None."""
    with tempfile.TemporaryDirectory(prefix="pip-lambda-probe-") as scratch:
        report = Path(scratch) / "report.json"
        command = install_command(
            target,
            Path(scratch) / "site",
            [*index_args, "--dry-run", "--no-deps", "--quiet", "--report", str(report), requirement],
            platforms,
        )
        if python_version:
            command[command.index("--python-version") + 1] = python_version
        done = subprocess.run(
            command, env=dict(environment), capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
        )
        if done.returncode != 0 or not report.is_file():
            return None
        installs = json.loads(report.read_text("utf-8")).get("install", [])
        return installs[0]["download_info"]["url"].rsplit("/", 1)[-1] if installs else None


def _index_versions(requirement: str, index_args: Sequence[str], environment: Mapping[str, str]) -> list[str]:
    """Every release of the project the index has (sdists included), newest first; empty when none."""
    name = Requirement(requirement).name
    command = [sys.executable, "-m", "pip", "index", "versions", "--pre", name, *index_args]
    done = subprocess.run(
        command, env=dict(environment), capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )
    if done.returncode != 0:
        return []
    listed = re.search(r"Available versions: (.*)", done.stdout)
    return [version.strip() for version in listed.group(1).split(",")] if listed else []


def _matches(specifier: SpecifierSet, version: str) -> bool:
    try:
        return specifier.contains(version, prereleases=True)
    except InvalidVersion:
        return True


def explain(
    failure: PipFailedError, target: Target, pip_args: Sequence[str], environment: Mapping[str, str]
) -> NoCompatibleWheelError | None:
    """A NoCompatibleWheelError saying why pip found nothing, or None when pip failed otherwise."""
    match = _NO_MATCH.search(failure.detail)
    if match is None:
        return None
    requirement = match.group(1)
    try:
        name = Requirement(requirement).name
    except InvalidRequirement:
        return None
    index_args = index_arguments(pip_args)
    runtime = target.runtime
    machine = target.arch.machine
    newer = [f"manylinux_2_{minor}_{machine}" for minor in range(runtime.glibc[1] + 1, 41)]
    wheel = _probe(target, requirement, newer, index_args, environment)
    if wheel:
        return NoCompatibleWheelError(
            f"{name}: no wheel loads on {runtime.name} (glibc {runtime.glibc[0]}.{runtime.glibc[1]}); the release pip would pick needs a newer glibc ({wheel})",
            hint=f"use a runtime with a newer glibc (python3.12+ has 2.34), or pin an older {name} that ships manylinux2014 wheels",
            detail=failure.detail,
        )
    other = Target(runtime, Arch.ARM64 if target.arch is Arch.X86_64 else Arch.X86_64)
    foreign = [*other.platform_tags, *(tag.format(machine=machine) for tag in _FOREIGN_PLATFORMS)]
    wheel = _probe(target, requirement, foreign, index_args, environment)
    if wheel:
        return NoCompatibleWheelError(
            f"{name}: no wheel for {target}; wheels exist only for other platforms ({wheel})",
            hint=f"build for the architecture the wheels support (--arch), or ask the {name} maintainers for Linux {machine} wheels",
            detail=failure.detail,
        )
    other_versions = [other.python_version for other in all_runtimes() if other != runtime]
    for version in other_versions:
        wheel = _probe(target, requirement, target.platform_tags, index_args, environment, version)
        if wheel:
            return NoCompatibleWheelError(
                f"{name}: no wheel for Python {runtime.python_version}; wheels exist for other Python versions ({wheel})",
                hint=f"choose the runtime those wheels are for, or pin a {name} release with wheels for {runtime.name}",
                detail=failure.detail,
            )
    versions = _index_versions(requirement, index_args, environment)
    specifier = Requirement(requirement).specifier
    if versions and not any(_matches(specifier, version) for version in versions):
        shown = ", ".join(versions[:5]) + (", ..." if len(versions) > 5 else "")
        return NoCompatibleWheelError(
            f"{name}: no release matching {requirement} was found; the index has {shown}",
            hint="check the version in the requirement",
            detail=failure.detail,
        )
    if versions:
        sdist = sdist_file(target, requirement, index_args, environment)
        return SdistOnlyError(
            f"{name}: only a source distribution (sdist) matches {requirement}{f' ({sdist})' if sdist else ''}, and pip-lambda installs wheels only",
            hint=f"pass --allow-sdist {name} to build it here into a pure-Python wheel (this runs its build code), pin a {name} release that ships wheels, or build the wheel in the Lambda build image (public.ecr.aws/sam/build-{runtime.name})",
            detail=failure.detail,
            name=name,
            requirement=requirement,
            sdist=sdist,
        )
    return NoCompatibleWheelError(
        f"{name}: no release matching {requirement} was found on the configured indexes",
        hint="check the name and version, and the index options (-i, --extra-index-url, --find-links)",
        detail=failure.detail,
    )
