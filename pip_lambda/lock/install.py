"""A lock's selection installed through today's pipeline, until the fast path installs a Selection itself.

The build's cache key holds the selection (every wheel's URL and sha256), never
a temporary file.  The wheel store installs the chosen wheels without asking
pip to resolve anything (the selection is the resolution); where pip installs
(no cache, ``--refresh``, a store miss) it reads them from a requirements file
of ``name @ url --hash=sha256:…`` lines with ``--no-deps --require-hashes``, so
pip fetches exactly those files and checks each against the lock's sha256.
Sdist-only entries that ``--allow-sdist`` accepts are built first into the
build's wheelhouse and installed like the others, by their own sha256.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from pip_lambda.cache.reuse import Plan
from pip_lambda.pip.requirements import RequirementLine, RequirementSet, looks_arguments
from pip_lambda.pip.resolve import Pick
from pip_lambda.pip.run import pip_environment
from pip_lambda.pip.sdists import SdistOnlyError, build_wheel
from pip_lambda.plan.request import BuildRequest
from pip_lambda.plan.selection import Wheel

REQUIREMENTS_NAME = "locked-requirements.txt"


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


def for_pip(request: BuildRequest, found: RequirementSet, plan: Plan, folder: Path) -> tuple[BuildRequest, Plan]:
    """The request pip installs and the plan the wheel store follows, for a build from a lock.

    Allowed sdists are built into ``folder`` (the build's wheelhouse) first;
    the requirements file pip reads is written there too.
    """
    if request.selection is None:
        return request, plan
    wheels = [*request.selection.wheels, *_built(request, found, folder)]
    requirements = folder / ".lock" / REQUIREMENTS_NAME
    requirements.parent.mkdir(exist_ok=True)
    requirements.write_text(requirements_text(wheels), "utf-8")
    pip_args = request.pip_args
    tokens = ("--no-deps", "--require-hashes", "-r", str(requirements))
    installing = replace(
        request,
        pip_args=replace(
            pip_args,
            passthrough=(*pip_args.passthrough, *tokens),
            requirement_files=(*pip_args.requirement_files, str(requirements)),
        ),
    )
    picks = tuple(sorted((_pick(wheel) for wheel in wheels), key=lambda pick: pick.name))
    return installing, replace(plan, picks=picks)


def requirements_text(wheels: Sequence[Wheel]) -> str:
    """One ``name @ url --hash=sha256:…`` line per wheel; by name and version where the URL lost its credentials,
    so pip finds the file on its configured index with them."""
    lines = []
    for wheel in wheels:
        spec = f"{wheel.name}=={wheel.version}" if "***@" in wheel.url else f"{wheel.name} @ {wheel.url}"
        lines.append(f"{spec} --hash=sha256:{wheel.sha256}\n")
    return "".join(lines)


def _pick(wheel: Wheel) -> Pick:
    return Pick(wheel.name, wheel.version, wheel.url, wheel.sha256, wheel.direct)


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
