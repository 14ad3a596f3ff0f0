"""Remove from pip's target folder what cannot work on Lambda or differs between builds."""

from __future__ import annotations

import csv
import io
import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

# Written by the installer, not the wheel: they vary with the tool, the request and the local path.
INSTALLER_FILES = ("INSTALLER", "REQUESTED", "direct_url.json")


def clean_site(site: Path) -> None:
    """Drop console scripts, host bytecode and installer metadata; keep .dist-info and .pth files."""
    scripts = site / "bin"
    if scripts.is_dir() and not (scripts / "__init__.py").exists():
        log.debug("removing bin/: console scripts carry this machine's interpreter path")
        shutil.rmtree(scripts)
    for cache in sorted(site.rglob("__pycache__"), reverse=True):
        if cache.is_dir():
            shutil.rmtree(cache)
    for compiled in [*site.rglob("*.pyc"), *site.rglob("*.pyo")]:
        compiled.unlink()
    for record in site.glob("*.dist-info/RECORD"):
        for name in INSTALLER_FILES:
            (record.parent / name).unlink(missing_ok=True)
        rewrite_record(record, site)


def rewrite_record(record: Path, site: Path) -> None:
    """Keep RECORD true to the tree: drop rows for files that are gone or outside the folder."""
    kept = io.StringIO()
    writer = csv.writer(kept, lineterminator="\n")
    for row in csv.reader(io.StringIO(record.read_text("utf-8"))):
        if not row:
            continue
        path = row[0]
        if path.startswith("../") or path.startswith("/"):
            continue
        if path != f"{record.parent.name}/RECORD" and not (site / path).is_file():
            continue
        writer.writerow(row)
    record.write_text(kept.getvalue(), "utf-8")
