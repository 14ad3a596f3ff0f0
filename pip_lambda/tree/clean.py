"""Remove from pip's target folder what cannot work on Lambda or differs between builds."""

from __future__ import annotations

import logging
from pathlib import Path

from pip_lambda.tree.distributions import read_distribution, update_records
from pip_lambda.tree.paths import remove_files
from pip_lambda.tree.records import dist_info_folders, read_record

log = logging.getLogger(__name__)

# Written by the installer, not the wheel: they vary with the tool, the request and the local path.
INSTALLER_FILES = ("INSTALLER", "REQUESTED", "direct_url.json")


def clean_site(site: Path) -> list[str]:
    """Drop console scripts, C headers, host bytecode and installer metadata; keep .dist-info, data files and .pth files.

    Every RECORD is then rewritten to match the tree, its rows mapped from
    pip's ``--target`` layout into the folder; the warnings name each
    distribution whose RECORD named paths outside the package.
    """
    if (site / "bin").is_dir() and not (site / "bin" / "__init__.py").exists():
        log.debug("removing bin/: console scripts carry this machine's interpreter path")
        remove_files(site, _files_under(site, "bin"))
    remove_files(site, _host_bytecode(site))
    with_headers = []
    for dist_info in dist_info_folders(site):
        remove_files(site, [f"{dist_info.name}/{name}" for name in INSTALLER_FILES])
        headers = read_record(dist_info).headers
        if headers:
            remove_files(site, headers)
            with_headers.append(str(read_distribution(dist_info)))
    if with_headers:
        # pip places them by the Python that runs it (include/site/python3.X/ in a virtual environment),
        # so keeping them would make the package depend on the build machine; Lambda never compiles against them.
        log.info("leaving out the C headers of %s: nothing on Lambda compiles against them", ", ".join(with_headers))
    return update_records(site)


def _files_under(site: Path, folder: str) -> list[str]:
    return [path.relative_to(site).as_posix() for path in (site / folder).rglob("*") if _not_folder(path)]


def _host_bytecode(site: Path) -> list[str]:
    found = []
    for path in site.rglob("*"):
        relative = path.relative_to(site)
        if _not_folder(path) and (path.suffix in (".pyc", ".pyo") or "__pycache__" in relative.parts[:-1]):
            found.append(relative.as_posix())
    return found


def _not_folder(path: Path) -> bool:
    return path.is_symlink() or not path.is_dir()
