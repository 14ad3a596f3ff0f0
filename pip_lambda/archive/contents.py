"""What a package holds, read once from a zip, a folder or a JSON report: its files, sites and distributions.

The one reader of a package built by anyone: ``pip-lambda diff``, ``sbom`` and
``size`` and ``--with-layer`` all start here.  A zip is read from its central
directory (names, sizes, CRC-32s, compressed sizes, modes) through
:mod:`pip_lambda.archive.reader`, never its contents, except the small
``.dist-info`` members that say what belongs to whom: METADATA and RECORD (and
top_level.txt of a distribution without RECORD), streamed and bounded.  A
folder is read as a zip of it would be (archive/writer.collect_entries: the
same names, symlinks resolved), each file's CRC-32 computed from its bytes
unless only sizes are asked for.  A report (``--report``) carries the same
listing in each build's ``members``.

Names are those of the zip, from its root (``python/…`` in a layer).  The
sites are the folders Lambda puts on ``sys.path``: the root of a function;
``python/lib/python3.X/site-packages/`` and ``python/`` of a layer.  A
distribution's files are its RECORD's rows and its ``.dist-info`` folder;
without RECORD (``--slim`` removes it), the files under its top-level names
(top_level.txt, else its own name).
"""

from __future__ import annotations

import bisect
import enum
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pip_lambda.archive.reader import Kind, Member, ZipReader, open_zip
from pip_lambda.archive.writer import ZipResult, collect_entries
from pip_lambda.cache.jsondata import Json, Malformed, count, field, flag, items, optional_text, text, texts
from pip_lambda.errors import UsageError
from pip_lambda.plan.layout import LAYER, layout_of
from pip_lambda.tree.distributions import first, metadata_from_text
from pip_lambda.tree.records import parse_record
from pip_lambda.tree.staging import MARKER

if TYPE_CHECKING:
    from importlib.metadata import PackageMetadata

NO_DISTRIBUTION = "-"
"""The owner of a file no distribution lists."""
REPORT_VERSION = 1
"""The report version read here (report/document.py writes it)."""
METADATA_LIMIT = 32 << 20
"""The largest METADATA, RECORD or top_level.txt read; a larger one is taken as damaged."""
NO_LIMIT = 1 << 62
"""Nothing is unpacked, so the zip's declared size is not bounded (only the members read are)."""
_SITE_PACKAGES = re.compile(r"^python/lib/python3\.[0-9]+/site-packages/")
_METADATA = re.compile(r"^((?:python/(?:lib/python3\.[0-9]+/site-packages/)?)?)([^/]+\.dist-info)/METADATA$")
_CHUNK = 1 << 20
_GIVE = "give a zip, a folder or a report written by pip-lambda's --report"

Reader = Callable[[str], "str | None"]
"""The text of a file of the package by its name (None when there is no such file)."""


class Source(enum.Enum):
    ZIP = "zip"
    FOLDER = "folder"
    REPORT = "report"


@dataclass(frozen=True)
class FileInfo:
    """One file as a zip holds it."""

    size: int
    crc32: int | None
    """None for a folder read for its sizes alone (``checksums=False``)."""
    executable: bool
    compressed_size: int | None = None
    """None for a folder's file (not zipped yet)."""


@dataclass(frozen=True)
class Installed:
    """A distribution found in the package."""

    name: str
    version: str
    files: tuple[str, ...]
    """Names from the package root (see the module's documentation); RECORD may name files that are gone."""
    metadata: PackageMetadata | None = None
    """Its METADATA (None when read from a report)."""
    site: str = ""
    """The site it lies in: ``""`` or ending in ``/``."""
    dist_info: str = ""
    """Its ``.dist-info`` folder's name, in its site (``""`` when read from a report)."""
    record: bool = True
    """Its files come from RECORD; False when they are guessed from its top-level names."""

    @property
    def key(self) -> str:
        from packaging.utils import canonicalize_name  # here, so a build that reads no package starts faster

        return canonicalize_name(self.name)


@dataclass(frozen=True)
class Contents:
    path: Path
    source: Source
    files: Mapping[str, FileInfo]
    distributions: tuple[Installed, ...]
    """Those in the sites, sorted by key; one per key (the first site wins, as on sys.path)."""
    zipped_size: int | None
    """The zip's bytes; None for a folder, or a report of a build without a zip."""
    layer: bool = False
    sites: tuple[str, ...] = ("",)
    """In Lambda's ``sys.path`` order; a layer's ``site-packages`` of every Python it holds."""

    @property
    def unzipped_size(self) -> int:
        return sum(info.size for info in self.files.values())

    def owners(self) -> dict[str, str]:
        """Each file's owning distribution (its key): the first, by key, that lists it."""
        owners: dict[str, str] = {}
        for dist in self.distributions:
            for name in dist.files:
                if name in self.files:
                    owners.setdefault(name, dist.key)
        return owners


def source_of(path: Path) -> Source:
    """What ``path`` is, from its first bytes; a UsageError (exit 2) for a path that is none of them."""
    if path.is_dir():
        return Source.FOLDER
    try:
        with path.open("rb") as stream:
            start = stream.read(64).lstrip()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}", hint=_GIVE) from None
    if start.startswith(b"{"):
        return Source.REPORT
    if not start.startswith(b"PK"):
        raise UsageError(f"{path} is not a zip, a folder or a JSON report", hint=_GIVE)
    return Source.ZIP


def read_contents(
    path: Path, build: str | None = None, *, layer: bool | None = None, checksums: bool = True
) -> Contents:
    """The contents of a zip, a folder or a JSON report (``build`` names one of a report's builds).

    ``layer`` None detects a layer's layout; ``checksums`` False reads a folder's
    sizes without its bytes.  Bad input is a UsageError (exit 2): a missing
    path, a file that is neither a zip nor a report, a damaged zip, a report
    of another kind or version; a member or symlink that leaves the package's
    root is an UnsafePathError (exit 6), as everywhere.
    """
    source = source_of(path)
    if source is Source.REPORT:
        return report_contents(path, pick_build(path, report_builds(path), build))
    if source is Source.ZIP:
        return read_zip(path, layer=layer)
    try:
        return _from_folder(path, layer, checksums)
    except OSError as error:
        raise UsageError(
            f"cannot read {error.filename or path}: {error.strerror or error}", hint="check the folder's permissions"
        ) from None


def read_zip(path: Path, *, layer: bool | None = None, python: str | None = None) -> Contents:
    """A zip's contents; ``python`` (``3.12``) reads only that Python's ``site-packages`` of a layer."""
    with open_zip(path, limit=NO_LIMIT) as reader:
        members = {member.name: member for member in reader.members if member.kind is not Kind.DIRECTORY}
        files = {
            name: FileInfo(member.size, member.crc, bool(member.mode & 0o111), member.compressed_size)
            for name, member in members.items()
        }

        def read(name: str) -> str | None:
            member = members.get(name)
            return None if member is None or member.kind is not Kind.FILE else _member_text(reader, member)

        return _contents(path, Source.ZIP, files, read, path.stat().st_size, layer, python)


def _member_text(reader: ZipReader, member: Member) -> str:
    if member.size > METADATA_LIMIT:
        raise UsageError(
            f"{reader.path} is damaged: {member.name} declares {member.size:,} bytes", hint="build the zip again"
        )
    return b"".join(reader.stream(member, budget=[METADATA_LIMIT])).decode("utf-8", errors="replace")


def _from_folder(root: Path, layer: bool | None, checksums: bool) -> Contents:
    sources = _folder_sources(root)
    files = {}
    for name, (source, mode) in sources.items():
        crc, size = _checksum(source) if checksums else (None, source.stat().st_size)
        files[name] = FileInfo(size, crc, bool(mode & 0o111))

    def read(name: str) -> str | None:
        source = sources.get(name, (None, 0))[0]
        if source is None:
            return None
        if source.stat().st_size > METADATA_LIMIT:
            raise UsageError(
                f"{root} is damaged: {name} holds more than {METADATA_LIMIT:,} bytes", hint="build it again"
            )
        return source.read_text("utf-8", errors="replace")

    return _contents(root, Source.FOLDER, files, read, None, layer, None)


def _folder_sources(root: Path) -> dict[str, tuple[Path, int]]:
    """Each file of a folder by its name in a zip of it, with the file it is read from and its mode."""
    entries = collect_entries(root, exclude=(MARKER,))
    return {entry.name: (entry.source, entry.mode) for entry in entries if entry.source is not None}


def _checksum(path: Path) -> tuple[int, int]:
    """CRC-32 and size of a file, read in chunks."""
    crc = 0
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return crc, size


def _contents(
    path: Path,
    source: Source,
    files: Mapping[str, FileInfo],
    read: Reader,
    zipped_size: int | None,
    layer: bool | None,
    python: str | None,
) -> Contents:
    names = sorted(files)
    if layer is None:
        layer = looks_like_layer(names)
    sites = _layer_sites(names) if layer else ("",)
    readable = {site for site in sites if python is None or site in (LAYER.prefix, _site_packages(python))}
    found: list[Installed] = []
    for name in names:
        match = _METADATA.match(name)
        text = read(name) if match is not None and match[1] in readable else None
        if match is not None and text is not None:
            found.append(_installed(path, match[1], match[2], metadata_from_text(text), names, read))
    found.sort(key=lambda dist: sites.index(dist.site))
    return Contents(path, source, files, _first_per_key(found), zipped_size, layer, sites)


def _site_packages(python: str) -> str:
    return LAYER.site_packages(python) + "/"


def distributions_at_root(names: Iterable[str]) -> bool:
    """A function's layout: a ``.dist-info`` folder at the root."""
    return any(name.split("/", 1)[0].endswith(".dist-info") for name in names)


def looks_like_layer(names: Sequence[str]) -> bool:
    """A layer's layout: nothing of a distribution at the root, and one under ``python/`` or every file there."""
    if not names or distributions_at_root(names):
        return False
    under_python = (match is not None and match[1] for match in map(_METADATA.match, names))
    return any(under_python) or all(name.startswith(LAYER.prefix) for name in names)


def _layer_sites(names: Iterable[str]) -> tuple[str, ...]:
    """A layer's sites holding any of ``names``, in Lambda's order: each ``site-packages``, then ``python/``."""
    site_packages: set[str] = set()
    python = False
    for name in names:
        if name.startswith(LAYER.prefix):
            python = True
            match = _SITE_PACKAGES.match(name)
            if match is not None:
                site_packages.add(match[0])
    return (*sorted(site_packages), *([LAYER.prefix] if python else []))


def _installed(
    origin: Path, site: str, folder: str, metadata: PackageMetadata, names: Sequence[str], read: Reader
) -> Installed:
    """A distribution: RECORD's rows and its ``.dist-info`` files, or, without RECORD, the files its top level names."""
    name = first(metadata, "Name") or folder.split("-")[0]
    dist_info = f"{site}{folder}/"
    record = read(f"{dist_info}RECORD")
    if record is not None:
        listed = {f"{site}{row}" for row in parse_record(record, f"{origin}:{dist_info}RECORD").paths}
    else:
        top_level = read(f"{dist_info}top_level.txt")
        listed = _guessed(names, site, top_level.split() if top_level is not None else [_module(name)])
    listed.update(_under(names, dist_info))
    version = first(metadata, "Version") or "?"
    return Installed(name, version, tuple(sorted(listed)), metadata, site, folder, record is not None)


def _module(name: str) -> str:
    return re.sub(r"[-.]", "_", name.lower())


def _guessed(names: Sequence[str], site: str, tops: Iterable[str]) -> set[str]:
    """The files under top-level names (``pkg/…``, ``pkg.py``, ``pkg.libs/…``), not another distribution's metadata."""
    found = set()
    for top in tops:
        for end in "/.":
            for name in _under(names, f"{site}{top}{end}"):
                if not name[len(site) :].split("/", 1)[0].endswith((".dist-info", ".data")):
                    found.add(name)
    return found


def _under(names: Sequence[str], prefix: str) -> Iterator[str]:
    """The names (sorted) that start with ``prefix``."""
    for index in range(bisect.bisect_left(names, prefix), len(names)):
        if not names[index].startswith(prefix):
            return
        yield names[index]


def _first_per_key(found: Iterable[Installed]) -> tuple[Installed, ...]:
    kept: dict[str, Installed] = {}
    for dist in found:
        kept.setdefault(dist.key, dist)
    return tuple(sorted(kept.values(), key=lambda dist: dist.key))


# --- a JSON report ------------------------------------------------------------------------------


def report_builds(path: Path) -> list[Json]:
    """The builds of a pip-lambda JSON report, of the version read here; a UsageError (exit 2) otherwise."""
    try:
        document = json.loads(path.read_bytes())
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}", hint=_GIVE) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise UsageError(
            f"{path} is not a pip-lambda JSON report: it is not valid JSON ({error})", hint=_GIVE
        ) from None
    if not isinstance(document, dict) or "report_version" not in document or "builds" not in document:
        raise UsageError(
            f"{path} is not a pip-lambda report (no report_version and builds)",
            hint="give a report written by 'pip-lambda install --report FILE', a zip or a folder",
        )
    if document["report_version"] != REPORT_VERSION:
        raise UsageError(
            f"{path} is not a pip-lambda JSON report this version reads: it is of version "
            f"{document['report_version']!r}, this pip-lambda reads version {REPORT_VERSION}",
            hint="write the report again with this pip-lambda",
        )
    try:
        return items(document["builds"])
    except Malformed as why:
        raise UsageError(f"{path} is not a valid pip-lambda report: {why}", hint="write the report again") from None


def pick_build(path: Path, builds: list[Json], wanted: str | None) -> Json:
    """The build named ``wanted``, or the only one."""
    try:
        names = [optional_text(field(entry, "name")) for entry in builds]
    except Malformed as why:
        raise UsageError(f"{path} is not a valid pip-lambda report: {why}", hint="write the report again") from None
    if wanted is not None:
        if wanted not in names:
            shown = ", ".join(str(name) for name in names) or "none"
            raise UsageError(f"{path} has no build named {wanted!r} (it has: {shown})", hint="pick one with --name")
        return builds[names.index(wanted)]
    if len(builds) != 1:
        shown = ", ".join(str(name) for name in names)
        raise UsageError(f"{path} holds {len(builds)} builds ({shown})", hint="pick one with --name NAME")
    return builds[0]


def report_contents(path: Path, build: Json) -> Contents:
    """One build of a report, from its ``members`` and ``distributions``."""
    if not isinstance(build, dict) or "members" not in build:
        raise UsageError(
            f"{path} has no file checksums (no 'members': written by an older pip-lambda)",
            hint="write the report again with this pip-lambda, or compare the zips",
        )
    try:
        layer = text(field(build, "kind")) == "layer"
        prefix = layout_of(layer).prefix
        files = {f"{prefix}{text(field(row, 'path'))}": _member(row) for row in items(build["members"])}
        distributions = [
            Installed(
                text(field(row, "name")),
                text(field(row, "version")),
                tuple(f"{prefix}{name}" for name in texts(field(row, "files"))),
                site=prefix,
            )
            for row in items(field(build, "distributions"))
        ]
        zipped = field(field(build, "outputs"), "zip")
        size = None if zipped is None else count(field(zipped, "size"))
    except Malformed as why:
        raise UsageError(f"{path} is not a valid pip-lambda report: {why}", hint="write the report again") from None
    return Contents(path, Source.REPORT, files, _first_per_key(distributions), size, layer, (prefix,))


def _member(row: Json) -> FileInfo:
    crc = text(field(row, "crc32"))
    if len(crc) != 8 or crc.strip("0123456789abcdef"):
        raise Malformed(f"{crc!r} is not a CRC-32")
    compressed = field(row, "compressed_size")
    return FileInfo(
        count(field(row, "size")),
        int(crc, 16),
        flag(field(row, "executable")),
        None if compressed is None else count(compressed),
    )


def build_members(zipped: ZipResult | None, target_dir: Path, layer: bool) -> list[dict[str, Json]]:
    """A build's ``members`` for its report: as its zip writer wrote them, or read from its target folder without one."""
    listing: list[tuple[str, int, int, bool, int | None]]
    if zipped is None:
        listing = [
            (name, *_checksum(source), bool(mode & 0o111), None)
            for name, (source, mode) in _folder_sources(target_dir).items()
        ]
    else:
        listing = [(item.name, item.crc, item.size, item.executable, item.compressed) for item in zipped.members]
    prefix = layout_of(layer).prefix
    return [
        {
            "path": name[len(prefix) :],
            "size": size,
            "crc32": f"{crc:08x}",
            "compressed_size": compressed,
            "executable": executable,
        }
        for name, crc, size, executable, compressed in sorted(listing)
        if name.startswith(prefix)
    ]
