"""Requirements that have only a source distribution: name them clearly, or build the allowed ones.

pip-lambda installs wheels only: an sdist's build runs on this machine, for this
machine.  ``--allow-sdist NAME`` accepts that for NAME, and only when the build
yields a pure-Python wheel, which loads anywhere; a platform wheel built here
would carry this machine's glibc and architecture, so it is refused.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import InvalidSdistFilename, canonicalize_name, parse_sdist_filename, parse_wheel_filename

from pip_lambda.errors import NoCompatibleWheelError
from pip_lambda.pip.run import install_command, run_pip
from pip_lambda.plan.target import Target

log = logging.getLogger(__name__)

ALL = ":all:"
# pip -vvv logs every link it skips; the sdists it skips under --only-binary=:all: read like this.
_SKIPPED_SDIST = re.compile(r"No sources permitted for [^:]+: (\S+)")


class SdistOnlyError(NoCompatibleWheelError):
    """Only an sdist matches a requirement; carries what ``--allow-sdist`` needs to build it."""

    def __init__(self, message: str, *, hint: str, detail: str, name: str, requirement: str, sdist: str | None) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.name = name
        self.requirement = requirement
        self.sdist = sdist


def sdist_file(
    target: Target, requirement: str, index_args: Sequence[str], environment: Mapping[str, str]
) -> str | None:
    """The file name of the newest sdist matching ``requirement``, as pip sees the index; None if unknown."""
    with tempfile.TemporaryDirectory(prefix="pip-lambda-probe-") as scratch:
        command = install_command(
            target,
            Path(scratch) / "site",
            [*index_args, "--dry-run", "--no-deps", "-vvv", requirement],
            target.platform_tags,
        )
        done = subprocess.run(
            command, env=dict(environment), capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
        )
    wanted = Requirement(requirement)
    found = []
    for url in _SKIPPED_SDIST.findall(done.stdout + done.stderr):
        name = url.split("#", 1)[0].rsplit("/", 1)[-1]
        try:
            project, version = parse_sdist_filename(name)
        except InvalidSdistFilename:
            continue
        if project == canonicalize_name(wanted.name) and wanted.specifier.contains(version, prereleases=True):
            found.append((version, name))
    return max(found)[1] if found else None


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
    index_args: Sequence[str],
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
            "--wheel-dir", scratch, *index_args, error.requirement,
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
