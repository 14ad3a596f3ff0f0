"""Why a package is big, and why each part is there: pure functions over what a build or a zip holds.

Every file of the package belongs to the distribution whose RECORD lists it,
or else to "your code" (``--code`` files, or anything no RECORD claims).  For
each distribution: its unzipped bytes, the compressed bytes of its members
(its share of the zip) and the chain of requirements that pulled it in, from
``Requires-Dist`` evaluated for the target (markers with the target's
environment, extras followed as requested) starting at the top-level
requirements, or, when those are not known (a lock, a zip built elsewhere), at
the distributions nothing else requires.  A distribution reached by several
chains shows the shortest and counts the others.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from packaging.utils import canonicalize_name

from pip_lambda.cache.jsondata import Json, Malformed, count, field, flag, items, number, optional_text, text
from pip_lambda.report.chains import dependency_chains
from pip_lambda.report.text import human

CODE = "(your code)"
"""The part of the package no distribution's RECORD lists: ``--code`` files, or files of unknown origin."""
LARGEST_FILES = 20
FOLDERS = 8
"""Largest folders kept per part (the treemap's second level)."""


class Chains(enum.Enum):
    """Where the chains start."""

    REQUIREMENTS = "requirements"
    """The build's top-level requirements."""
    UNREQUIRED = "unrequired"
    """The distributions nothing else installed requires (a lock, whose entries are flat, or a zip built elsewhere)."""
    UNKNOWN = "unknown"
    """Not known: no metadata to read (a report written without the size analysis)."""


@dataclass(frozen=True)
class AnalysedDistribution:
    """One distribution of the package, as the analysis reads it."""

    name: str
    version: str
    files: tuple[str, ...]
    """Paths relative to the package root (``python/…`` in a layer)."""
    requires: tuple[str, ...] | None
    """Its ``Requires-Dist`` lines; None when its METADATA could not be read."""
    extras: tuple[str, ...] = ()
    """Its ``Provides-Extra`` names."""
    site: str = ""
    """The folder on ``sys.path`` it lies in, relative to the package root: ``""`` or ending in ``/``."""

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)


@dataclass(frozen=True)
class PackageFile:
    """A file of the package: its path relative to the package root, its bytes unzipped and in the zip."""

    path: str
    size: int
    zipped: int | None = None


@dataclass(frozen=True)
class Folder:
    path: str
    """Relative to the package root; ``""`` stands for the files at the top of it."""
    size: int


@dataclass(frozen=True)
class Part:
    """A distribution, or your code (``name`` CODE, ``version`` None)."""

    name: str
    version: str | None
    files: int
    unzipped: int
    zipped: int | None
    """Compressed bytes of its members; None when there is no zip."""
    chain: tuple[str, ...] | None
    """Top-level requirement → … → it; None for your code and when it cannot be known."""
    other_chains: int = 0
    requested: bool = False
    """A top-level requirement of the build (its chain is itself)."""
    folders: tuple[Folder, ...] = ()
    """Its largest folders, largest first (at most FOLDERS)."""

    @property
    def is_code(self) -> bool:
        return self.version is None

    @property
    def top_level(self) -> str | None:
        return self.chain[0] if self.chain else None


@dataclass(frozen=True)
class LargeFile:
    path: str
    size: int
    zipped: int | None
    owner: str
    """The distribution it belongs to, or CODE."""


@dataclass(frozen=True)
class SizeAnalysis:
    """Why a package is big: its parts, largest first, and its largest files."""

    unzipped: int
    zip_size: int | None
    parts: tuple[Part, ...]
    largest_files: tuple[LargeFile, ...]
    chains: Chains
    notes: tuple[str, ...] = ()

    def share(self, part: Part) -> float:
        """Of the zip when there is one (compressed bytes over the zip's size), else of the unzipped package."""
        whole, size = (
            (self.zip_size, part.zipped)
            if self.zip_size is not None and part.zipped is not None
            else (self.unzipped, part.unzipped)
        )
        return min(size, whole) / whole if whole else 0.0

    def to_json(self) -> dict[str, Json]:
        return {
            "unpacked_size": self.unzipped,
            "zip_size": self.zip_size,
            "chains": self.chains.value,
            "parts": [self._part_json(part) for part in self.parts],
            "largest_files": [
                {"path": item.path, "size": item.size, "zipped_size": item.zipped, "owner": item.owner}
                for item in self.largest_files
            ],
            "notes": list(self.notes),
        }

    def _part_json(self, part: Part) -> Json:
        return {
            "name": part.name,
            "version": part.version,
            "file_count": part.files,
            "unpacked_size": part.unzipped,
            "zipped_size": part.zipped,
            "share": round(self.share(part), 6),
            "chain": None if part.chain is None else list(part.chain),
            "other_chains": part.other_chains,
            "requested": part.requested,
            "folders": [{"path": folder.path, "size": folder.size} for folder in part.folders],
        }

    @classmethod
    def from_json(cls, value: Json) -> SizeAnalysis:
        """What :meth:`to_json` wrote; Malformed when a field is missing or of the wrong type."""
        try:
            chains = Chains(field(value, "chains"))
        except ValueError:
            raise Malformed("an unknown kind of chains") from None
        return cls(
            unzipped=count(field(value, "unpacked_size")),
            zip_size=_optional_count(field(value, "zip_size")),
            parts=tuple(_part(item) for item in items(field(value, "parts"))),
            largest_files=tuple(
                LargeFile(
                    path=text(field(item, "path")),
                    size=count(field(item, "size")),
                    zipped=_optional_count(field(item, "zipped_size")),
                    owner=text(field(item, "owner")),
                )
                for item in items(field(value, "largest_files"))
            ),
            chains=chains,
            notes=tuple(text(note) for note in items(field(value, "notes"))),
        )


def _optional_count(value: Json) -> int | None:
    return None if value is None else count(value)


def _part(value: Json) -> Part:
    number(field(value, "share"))  # derived from the sizes; checked, not kept
    chain = field(value, "chain")
    return Part(
        name=text(field(value, "name")),
        version=optional_text(field(value, "version")),
        files=count(field(value, "file_count")),
        unzipped=count(field(value, "unpacked_size")),
        zipped=_optional_count(field(value, "zipped_size")),
        chain=None if chain is None else tuple(text(name) for name in items(chain)),
        other_chains=count(field(value, "other_chains")),
        requested=flag(field(value, "requested")),
        folders=tuple(
            Folder(text(field(item, "path")), count(field(item, "size"))) for item in items(field(value, "folders"))
        ),
    )


def analyse(
    files: Sequence[PackageFile],
    installed: Sequence[AnalysedDistribution],
    *,
    requested: Sequence[tuple[str, frozenset[str]]] | None,
    environment: Mapping[str, str],
    zip_size: int | None,
) -> SizeAnalysis:
    """The size analysis of a package holding ``files``, of which ``installed`` are the distributions.

    ``requested`` are the build's top-level requirements (name and extras);
    None when they are not known, so the chains start at what nothing else requires.
    """
    by_key = {dist.key: dist for dist in sorted(installed, key=lambda dist: dist.key)}
    owner = _owners(files, by_key.values())
    owned: dict[str | None, list[PackageFile]] = {}
    for item in files:
        owned.setdefault(owner.get(item.path), []).append(item)
    starts = [(canonicalize_name(name), extras) for name, extras in requested or ()]
    chains, counts = dependency_chains(
        {key: (dist.name, dist.requires or (), dist.extras) for key, dist in by_key.items()}, starts, environment
    )
    asked = {name for name, _ in starts}
    parts = [
        _measure(
            Part(dist.name, dist.version, 0, 0, None, chains.get(key), max(counts.get(key, 1) - 1, 0), key in asked),
            dist.site,
            owned[key],
            zip_size,
        )
        for key, dist in by_key.items()
        if key in owned
    ]
    if None in owned:
        parts.append(_measure(Part(CODE, None, 0, 0, None, None), "", owned[None], zip_size))
    parts.sort(key=lambda part: (-part.unzipped, part.name))
    largest = sorted(files, key=lambda item: (-item.size, item.path))[:LARGEST_FILES]
    notes = [
        f"{dist.name}: no readable METADATA, so what it requires is unknown"
        for dist in installed
        if dist.requires is None
    ]
    return SizeAnalysis(
        unzipped=sum(item.size for item in files),
        zip_size=zip_size,
        parts=tuple(parts),
        largest_files=tuple(
            LargeFile(
                item.path,
                item.size,
                item.zipped if zip_size is not None else None,
                by_key[key].name if (key := owner.get(item.path)) is not None else CODE,
            )
            for item in largest
        ),
        chains=Chains.REQUIREMENTS if requested is not None else Chains.UNREQUIRED,
        notes=tuple(notes),
    )


def _owners(files: Sequence[PackageFile], installed: Iterable[AnalysedDistribution]) -> dict[str, str]:
    """The distribution (key) each file of the package belongs to: the first by name that lists it."""
    present = {item.path for item in files}
    owner: dict[str, str] = {}
    for dist in installed:
        for path in dist.files:
            if path in present:
                owner.setdefault(path, dist.key)
    return owner


def _measure(part: Part, site: str, owned: Sequence[PackageFile], zip_size: int | None) -> Part:
    """``part`` with the sizes and largest folders of the files it owns."""
    folders: dict[str, int] = {}
    for item in owned:
        folder = _folder_of(item.path, site)
        folders[folder] = folders.get(folder, 0) + item.size
    largest = sorted(folders.items(), key=lambda pair: (-pair[1], pair[0]))[:FOLDERS]
    return replace(
        part,
        files=len(owned),
        unzipped=sum(item.size for item in owned),
        zipped=None if zip_size is None else sum(item.zipped or 0 for item in owned),
        folders=tuple(Folder(path, size) for path, size in largest),
    )


def _folder_of(path: str, site: str) -> str:
    """The folder a file counts under in the treemap: at most two levels below its site (``numpy/_core``)."""
    inside = path[len(site) :] if path.startswith(site) else path
    parents = inside.split("/")[:-1][:2]
    return site + "/".join(parents) if parents else site.rstrip("/")


def chain_text(part: Part) -> str:
    """Why the part is there, for people: ``← pydantic ← fastapi``, ``requested``, ``your code``…"""
    if part.is_code:
        return "your code"
    if part.chain is None:
        return "chain unknown"
    if len(part.chain) == 1:
        why = "requested" if part.requested else "top level (nothing requires it)"
    else:
        why = "← " + " ← ".join(reversed(part.chain[:-1]))
    if part.other_chains:
        why += f" (+{part.other_chains} other chain{'s' if part.other_chains > 1 else ''})"
    return why


def share_text(analysis: SizeAnalysis, part: Part) -> str:
    where = "of the zip" if analysis.zip_size is not None and part.zipped is not None else "unzipped"
    share = analysis.share(part)
    return f"{'<1%' if 0 < share < 0.005 else f'{share:.0%}'} {where}"


def part_rows(analysis: SizeAnalysis, limit: int | None = None) -> list[list[str]]:
    """A table of the largest parts: name, version, unzipped size, share, why it is there."""
    rows = [["largest distributions", "version", "unpacked", "share", "pulled in by"]]
    for part in analysis.parts[:limit]:
        rows.append([part.name, part.version or "", human(part.unzipped), share_text(analysis, part), chain_text(part)])
    return rows


def file_rows(analysis: SizeAnalysis, limit: int) -> list[list[str]]:
    rows = [["largest files", "unpacked", "zipped", "part"]]
    for item in analysis.largest_files[:limit]:
        zipped = "" if item.zipped is None else human(item.zipped)
        rows.append([item.path, human(item.size), zipped, item.owner])
    return rows
