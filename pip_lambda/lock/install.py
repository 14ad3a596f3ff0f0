"""A lock's selection, ready for the install step, which installs a Selection without pip's resolver.

The build's cache key holds the selection (every wheel's URL and sha256), never
a temporary file.  The install step (pip_lambda/install.py) fetches the wheels
the store lacks pinned by URL and hash (``--no-deps``: pip checks each against
the lock's sha256) and lays them out; where pip installs itself (two wheels
writing one file) it gets the same pins.  Sdist-only entries that
``--allow-sdist`` accepts are built first into the build's wheelhouse and
installed like the others, by their own sha256.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import replace
from pathlib import Path

from pip_lambda.pip.requirements import RequirementLine, RequirementSet, looks_arguments
from pip_lambda.pip.run import pip_environment
from pip_lambda.pip.sdists import SdistOnlyError, build_wheel
from pip_lambda.plan.request import BuildRequest
from pip_lambda.plan.selection import Wheel


def installs_anything(request: BuildRequest) -> bool:
    """Whether the build installs distributions: requirements for pip, or wheels a lock chose."""
    if request.selection is not None:
        return bool(request.selection.wheels or request.sdists)
    return request.pip_args.has_requirements


def with_locked_lines(found: RequirementSet, request: BuildRequest) -> RequirementSet:
    """What the build read, plus one pinned, hashed line per locked distribution (the cache's "pinned" test)."""
    if request.selection is None:
        return found
    source = request.selection.source
    pinned = [(wheel.name, wheel.version, wheel.sha256) for wheel in request.selection.wheels]
    pinned += [(sdist.name, sdist.version, sdist.sha256) for sdist in request.sdists]
    lines = tuple(
        RequirementLine(source, number, f"{name}=={version}", (f"sha256:{sha256}",))
        for number, (name, version, sha256) in enumerate(pinned, start=1)
    )
    return replace(found, lines=(*found.lines, *lines))


def with_built_sdists(request: BuildRequest, found: RequirementSet, folder: Path) -> BuildRequest:
    """The request, its lock's allowed sdists built into ``folder`` (the build's wheelhouse) and added to its selection."""
    if request.selection is None or not request.sdists:
        return request
    wheels = sorted((*request.selection.wheels, *_built(request, found, folder)), key=lambda wheel: wheel.name)
    return replace(request, selection=replace(request.selection, wheels=tuple(wheels)))


def _built(request: BuildRequest, found: RequirementSet, folder: Path) -> list[Wheel]:
    """The allowed sdist-only entries, built on this machine into pure-Python wheels (their sdist hash checked)."""
    if not request.sdists:
        return []
    environment = pip_environment(request.target)
    built = []
    with tempfile.TemporaryDirectory(prefix="pip-lambda-looks-") as scratch:
        looks = looks_arguments(request.pip_args, found, Path(scratch))
        for sdist in request.sdists:
            asked = SdistOnlyError(
                f"{sdist.name} has only an sdist",
                hint="",
                detail="",
                name=sdist.name,
                requirement=f"{sdist.name} @ {sdist.url}#sha256={sdist.sha256}",
                sdist=sdist.filename,
            )
            wheel = build_wheel(asked, request.target, looks, environment, folder, stream=request.verbosity > 0)
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            built.append(Wheel(sdist.name, sdist.version, wheel.name, wheel.absolute().as_uri(), digest, direct=True))
    return built
