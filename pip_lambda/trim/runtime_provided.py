"""``--exclude-runtime-provided``: leave out the AWS SDK that every Lambda Python runtime already has.

boto3, botocore, s3transfer and jmespath go as one unit (a partial bundle
shadows part of the runtime's SDK and breaks it), together with what only they
need: python-dateutil, six or urllib3 stay when another installed distribution
requires them.  Dependencies are read from each distribution's Requires-Dist
with markers evaluated for the target.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pip_lambda.pip.requirements import RequirementSet
from pip_lambda.plan.runtimes import runtime_provided
from pip_lambda.plan.target import Target
from pip_lambda.tree.distributions import Distribution, read_metadata

log = logging.getLogger(__name__)

SDK = runtime_provided().excluded
"""Provided by every Lambda Python runtime, in a version that depends on the runtime and Region."""


@dataclass(frozen=True)
class SdkPlan:
    leaving: tuple[Distribution, ...]
    """The SDK and what only it needs, sorted by name."""
    pins: tuple[str, ...]
    """Requirements that ask for a particular SDK version, which the runtime may not have."""


@dataclass(frozen=True)
class _Metadata:
    requires: tuple[Requirement, ...]
    extras: tuple[str, ...]


def _metadata(site: Path, distribution: Distribution) -> _Metadata:
    metadata = read_metadata(site / distribution.dist_info)
    if metadata is None:
        return _Metadata((), ())
    requires = []
    for line in metadata.get_all("Requires-Dist") or []:
        try:
            requires.append(Requirement(line))
        except InvalidRequirement:
            log.debug("%s: ignoring unparsable Requires-Dist %r", distribution, line)
    return _Metadata(tuple(requires), tuple(metadata.get_all("Provides-Extra") or []))


def _applies(marker: Marker | None, environment: dict[str, str], extras: Iterable[str]) -> bool:
    if marker is None:
        return True
    return any(marker.evaluate({**environment, "extra": extra}) for extra in ("", *extras))


def _closure(starts: Iterable[str], edges: dict[str, set[str]], stop: Iterable[str] = ()) -> set[str]:
    blocked = set(stop)
    seen: set[str] = set()
    todo = [name for name in starts if name not in blocked]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(edges.get(name, set()) - seen - blocked)
    return seen


def plan(
    site: Path, distributions: Sequence[Distribution], target: Target, requested: Sequence[Requirement] = ()
) -> SdkPlan:
    """Which distributions leave with the SDK, and which requirements pin an SDK version.

    The SDK's own dependencies are followed without extras; everything else
    keeps what any of its extras could need, so a doubt always keeps a package.
    """
    by_key = {distribution.key: distribution for distribution in distributions}
    metadata = {key: _metadata(site, distribution) for key, distribution in by_key.items()}
    environment = target.marker_environment
    strict: dict[str, set[str]] = {}
    generous: dict[str, set[str]] = {}
    for key, meta in metadata.items():
        for requirement in meta.requires:
            name = canonicalize_name(requirement.name)
            if name not in by_key:
                continue
            if _applies(requirement.marker, environment, ()):
                strict.setdefault(key, set()).add(name)
            if _applies(requirement.marker, environment, meta.extras):
                generous.setdefault(key, set()).add(name)
    sdk = {key for key in SDK if key in by_key}
    candidates = _closure(sdk, strict)
    needed = _closure(set(by_key) - candidates, generous, stop=sdk)
    leaving = sorted(sdk | (candidates - needed))
    pins = [f"{requirement} (your requirements)" for requirement in requested if _pins_sdk(requirement, environment)]
    for key in sorted(set(by_key) - set(leaving)):
        for requirement in metadata[key].requires:
            if _pins_sdk(requirement, environment):
                pins.append(f"{requirement.name}{requirement.specifier} (required by {by_key[key]})")
    return SdkPlan(tuple(by_key[key] for key in leaving), tuple(pins))


def _pins_sdk(requirement: Requirement, environment: dict[str, str]) -> bool:
    return (
        canonicalize_name(requirement.name) in SDK[:3]
        and bool(requirement.specifier)
        and _applies(requirement.marker, environment, ())
    )


def pin_warning(pins: Sequence[str]) -> str:
    return (
        f"--exclude-runtime-provided: {'; '.join(pins)} asks for a particular SDK version, but Lambda will load "
        "the runtime's own boto3/botocore, whose version depends on the runtime and Region; "
        "loosen the pin or bundle the SDK (drop --exclude-runtime-provided)"
    )


def requested(requirements: RequirementSet) -> list[Requirement]:
    """The build's requirements (command line and ``-r`` files, not constraints) that name a distribution."""
    found = []
    for line in requirements.requirements:
        try:
            found.append(Requirement(line.text))
        except InvalidRequirement:
            continue  # a wheel file or a URL: no specifier to read
    return found
