"""A deterministic zip writer that compresses on every core, and only what no wheel compressed already.

The same tree gives the same bytes on any machine: entries sorted by name
(NFC-normalised, forward slashes), one fixed timestamp, modes normalised to
0644/0755, no extra fields, and members written in order whatever the number
of workers.  zlib releases the GIL, so threads compress in parallel.

A file that is byte for byte a deflated member of a wheel (``Entry.raw``) is
not compressed again: the member's compressed bytes are copied from the wheel
under the writer's own header.  Those members are the same on every machine
whatever its zlib; only the members deflated here (files no wheel holds as
they are: rewritten RECORDs, ``--code``, bytecode, stripped binaries, rewritten
scripts, and every file of a build that had no wheel files) depend on it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import stat
import struct
import time
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pip_lambda.archive.packing import DEFLATED, STORED, default_workers, packed_in_order
from pip_lambda.archive.reader import RawMember
from pip_lambda.errors import SizeLimitError, UnsafePathError, UsageError

log = logging.getLogger(__name__)

DEFAULT_LEVEL = 5
"""Measured on the pandas + numpy tree (benchmarks/results.md): level 5 is within 1% of ``zip -r -q``'s size and
about 15% faster than level 6; levels 1-4 are 30-45% faster still but 4-15% larger, levels 7-9 slower for <1%."""
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip can hold
ZIP_END = 4354819198  # 2107-12-31T23:59:58Z, the latest
COMMENT = b"written by pip-lambda"
"""The archive comment of every zip pip-lambda writes: how it knows a zip it may replace (``-o``)."""

_UTF8_FLAG = 0x800
_LOCAL_HEADER = "<IHHHHHIIIHH"
_CENTRAL_HEADER = "<IHHHHHHIIIHHHHHII"
_END_RECORD = "<IHHHHIIH"
_MAX_ENTRIES = 0xFFFF
_MAX_32 = 0xFFFFFFFF
ZIP_MAGIC = b"PK\x03\x04"


def temporary_zip_prefix(output: Path) -> str:
    """The name start of the temporary file a zip is written to, beside ``output``."""
    return f".{output.name}.pip-lambda-"


def create_temporary_zip(output: Path) -> tuple[int, Path]:
    """A new, empty file beside ``output``, named so that the next build recognises it if this one dies."""
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f"{temporary_zip_prefix(output)}{os.getpid()}-{secrets.token_hex(4)}.tmp")
    # O_EXCL: never write through a file or link that someone else put at this name.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    return descriptor, temporary


def check_name(name: str) -> None:
    """Refuse a member name that could land outside the folder it is unzipped into, or that is not text."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafePathError(
            f"refusing to write the zip member {name!a}: its name is not valid UTF-8",
            hint="rename the file; a zip for Lambda holds UTF-8 names",
        ) from None
    parts = name.rstrip("/").split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or (len(parts[0]) > 1 and parts[0][1] == ":")
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise UnsafePathError(
            f"refusing to write the zip member {name!r}: it could land outside the package root",
            hint="members are relative paths without '..', drive letters or backslashes",
        )


@dataclass(frozen=True)
class RawSource:
    """A member of another zip (a wheel) that holds a file's bytes compressed already."""

    archive: Path
    member: RawMember


@dataclass(frozen=True)
class Entry:
    """One member: a file (``source`` set) or a folder (``source`` None, name ending in ``/``)."""

    name: str
    source: Path | None
    mode: int
    raw: RawSource | None = None
    """Where the file's deflated bytes are already: copied when the file still has the member's size and crc."""


@dataclass(frozen=True)
class ZipResult:
    path: Path
    sha256: str
    size: int
    entries: int
    members: tuple[Member, ...] = field(default=(), compare=False, repr=False)
    """Every file member as written, in the zip's order (folders are left out)."""


def carried_size(written: ZipResult, folder: str) -> int:
    """The bytes the members of ``written`` under ``folder`` (``python/`` of a layer: every member but the folder's
    own entry) would take inside another zip this writer writes, named without ``folder``: the same data and headers,
    less the zip's end record, the folder's entry, and the folder's name in each member's two headers."""
    prefix = len(folder.encode("utf-8"))
    headers = struct.calcsize(_LOCAL_HEADER) + struct.calcsize(_CENTRAL_HEADER)
    end = struct.calcsize(_END_RECORD) + len(COMMENT)
    return written.size - end - (headers + 2 * prefix) - 2 * prefix * (written.entries - 1)


@dataclass(frozen=True)
class Member:
    """One file in a written zip: what the size report and the JSON report say of it."""

    name: str
    size: int
    crc: int
    compressed: int
    """Bytes of its data in the zip."""
    executable: bool


def _normal_mode(st_mode: int, is_dir: bool) -> int:
    if is_dir:
        return stat.S_IFDIR | 0o755
    return stat.S_IFREG | (0o755 if st_mode & 0o111 else 0o644)


def collect_entries(root: Path, prefix: str = "", exclude: Iterable[str] = ()) -> list[Entry]:
    """Every file and folder under ``root``, dotfiles included, symlinks resolved inside the tree.

    ``exclude`` names top-level entries to leave out.  A symlink to a file or
    folder inside the tree is stored as its target's content under the link's
    name; one pointing outside the tree, nowhere, or to a folder that contains
    it (a loop) is refused, so no entry can escape the package root.
    """
    skipped = set(exclude)
    real_root = root.resolve()
    entries: list[Entry] = []

    def refuse(path: Path, resolved: Path, why: str) -> UnsafePathError:
        return UnsafePathError(
            f"refusing to zip the symlink {path}: it points to {resolved}, {why}",
            hint="replace the link with the file or folder it points to",
        )

    def visit(folder: Path, relative: str, chain: tuple[Path, ...]) -> None:
        with os.scandir(folder) as scan:
            children = sorted(scan, key=lambda item: item.name)
        for child in children:
            if not relative and child.name in skipped:
                continue
            name = unicodedata.normalize("NFC", f"{relative}{child.name}")
            path = Path(child.path)
            if child.is_symlink():
                resolved = path.resolve()
                if not resolved.is_relative_to(real_root):
                    raise refuse(path, resolved, "outside the package")
                if not resolved.exists():
                    raise refuse(path, resolved, "which does not exist")
                if resolved.is_dir():
                    if resolved in chain:
                        raise refuse(path, resolved, "a folder that contains the link (a loop)")
                    entries.append(Entry(f"{prefix}{name}/", None, _normal_mode(0, True)))
                    visit(resolved, f"{name}/", (*chain, resolved))
                else:
                    entries.append(Entry(prefix + name, resolved, _normal_mode(resolved.stat().st_mode, False)))
            elif child.is_dir():
                entries.append(Entry(f"{prefix}{name}/", None, _normal_mode(0, True)))
                visit(path, f"{name}/", (*chain, path.resolve()))
            elif child.is_file():
                entries.append(Entry(prefix + name, path, _normal_mode(child.stat().st_mode, False)))

    visit(root, "", (real_root,))
    for folder in _parents(prefix):
        entries.append(Entry(folder, None, _normal_mode(0, True)))
    return sorted(entries, key=lambda entry: entry.name)


def with_raw_sources(entries: Iterable[Entry], sources: Mapping[str, RawSource], prefix: str = "") -> list[Entry]:
    """``entries`` with the raw source of each file whose name, less ``prefix``, ``sources`` has."""
    found = {unicodedata.normalize("NFC", prefix + name): source for name, source in sources.items()}
    return [
        replace(entry, raw=found[entry.name]) if entry.source is not None and entry.name in found else entry
        for entry in entries
    ]


def _parents(prefix: str) -> list[str]:
    parts = [part for part in prefix.split("/") if part]
    return ["/".join(parts[: index + 1]) + "/" for index in range(len(parts))]


def zip_time(source_date_epoch: str | None = None) -> tuple[int, int]:
    """DOS date and time: 1980-01-01, or SOURCE_DATE_EPOCH (UTC) when set."""
    epoch = ZIP_EPOCH
    raw = os.environ.get("SOURCE_DATE_EPOCH") if source_date_epoch is None else source_date_epoch
    if raw:
        digits = raw.strip()
        hint = "set it to an integer such as $(git log -1 --format=%ct), or unset it"
        # isdigit() alone accepts '²' and other digits int() refuses.
        if not (digits.isascii() and digits.isdigit()):
            raise UsageError(f"SOURCE_DATE_EPOCH={raw!r} is not a whole number of seconds since 1970", hint=hint)
        if len(digits) > len(str(ZIP_END)) or int(digits) > ZIP_END:
            raise UsageError(f"SOURCE_DATE_EPOCH={raw!r} is after 2107-12-31, the last date a zip can hold", hint=hint)
        epoch = max(ZIP_EPOCH, int(digits))
    moment = time.gmtime(epoch)
    dos_date = ((moment.tm_year - 1980) << 9) | (moment.tm_mon << 5) | moment.tm_mday
    dos_time = (moment.tm_hour << 11) | (moment.tm_min << 5) | (moment.tm_sec // 2)
    return dos_date, dos_time


class _HashingFile:
    def __init__(self, handle: object) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()
        self.offset = 0

    def write(self, data: bytes) -> None:
        self._handle.write(data)  # type: ignore[attr-defined]
        self.digest.update(data)
        self.offset += len(data)


def holds(path: Path, size: int, sha256: str) -> bool:
    """Whether ``path`` has these bytes already: then it stays untouched, mtime included, so make sees no change."""
    try:
        if path.stat().st_size != size:
            return False
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return False
    return digest.hexdigest() == sha256


def written_by_pip_lambda(path: Path) -> bool:
    """Whether the zip at ``path`` is one pip-lambda wrote: its comment, or the exact shape versions before it had.

    Older versions wrote no comment, but every member had the same timestamp,
    made-by and needed versions 3.20/2.0, no extra field, no comment and a
    normalised mode; other tools' zips differ in at least one of these.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.comment:
                return archive.comment == COMMENT
            members = archive.infolist()
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False
    first = members[0].date_time if members else None
    modes = {_normal_mode(0, True), _normal_mode(0o644, False), _normal_mode(0o755, False)}
    return all(
        (info.create_system, info.create_version, info.extract_version) == (3, 20, 20)
        and not info.extra
        and not info.comment
        and info.flag_bits & ~_UTF8_FLAG == 0
        and info.date_time == first
        and info.compress_type in (STORED, DEFLATED)
        and info.external_attr >> 16 in modes
        for info in members
    )


def write_zip(
    entries: Sequence[Entry],
    output: Path,
    *,
    level: int = DEFAULT_LEVEL,
    workers: int | None = None,
    source_date_epoch: str | None = None,
) -> ZipResult:
    """Write ``entries`` to ``output`` on its own: a temporary file renamed into place unless ``output`` holds the same bytes.

    A build writes with write_temporary_zip instead and replaces the zip
    together with the target folder (tree/replace.py).
    """
    temporary, result = write_temporary_zip(
        entries, output, level=level, workers=workers, source_date_epoch=source_date_epoch
    )
    if holds(output, result.size, result.sha256):
        temporary.unlink()
    else:
        temporary.replace(output)
    return result


def write_temporary_zip(
    entries: Sequence[Entry],
    output: Path,
    *,
    level: int = DEFAULT_LEVEL,
    workers: int | None = None,
    source_date_epoch: str | None = None,
) -> tuple[Path, ZipResult]:
    """Write ``entries`` to a new temporary file beside ``output``, complete and flushed to disk; the caller moves it.

    The result describes the zip as it will be at ``output``.  A failed or
    interrupted write removes the temporary file.
    """
    if len(entries) > _MAX_ENTRIES:
        raise SizeLimitError(
            f"the package has {len(entries):,} files and folders, more than a zip without ZIP64 holds ({_MAX_ENTRIES:,})"
        )
    seen: set[str] = set()
    for entry in entries:
        check_name(entry.name)
        if entry.name in seen:
            raise UnsafePathError(
                f"two files would share the zip member name {entry.name!r}",
                hint="rename one of them (names that differ only in Unicode normalisation collide)",
            )
        seen.add(entry.name)
    dos_date, dos_time = zip_time(source_date_epoch)
    descriptor, temporary = create_temporary_zip(output)
    try:
        with open(descriptor, "wb") as handle:
            out = _HashingFile(handle)
            members = _write_members(out, entries, level, workers or default_workers(), dos_date, dos_time)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary, ZipResult(output, out.digest.hexdigest(), out.offset, len(entries), members)


def _write_members(
    out: _HashingFile, entries: Sequence[Entry], level: int, workers: int, dos_date: int, dos_time: int
) -> tuple[Member, ...]:
    """Write the members and the central directory; what each file member became."""
    central: list[bytes] = []
    members: list[Member] = []
    copied: list[int] = []  # the compressed sizes of the members copied from wheels
    for entry, packed in zip(entries, packed_in_order(entries, level, workers)):
        if entry.source is not None:
            members.append(Member(entry.name, packed.size, packed.crc, len(packed.data), bool(entry.mode & 0o111)))
        if packed.copied:
            copied.append(len(packed.data))
        name = entry.name.encode("utf-8")
        flags = 0 if entry.name.isascii() else _UTF8_FLAG
        if out.offset > _MAX_32 or len(packed.data) > _MAX_32:
            raise SizeLimitError("the package is larger than 4 GiB, far above Lambda's limits")
        fields = (20, flags, packed.method, dos_time, dos_date, packed.crc, len(packed.data), packed.size, len(name))
        attributes = entry.mode << 16 | (0x10 if entry.source is None else 0)
        central.append(
            struct.pack(_CENTRAL_HEADER, 0x02014B50, 0x0314, *fields, 0, 0, 0, 0, attributes, out.offset) + name
        )
        out.write(struct.pack(_LOCAL_HEADER, 0x04034B50, *fields, 0) + name)
        out.write(packed.data)
    directory_offset = out.offset
    directory = b"".join(central)
    out.write(directory)
    count = len(central)
    end = struct.pack(_END_RECORD, 0x06054B50, 0, 0, count, count, len(directory), directory_offset, len(COMMENT))
    out.write(end + COMMENT)
    log.debug("%d of %d files copied from wheels, %d of %d bytes", len(copied), len(members), sum(copied), out.offset)
    return tuple(members)
