"""The distributions installed in a package tree, read from their ``.dist-info`` folders.

Metadata is read through ``importlib.metadata``; the files of a distribution
come from :mod:`pip_lambda.tree.records`, so every one of them is a path
inside the tree.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from pip_lambda.tree.records import dist_info_folders, read_record, update_record

if TYPE_CHECKING:
    from importlib.metadata import PackageMetadata


@dataclass(frozen=True)
class Distribution:
    """One installed distribution and the files its RECORD lists."""

    name: str
    version: str
    dist_info: str
    """Path of the ``.dist-info`` folder, relative to the site folder."""
    files: tuple[str, ...]
    """Paths relative to the site folder, each confined to it."""
    size: int
    """Bytes of the listed files that exist."""
    wheel_sha256: str | None = None
    """Of the wheel file it was installed from, when the build knows it (the wheel store records it)."""

    @property
    def key(self) -> str:
        from packaging.utils import canonicalize_name  # here, so a no-op rebuild starts faster

        return canonicalize_name(self.name)

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


def metadata_from_text(text: str) -> PackageMetadata:
    """A METADATA file's text (streamed out of a zip), parsed by ``importlib.metadata`` as an installed one would be."""
    from importlib.metadata import Distribution as Metadata  # here, so a no-op rebuild starts faster

    class _Read(Metadata):
        def read_text(self, filename: str) -> str | None:
            return text if filename == "METADATA" else None

        def locate_file(self, path: str | PathLike[str]) -> NoReturn:
            raise NotImplementedError("a METADATA read from text has no files on disk")

    return _Read().metadata


def read_metadata(dist_info: Path) -> PackageMetadata | None:
    """The METADATA of a ``.dist-info`` folder, or None when it is missing or not UTF-8."""
    from importlib.metadata import PathDistribution  # here, so a no-op rebuild starts faster

    if not (dist_info / "METADATA").is_file():
        return None
    try:
        return PathDistribution(dist_info).metadata
    except (OSError, UnicodeDecodeError):
        return None


def read_distribution(dist_info: Path) -> Distribution:
    metadata = read_metadata(dist_info)
    site = dist_info.parent
    if (dist_info / "RECORD").is_file():
        files = read_record(dist_info).paths
    else:
        files = tuple(path.relative_to(site).as_posix() for path in sorted(dist_info.rglob("*")) if path.is_file())
    size = sum((site / path).stat().st_size for path in files if (site / path).is_file())
    return Distribution(
        name=first(metadata, "Name") or dist_info.name.split("-")[0],
        version=first(metadata, "Version") or "?",
        dist_info=dist_info.name,
        files=files,
        size=size,
    )


def first(metadata: PackageMetadata | None, field: str) -> str | None:
    """The first value of a METADATA field, or None."""
    values = None if metadata is None else metadata.get_all(field)
    return str(values[0]) if values else None


def find_distributions(site: Path, known: Mapping[str, Distribution] | None = None) -> list[Distribution]:
    """Every distribution in ``site``, sorted by name; those in ``known`` (by ``.dist-info`` name) are not read again."""
    known = known or {}
    found = [
        known.get(path.name) or read_distribution(path)
        for path in dist_info_folders(site)
        if (path / "METADATA").is_file()
    ]
    return sorted(found, key=lambda dist: dist.key)


def update_records(site: Path, changed: Collection[str] = ()) -> list[str]:
    """Bring every RECORD in ``site`` in line with the tree (see :func:`update_record`); a warning per distribution whose RECORD named paths outside it."""
    warnings = []
    for dist_info in dist_info_folders(site):
        escaping = update_record(site, dist_info, changed)
        if escaping:
            warnings.append(_escape_warning(read_distribution(dist_info), escaping))
    return warnings


def _escape_warning(distribution: Distribution, rows: Sequence[str]) -> str:
    shown = ", ".join(repr(_shortened(row)) for row in rows[:3]) + (
        f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    )
    return (
        f"{distribution}: its RECORD names {len(rows)} path(s) outside the package ({shown}); "
        "those rows were dropped and nothing outside the package was touched"
    )


def _shortened(row: str, width: int = 60) -> str:
    return row if len(row) <= width else f"{row[: width // 2 - 1]}…{row[-(width // 2 - 1) :]}"
