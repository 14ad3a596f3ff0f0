"""Ask pip what it would install, without installing: ``pip install --dry-run --report``.

pip stays the resolver: the same command line as the real install (through the
marker seam, so markers are the target's), with ``--dry-run --ignore-installed
--report``.  The report names each distribution, its version and the sha256 of
the file pip chose, which is what the wheel store and the cache compare.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pip_lambda.errors import PipFailedError
from pip_lambda.pip.args import PipArgs
from pip_lambda.pip.run import install_command, pip_environment, run_pip
from pip_lambda.plan.target import Target
from pip_lambda.system.redact import redact

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pick:
    """One distribution of pip's resolution."""

    name: str
    version: str
    url: str
    """Where pip found it, credentials removed."""
    sha256: str | None
    """Of the file pip chose; None for a folder or a VCS checkout."""
    direct: bool
    """Named by URL or path (``name @ url``, ``./file.whl``), not found on an index."""


def _get(value: object, *names: str) -> object:
    """``value[name][name]…`` of pip's JSON report, None where a level is missing or not an object."""
    for name in names:
        value = value.get(name) if isinstance(value, dict) else None
    return value


def _pick(item: object) -> Pick:
    from packaging.utils import canonicalize_name

    name, version = _get(item, "metadata", "name"), _get(item, "metadata", "version")
    url, sha256 = _get(item, "download_info", "url"), _get(item, "download_info", "archive_info", "hashes", "sha256")
    if not isinstance(name, str) or not isinstance(version, str):
        raise PipFailedError("pip's installation report names a distribution without a name or version")
    return Pick(
        name=canonicalize_name(name),
        version=version,
        url=redact(url if isinstance(url, str) else "", keep_user=False),
        sha256=sha256 if isinstance(sha256, str) else None,
        direct=bool(_get(item, "is_direct")),
    )


def read_report(path: Path) -> tuple[Pick, ...]:
    installed = _get(json.loads(path.read_text("utf-8")), "install")
    picks = (_pick(item) for item in (installed if isinstance(installed, list) else []))
    return tuple(sorted(picks, key=lambda pick: pick.name))


def resolve(target: Target, pip_args: PipArgs) -> tuple[Pick, ...]:
    """pip's resolution for these arguments; raises PipFailedError when pip cannot resolve."""
    with tempfile.TemporaryDirectory(prefix="pip-lambda-resolve-") as scratch:
        report = Path(scratch, "report.json")
        extra = ["--dry-run", "--ignore-installed", "--report", str(report), "--quiet"]
        command = install_command(target, Path(scratch, "site"), [*pip_args.passthrough, *extra], pip_args.platforms)
        log.info("resolving with pip")
        run_pip(command, pip_environment(target))
        picks = read_report(report)
    log.debug("pip resolved %s", ", ".join(f"{pick.name}=={pick.version}" for pick in picks))
    return picks
