"""What a package holds, read alike from a zip, a folder or a JSON report: its files and its distributions.

A zip is read from its central directory (names, sizes, CRC-32s, compressed
sizes, modes), never its contents, except each ``.dist-info``'s METADATA and
RECORD, streamed and bounded, to know which distribution owns which file.  A
folder is read as a zip of it would be (archive/writer.collect_entries: the
same names, symlinks resolved), each file's CRC-32 computed from its bytes.
A report (``--report``) carries the same listing in each build's ``members``.

Names are those of the zip, from its root (``python/…`` in a layer).
Distributions are found where Lambda looks: at the root, in ``python/`` and in
``python/lib/python3.X/site-packages/``.
"""

from __future__ import annotations

import enum
import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import Distribution, PackageMetadata
from pathlib import Path
from typing import Any

from pip_lambda.archive.reader import Kind, Member, ZipReader, open_zip
from pip_lambda.archive.writer import ZipResult, collect_entries
from pip_lambda.cache.jsondata import Json, Malformed, count, field, flag, items, optional_text, text, texts
from pip_lambda.errors import PipLambdaError, UsageError
from pip_lambda.tree.distributions import find_distributions, read_metadata
from pip_lambda.tree.records import parse_record
from pip_lambda.tree.staging import MARKER

NO_DISTRIBUTION = "-"
"""The owner of a file no RECORD lists."""
REPORT_VERSION = 1
"""The report version read here (report/document.py writes it)."""
METADATA_LIMIT = 32 << 20
"""The largest METADATA or RECORD member read from a zip; a larger one is taken as damaged."""
NO_LIMIT = 1 << 62
"""Nothing is unpacked, so the zip's declared size is not bounded (only the members read are)."""
_SITE = r"(?:python/(?:lib/python3\.[0-9]+/site-packages/)?)?"
_METADATA = re.compile(rf"^({_SITE})([^/]+\.dist-info)/METADATA$")
_CHUNK = 1 << 20


class Source(enum.Enum):
    ZIP = "zip"
    FOLDER = "folder"
    REPORT = "report"


@dataclass(frozen=True)
class FileInfo:
    """One file as a zip holds it."""

    size: int
    crc32: int
    executable: bool
    compressed_size: int | None = None
    """None for a folder's file (not zipped yet)."""


@dataclass(frozen=True)
class Installed:
    """A distribution found in the package."""

    name: str
    version: str
    files: tuple[str, ...]
    """Names from the package root: its RECORD's rows, or its ``.dist-info`` folder's files without one."""
    metadata: PackageMetadata | None = None
    """Its METADATA (None when read from a report)."""

    @property
    def key(self) -> str:
        from packaging.utils import canonicalize_name

        return canonicalize_name(self.name)


@dataclass(frozen=True)
class Contents:
    path: Path
    source: Source
    files: Mapping[str, FileInfo]
    distributions: tuple[Installed, ...]
    """Sorted by key; one per key (the first site wins, as on sys.path)."""
    zipped_size: int | None
    """The zip's bytes; None for a folder, or a report of a build without a zip."""

    @property
    def unzipped_size(self) -> int:
        return sum(info.size for info in self.files.values())

    def owners(self) -> dict[str, str]:
        """Each file's owning distribution (its key): the first, by key, whose RECORD lists it."""
        owners: dict[str, str] = {}
        for dist in self.distributions:
            for name in dist.files:
                if name in self.files:
                    owners.setdefault(name, dist.key)
        return owners


def read_contents(path: Path, build: str | None = None) -> Contents:
    """The contents of a zip, a folder or a JSON report (``build`` names one of a report's builds).

    Bad input is a UsageError (exit 2): a missing path, a file that is neither
    a zip nor a report, a damaged zip, a report of another kind or version.
    """
    try:
        if path.is_dir():
            return _from_folder(path)
        with path.open("rb") as stream:
            start = stream.read(64).lstrip()
    except OSError as error:
        raise UsageError(
            f"cannot read {path}: {error.strerror or error}", hint="give a zip, a folder or a JSON report"
        ) from None
    if start.startswith(b"{"):
        return _from_report(path, build)
    if not start.startswith(b"PK"):
        raise UsageError(f"{path} is not a zip, a folder or a JSON report", hint="give a zip, a folder or a report")
    return _from_zip(path)


def _from_zip(path: Path, *, distributions: bool = True) -> Contents:
    try:
        with open_zip(path, limit=NO_LIMIT) as reader:
            files = {
                member.name: FileInfo(member.size, member.crc, bool(member.mode & 0o111), member.compressed_size)
                for member in reader.members
                if member.kind is not Kind.DIRECTORY
            }
            found = _zip_distributions(reader, files) if distributions else []
    except UsageError:
        raise
    except PipLambdaError as error:  # a name outside the root: nothing is unpacked, but the zip is still bad input
        raise UsageError(error.message, hint=error.hint) from None
    return Contents(path, Source.ZIP, files, _first_per_key(found), path.stat().st_size)


def _zip_distributions(reader: ZipReader, files: Mapping[str, FileInfo]) -> list[Installed]:
    by_name = {member.name: member for member in reader.members if member.kind is Kind.FILE}
    found: list[Installed] = []
    for name in sorted(by_name):
        match = _METADATA.match(name)
        if match is None:
            continue
        site, folder = match.groups()
        metadata = _TextMetadata(_member_text(reader, by_name[name])).metadata
        record = by_name.get(f"{site}{folder}/RECORD")
        if record is not None:
            rows = parse_record(_member_text(reader, record), f"{reader.path}:{record.name}").paths
            listed = tuple(f"{site}{row}" for row in rows)
        else:
            listed = tuple(file for file in files if file.startswith(f"{site}{folder}/"))
        found.append(_installed(metadata, folder, listed))
    return found


def _member_text(reader: ZipReader, member: Member) -> str:
    if member.size > METADATA_LIMIT:
        raise UsageError(
            f"{reader.path} is damaged: {member.name} declares {member.size:,} bytes", hint="build the zip again"
        )
    return b"".join(reader.stream(member, budget=[METADATA_LIMIT])).decode("utf-8", errors="replace")


class _TextMetadata(Distribution):
    """A distribution whose METADATA is text already read (from a zip): importlib.metadata parses it."""

    def __init__(self, metadata: str) -> None:
        self._text = metadata

    def read_text(self, filename: str) -> str | None:
        return self._text if filename == "METADATA" else None

    def locate_file(self, path: Any) -> Any:
        raise NotImplementedError("a distribution read from a zip has no files on disk")


def _installed(metadata: PackageMetadata | None, folder: str, files: tuple[str, ...]) -> Installed:
    return Installed(
        first(metadata, "Name") or folder.split("-")[0], first(metadata, "Version") or "?", files, metadata
    )


def first(metadata: PackageMetadata | None, name: str) -> str | None:
    """The first value of a METADATA field, or None."""
    values = None if metadata is None else metadata.get_all(name)
    return str(values[0]) if values else None


def _first_per_key(found: Iterable[Installed]) -> tuple[Installed, ...]:
    kept: dict[str, Installed] = {}
    for dist in found:
        kept.setdefault(dist.key, dist)
    return tuple(sorted(kept.values(), key=lambda dist: dist.key))


def site_prefixes(root: Path) -> list[str]:
    """The folders of ``root`` where distributions are looked for, as name prefixes, in sys.path order."""
    sites = [""]
    if (root / "python").is_dir():
        found = sorted((root / "python" / "lib").glob("python3.*/site-packages"))
        sites += [f"{site.relative_to(root).as_posix()}/" for site in found] + ["python/"]
    return sites


def _from_folder(root: Path, *, distributions: bool = True) -> Contents:
    try:
        entries = collect_entries(root, exclude=(MARKER,))
        files = {entry.name: _file_info(entry.source, entry.mode) for entry in entries if entry.source is not None}
        found: list[Installed] = []
        for site in site_prefixes(root) if distributions else []:
            for dist in find_distributions(root / site):
                listed = tuple(f"{site}{name}" for name in dist.files)
                found.append(Installed(dist.name, dist.version, listed, read_metadata(root / site / dist.dist_info)))
    except OSError as error:
        raise UsageError(
            f"cannot read {error.filename or root}: {error.strerror or error}", hint="check the folder's permissions"
        ) from None
    except UsageError:
        raise
    except PipLambdaError as error:  # a symlink out of the folder: it could not be zipped, so it cannot be compared
        raise UsageError(error.message, hint=error.hint) from None
    return Contents(root, Source.FOLDER, files, _first_per_key(found), None)


def _file_info(path: Path, mode: int) -> FileInfo:
    crc = 0
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return FileInfo(size, crc, bool(mode & 0o111))


def _from_report(path: Path, build: str | None) -> Contents:
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise UsageError(f"{path} is not valid JSON: {error}", hint="give a zip, a folder or a JSON report") from None
    if not isinstance(document, dict) or "report_version" not in document or "builds" not in document:
        raise UsageError(
            f"{path} is not a pip-lambda report (no report_version and builds)",
            hint="give a report written by 'pip-lambda install --report FILE', a zip or a folder",
        )
    if document["report_version"] != REPORT_VERSION:
        raise UsageError(
            f"{path} is a pip-lambda report of version {document['report_version']!r}; "
            f"this pip-lambda reads version {REPORT_VERSION}",
            hint="write the report again with this pip-lambda",
        )
    try:
        return _report_contents(path, _pick_build(path, items(document["builds"]), build))
    except Malformed as why:
        raise UsageError(f"{path} is not a valid pip-lambda report: {why}", hint="write the report again") from None


def _pick_build(path: Path, builds: list[Json], wanted: str | None) -> Json:
    names = [optional_text(field(entry, "name")) for entry in builds]
    if wanted is not None:
        if wanted not in names:
            shown = ", ".join(str(name) for name in names) or "none"
            raise UsageError(f"{path} has no build named {wanted!r} (it has: {shown})", hint="pick one with --name")
        return builds[names.index(wanted)]
    if len(builds) != 1:
        shown = ", ".join(str(name) for name in names)
        raise UsageError(f"{path} holds {len(builds)} builds ({shown})", hint="pick one with --name NAME")
    return builds[0]


def _report_contents(path: Path, build: Json) -> Contents:
    if not isinstance(build, dict) or "members" not in build:
        raise UsageError(
            f"{path} has no file checksums (no 'members': written by an older pip-lambda)",
            hint="write the report again with this pip-lambda, or compare the zips",
        )
    prefix = "python/" if text(field(build, "kind")) == "layer" else ""
    files = {f"{prefix}{text(field(row, 'path'))}": _member(row) for row in items(build["members"])}
    distributions = [
        Installed(
            text(field(row, "name")),
            text(field(row, "version")),
            tuple(f"{prefix}{name}" for name in texts(field(row, "files"))),
        )
        for row in items(field(build, "distributions"))
    ]
    zipped = field(field(build, "outputs"), "zip")
    size = None if zipped is None else count(field(zipped, "size"))
    return Contents(path, Source.REPORT, files, _first_per_key(distributions), size)


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


def members_json(contents: Contents, prefix: str = "") -> list[dict[str, Json]]:
    """The ``members`` of a report's build: every file, named from ``prefix`` (``python/`` for a layer)."""
    return [
        {
            "path": name[len(prefix) :],
            "size": info.size,
            "crc32": f"{info.crc32:08x}",
            "compressed_size": info.compressed_size,
            "executable": info.executable,
        }
        for name, info in sorted(contents.files.items())
        if name.startswith(prefix)
    ]


def build_members(zipped: ZipResult | None, target_dir: Path, layer: bool) -> list[dict[str, Json]]:
    """A build's ``members`` for its report: as its zip writer wrote them, or read from its target folder without one."""
    if zipped is None:
        contents = _from_folder(target_dir, distributions=False)
    else:
        files = {
            member.name: FileInfo(member.size, member.crc, member.executable, member.compressed)
            for member in zipped.members
        }
        contents = Contents(zipped.path, Source.ZIP, files, (), zipped.size)
    return members_json(contents, "python/" if layer else "")
