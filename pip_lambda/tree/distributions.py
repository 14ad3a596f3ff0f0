"""The distributions installed in a package tree, read from their ``.dist-info`` folders."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Distribution:
    """One installed distribution and the files its RECORD lists."""

    name: str
    version: str
    dist_info: str
    """Path of the ``.dist-info`` folder, relative to the site folder."""
    files: tuple[str, ...]
    size: int
    """Bytes of the listed files that exist."""

    @property
    def key(self) -> str:
        from packaging.utils import canonicalize_name  # here, so a no-op rebuild starts faster

        return canonicalize_name(self.name)

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def read_record(dist_info: Path) -> list[str]:
    record = dist_info / "RECORD"
    if not record.is_file():
        return [str(path.relative_to(dist_info.parent)) for path in dist_info.rglob("*") if path.is_file()]
    return [row[0] for row in csv.reader(io.StringIO(record.read_text("utf-8", errors="replace"))) if row]


def read_distribution(dist_info: Path) -> Distribution:
    from email.parser import HeaderParser

    metadata = HeaderParser().parsestr((dist_info / "METADATA").read_text("utf-8", errors="replace"))
    site = dist_info.parent
    files = tuple(read_record(dist_info))
    size = sum((site / path).stat().st_size for path in files if (site / path).is_file())
    return Distribution(
        name=metadata.get("Name", dist_info.name.split("-")[0]),
        version=metadata.get("Version", "?"),
        dist_info=dist_info.name,
        files=files,
        size=size,
    )


def find_distributions(site: Path) -> list[Distribution]:
    """Every distribution in ``site``, sorted by name."""
    found = [read_distribution(path) for path in site.glob("*.dist-info") if (path / "METADATA").is_file()]
    return sorted(found, key=lambda dist: dist.key)
