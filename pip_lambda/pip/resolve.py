"""Ask pip what it would install, without installing: ``pip install --dry-run --report``.

pip stays the resolver: the same command line as the real install (through the
marker seam, so markers are the target's), with ``--dry-run --ignore-installed
--report``.  The report names each distribution, its version and the URL and
sha256 of the wheel file pip chose: a :class:`~pip_lambda.plan.selection.Selection`,
which the wheel store fills and lays out, and the cache compares.
"""

from __future__ import annotations

import json
import logging
import posixpath
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pip_lambda.errors import PipFailedError
from pip_lambda.pip import failures
from pip_lambda.pip.args import PipArgs
from pip_lambda.pip.requirements import looks_arguments, read_pip_args
from pip_lambda.pip.run import install_command, pip_environment, run_pip
from pip_lambda.plan.selection import PIP, Selection, Wheel
from pip_lambda.plan.target import Target
from pip_lambda.system.redact import redact

log = logging.getLogger(__name__)


class NotWheelFiles(Exception):
    """pip would install something that is not a wheel file with a known hash (a folder, a VCS checkout)."""

    def __init__(self, name: str, version: str) -> None:
        super().__init__(f"{name} {version} does not come from a wheel file with a known sha256")
        self.name = name
        self.version = version


def _get(value: object, *names: str) -> object:
    """``value[name][name]…`` of pip's JSON report, None where a level is missing or not an object."""
    for name in names:
        value = value.get(name) if isinstance(value, dict) else None
    return value


def _wheel(item: object) -> Wheel:
    from packaging.utils import canonicalize_name

    name, version = _get(item, "metadata", "name"), _get(item, "metadata", "version")
    url, sha256 = _get(item, "download_info", "url"), _get(item, "download_info", "archive_info", "hashes", "sha256")
    if not isinstance(name, str) or not isinstance(version, str):
        raise PipFailedError("pip's installation report names a distribution without a name or version")
    filename = unquote(posixpath.basename(urlsplit(url).path)) if isinstance(url, str) else ""
    if not isinstance(sha256, str) or not filename.endswith(".whl"):
        raise NotWheelFiles(name, version)
    return Wheel(
        name=canonicalize_name(name),
        version=version,
        filename=filename,
        url=redact(url if isinstance(url, str) else "", keep_user=False),
        sha256=sha256,
        direct=bool(_get(item, "is_direct")),
    )


def read_report(path: Path) -> Selection:
    """The wheels of pip's installation report; NotWheelFiles when one is not a wheel file with a hash."""
    installed = _get(json.loads(path.read_text("utf-8")), "install")
    wheels = (_wheel(item) for item in (installed if isinstance(installed, list) else []))
    return Selection(tuple(sorted(wheels, key=lambda wheel: wheel.name)), PIP)


def resolve(target: Target, pip_args: PipArgs) -> Selection:
    """pip's resolution for these arguments; PipFailedError when pip cannot resolve, NotWheelFiles (see above)."""
    with tempfile.TemporaryDirectory(prefix="pip-lambda-resolve-") as scratch:
        report = Path(scratch, "report.json")
        extra = ["--dry-run", "--ignore-installed", "--report", str(report), "--quiet"]
        command = install_command(target, Path(scratch, "site"), [*pip_args.passthrough, *extra], pip_args.platforms)
        log.info("resolving with pip")
        run_pip(command, pip_environment(target))
        selection = read_report(report)
    log.debug("pip resolved %s", ", ".join(f"{wheel.name}=={wheel.version}" for wheel in selection.wheels))
    return selection


def resolve_explained(target: Target, pip_args: PipArgs) -> Selection:
    """:func:`resolve`, a pip failure explained as an install's is (no wheel for the target, sdist only…)."""
    try:
        return resolve(target, pip_args)
    except PipFailedError as failure:
        with tempfile.TemporaryDirectory(prefix="pip-lambda-looks-") as scratch:
            looks = looks_arguments(pip_args, read_pip_args(pip_args), Path(scratch))
            raise failures.explain(failure, target, looks, pip_environment(target)) from None
