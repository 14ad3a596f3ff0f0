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
from typing import Any

from pip_lambda.pip.run import install_command, pip_environment, run_pip
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

    def as_json(self) -> list[Any]:
        return [self.name, self.version, self.url, self.sha256, self.direct]


def _pick(item: dict[str, Any]) -> Pick:
    info = item.get("download_info", {})
    hashes = info.get("archive_info", {}).get("hashes", {})
    from packaging.utils import canonicalize_name

    return Pick(
        name=canonicalize_name(item["metadata"]["name"]),
        version=item["metadata"]["version"],
        url=redact(info.get("url", ""), keep_user=False),
        sha256=hashes.get("sha256"),
        direct=bool(item.get("is_direct")),
    )


def read_report(path: Path) -> tuple[Pick, ...]:
    report = json.loads(path.read_text("utf-8"))
    return tuple(sorted((_pick(item) for item in report.get("install", [])), key=lambda pick: pick.name))


def resolve(request: Any) -> tuple[Pick, ...]:
    """pip's resolution for ``request`` (a BuildRequest); raises PipFailedError when pip cannot resolve."""
    with tempfile.TemporaryDirectory(prefix="pip-lambda-resolve-") as scratch:
        report = Path(scratch, "report.json")
        extra = ["--dry-run", "--ignore-installed", "--report", str(report), "--quiet"]
        command = install_command(
            request.target,
            Path(scratch, "site"),
            [*request.pip_args.passthrough, *extra],
            request.pip_args.platforms,
        )
        log.info("resolving with pip")
        run_pip(command, pip_environment(request.target))
        picks = read_report(report)
    log.debug("pip resolved %s", ", ".join(f"{pick.name}=={pick.version}" for pick in picks))
    return picks


def same_resolution(picks: tuple[Pick, ...], stored: Any) -> bool:
    return isinstance(stored, list) and [pick.as_json() for pick in picks] == stored
