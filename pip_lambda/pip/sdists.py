"""Requirements that have only a source distribution: name them clearly, or build the allowed ones.

pip-lambda installs wheels only: an sdist's build runs on this machine, for this
machine.  ``--allow-sdist NAME`` accepts that for NAME, and only when the build
yields a pure-Python wheel, which loads anywhere; a platform wheel built here
would carry this machine's glibc and architecture, so it is refused.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from pip_lambda.errors import NoCompatibleWheelError
from pip_lambda.pip.run import run_pip
from pip_lambda.plan.target import Target

log = logging.getLogger(__name__)

ALL = ":all:"


class SdistOnlyError(NoCompatibleWheelError):
    """Only an sdist matches a requirement; carries what ``--allow-sdist`` needs to build it."""

    def __init__(self, message: str, *, hint: str, detail: str, name: str, requirement: str, sdist: str | None) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.name = name
        self.requirement = requirement
        self.sdist = sdist


def allows(allowed: Sequence[str], name: str) -> bool:
    return ALL in allowed or canonicalize_name(name) in {canonicalize_name(entry) for entry in allowed}


def is_pure(wheel: str) -> bool:
    """``py3-none-any`` or ``py2.py3-none-any``: loads on any Python 3 anywhere."""
    tags = parse_wheel_filename(wheel)[3]
    return all(
        tag.abi == "none" and tag.platform == "any" and tag.interpreter in ("py2", "py3") for tag in tags
    ) and any(tag.interpreter == "py3" for tag in tags)


def build_wheel(
    error: SdistOnlyError,
    target: Target,
    looks: Sequence[str],
    environment: Mapping[str, str],
    wheelhouse: Path,
    *,
    stream: bool = False,
) -> Path:
    """Build the sdist of ``error`` into ``wheelhouse``; refuse anything but a pure-Python wheel."""
    source = error.sdist or error.requirement
    log.warning("building %s on this machine (--allow-sdist %s): this runs its build code", source, error.name)
    with tempfile.TemporaryDirectory(prefix="pip-lambda-sdist-") as scratch:
        command = [
            sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-binary", error.name,
            "--wheel-dir", scratch, *looks, error.requirement,
        ]  # fmt: skip
        run_pip(command, environment, stream=stream)
        built = sorted(Path(scratch).glob("*.whl"))
        if not built:
            raise NoCompatibleWheelError(
                f"{error.name}: building {source} produced no wheel",
                hint="build it yourself and pass the wheel with --find-links",
            )
        wheel = built[0]
        if not is_pure(wheel.name):
            raise NoCompatibleWheelError(
                f"{error.name}: building {source} on this machine produced a platform wheel ({wheel.name}), which would carry this machine's libraries and architecture",
                hint=f"get a wheel for {target.runtime.name} {target.arch.machine} from the {error.name} maintainers, or build it in the Lambda build image (public.ecr.aws/sam/build-{target.runtime.name})",
            )
        destination = wheelhouse / wheel.name
        shutil.move(str(wheel), destination)
    log.info("built %s from %s", destination.name, source)
    return destination
