"""Fetch wheel files with ``pip download``: pip keeps indexes, credentials, proxies, certificates and hash checks.

Two ways, each one pip process through the marker seam with the target's flags:

* :func:`fetch_pinned` downloads exact files, ``--no-deps``: each named by its
  URL when it is known in full (``name @ url --hash=sha256:…``: pip asks no
  index), else by version and hash, or as a hashed requirement line says.
* :func:`fetch_resolved` lets pip resolve the build's own requirements and
  download every wheel of the result (``pip download -d DIR``).  It gives no
  report: the files say the names and versions, their sha256 is computed here.

Measured for a cold build (nothing in the store; api, data and native sets;
medians of 3 on 2 shared cores): a dry-run resolve followed by a pinned
download took 1.12 / 1.18 / 0.81 s from a local wheelhouse and 4.65 / 3.19 /
5.61 s from PyPI with an empty pip cache; one resolving download took 0.58 /
0.79 / 0.51 s and 3.78 / 1.63 / 2.93 s.  So an empty store is filled by one
resolving download, and a store that holds wheels already is asked first
(dry run) so that only what it lacks is downloaded.

A pinned wheel that is a local file (a ``file://`` URL, as a lock names a
wheelhouse beside it) is copied by :func:`copy_local` instead: no index,
credentials, proxy or certificate is involved, and starting pip for a copy
costs more than the copy (a one-package change from a lock then starts no
pip process at all).  Its sha256 is checked as pip would check it.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

from pip_lambda.errors import PipFailedError
from pip_lambda.pip.args import SEPARATOR, Role, tokenize
from pip_lambda.pip.requirements import RequirementLine, RequirementSet, files_looks, local_location
from pip_lambda.pip.run import download_command, pip_environment, run_pip
from pip_lambda.plan.selection import Wheel
from pip_lambda.plan.target import Target

log = logging.getLogger(__name__)

INSTALL_ONLY = frozenset(
    {
        "--upgrade", "--upgrade-strategy", "--force-reinstall", "--ignore-installed", "--dry-run", "--report",
        "--compile", "--no-compile", "--no-warn-script-location", "--no-warn-conflicts", "--root-user-action",
        "--break-system-packages", "--no-user", "--config-settings", "--global-option", "--install-option",
    }
)  # fmt: skip
"""``pip install`` options that ``pip download`` refuses; they change nothing about which files are fetched."""
_PINS = "pins.txt"


def _for_download(arguments: Sequence[str], *, requirements: bool) -> list[str]:
    """pip install arguments that ``pip download`` accepts, with or without those naming requirements."""
    named = (Role.REQUIREMENTS, Role.CONSTRAINTS)
    kept: list[str] = []
    for token in tokenize(arguments):
        option = token.option
        if option is not None and option.name in INSTALL_ONLY:
            continue
        if token.spelling == SEPARATOR:  # what follows is positional, requirements all
            kept.extend([SEPARATOR] if requirements else [])
            continue
        if not requirements and (token.is_positional or (option is not None and option.role in named)):
            continue
        kept.extend(token.alone)
    return kept


def pinned_arguments(passthrough: Sequence[str], found: RequirementSet, scratch: Path) -> list[str]:
    """The build's pip arguments for downloading pinned files: without its requirements and what only install
    knows, and with where its requirement files tell pip to look (a file in ``scratch``)."""
    return [*_for_download(passthrough, requirements=False), *files_looks(found, scratch)]


def pin(wheel: Wheel) -> str:
    """A requirement line for exactly this file: by URL when it is known in full, so pip asks no index; by version
    where the URL lost its credentials, so pip finds the file on its configured index with them."""
    by_url = "***@" not in wheel.url and (wheel.direct or wheel.url.startswith(("https://", "http://", "file://")))
    spec = f"{wheel.name} @ {wheel.url}" if by_url else f"{wheel.name}=={wheel.version}"
    return f"{spec} --hash=sha256:{wheel.sha256}"


def hashed_line(line: RequirementLine) -> str:
    """A hashed requirement line as written (its markers kept), for pip to choose among its files."""
    return " ".join([line.text, *(f"--hash={value}" for value in line.hashes)])


def fetch_pinned(
    target: Target,
    passthrough: Sequence[str],
    platforms: Sequence[str],
    found: RequirementSet,
    lines: Sequence[str],
    scratch: Path,
    *,
    stream: bool = False,
) -> list[Path]:
    """Download the files ``lines`` pin (see :func:`pin`, :func:`hashed_line`) into ``scratch``, in one pip process.

    pip looks where the build looks (the command line's and the requirement
    files' index, find-links and connection options) and checks every hash.
    """
    destination = scratch / "wheels"
    pins = scratch / _PINS
    pins.write_text("".join(f"{line}\n" for line in lines), "utf-8")
    arguments = [*pinned_arguments(passthrough, found, scratch), "--no-deps", "--require-hashes", "-r", str(pins)]
    command = download_command(target, destination, arguments, platforms)
    log.info("downloading %d wheel(s) with pip", len(lines))
    run_pip(command, pip_environment(target), stream=stream)
    return _downloaded(destination)


def fetch_resolved(
    target: Target, passthrough: Sequence[str], platforms: Sequence[str], scratch: Path, *, stream: bool = False
) -> list[Path]:
    """Resolve the build's requirements and download every wheel of the result, in one pip process."""
    destination = scratch / "wheels"
    command = download_command(target, destination, _for_download(passthrough, requirements=True), platforms)
    log.info("installing for %s with pip", target)
    run_pip(command, pip_environment(target), stream=stream)
    return _downloaded(destination)


def _downloaded(destination: Path) -> list[Path]:
    files = sorted(destination.iterdir()) if destination.is_dir() else []
    other = [path.name for path in files if not path.name.endswith(".whl")]
    if other:  # --only-binary=:all: lets no sdist through; anything else is not what was asked for
        raise PipFailedError(f"pip downloaded files that are not wheels: {', '.join(other)}")
    return files


def local_file(wheel: Wheel) -> Path | None:
    """The file a ``file://`` URL names on this machine, when it is there; None for anything pip must fetch."""
    if not wheel.url.lower().startswith("file:"):
        return None
    path = local_location(wheel.url)
    return path if path is not None and path.is_file() else None


def copy_local(wheel: Wheel, source: Path, scratch: Path) -> Path:
    """Copy a local wheel into ``scratch`` while hashing it; a file that is not the pinned one fails as pip's check would."""
    destination = scratch / "wheels" / wheel.filename
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with source.open("rb") as reader, destination.open("wb") as writer:
        while chunk := reader.read(1 << 20):
            digest.update(chunk)
            writer.write(chunk)
    log.debug("copied %s from %s", wheel.filename, source.parent)
    if digest.hexdigest() != wheel.sha256:
        destination.unlink()
        raise PipFailedError(
            f"{source} does not match the sha256 it is pinned to ({wheel.sha256})",
            hint="the file changed since it was locked, or the hash is wrong: check it before updating the hash",
        )
    shutil.copystat(source, destination)
    return destination
