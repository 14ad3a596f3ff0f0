"""Reading a zip built by anyone, defensively: checked before anything is written, bounded while it is.

:class:`ZipReader` checks the central directory when it opens the zip: no
member is encrypted or compressed with a method this reader cannot undo, every
name stays inside the zip's root (``tree.paths.confined``), no name is given
twice or is both a file and a folder, and the declared sizes add up to no
more than Lambda's unzipped limit.  It then streams members in bounded
chunks, counting the bytes that really come out, so a header that lies about
a size stops at the limit instead of filling the disk.  Symlinks are listed
but never written.

Errors are one line each: a file that is not a zip, a damaged, encrypted or
unsupported one is a UsageError (exit 2); a name that leaves the root an
UnsafePathError (exit 6); too many bytes a SizeLimitError (exit 5).

:func:`raw_members` says where each member's compressed bytes lie, so that the
zip writer can copy them into another zip without compressing them again.
"""

from __future__ import annotations

import enum
import logging
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from pip_lambda.errors import EnvironmentProblem, SizeLimitError, UnsafePathError, UsageError
from pip_lambda.plan.limits import UNZIPPED_LIMIT
from pip_lambda.tree.paths import confined

log = logging.getLogger(__name__)

CHUNK = 1 << 20
"""Bytes read from a member at a time."""
SUPPORTED_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}
_OTHER_METHODS = {9: "deflate64", 93: "zstd", 95: "xz", 96: "jpeg", 97: "wavpack", 98: "ppmd", 99: "AES-encrypted"}
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_LOCAL_SIGNATURE = 0x04034B50
_DESCRIPTOR_SIGNATURE = b"PK\x07\x08"
_ZIP64 = 0xFFFFFFFF
_NO_LIMIT = 1 << 62
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, struct.error, NotImplementedError, RuntimeError)


class Kind(enum.Enum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"


@dataclass(frozen=True)
class Member:
    """One entry of the central directory, its name normalised and confined."""

    name: str
    """Relative, ``/``-separated, without a trailing ``/``."""
    kind: Kind
    size: int
    """Uncompressed bytes, as the central directory declares them."""
    compressed_size: int
    crc: int
    mode: int
    """Permission bits from the Unix attributes (0 when the zip has none)."""
    index: int
    """Position in the central directory."""


@dataclass(frozen=True)
class RawMember:
    """Where one member's compressed bytes lie in its zip, as its local header and the central directory agree."""

    name: str
    """The member's name in the zip."""
    method: int
    """0 stored, 8 deflated."""
    crc: int
    compressed_size: int
    size: int
    """Uncompressed bytes."""
    offset: int
    """Of the compressed bytes, from the start of the file."""


_TEMPORARY_FOLDER_HINT = "free space in the temporary folder (TMPDIR) or point TMPDIR elsewhere"


class ZipReader:
    """An open zip whose central directory passed the checks; use as a context manager."""

    def __init__(self, path: Path, *, limit: int = UNZIPPED_LIMIT) -> None:
        self.path = path
        self.limit = limit
        self._zip = _open(path)
        try:
            self._infos = self._zip.infolist()
            self.members = _check_members(path, self._infos)
        except BaseException:
            self._zip.close()
            raise
        self.declared_size = sum(member.size for member in self.members if member.kind is Kind.FILE)
        if self.declared_size > limit:
            self._zip.close()
            raise _too_large(path, f"declares {self.declared_size:,} bytes unzipped", limit)

    def __enter__(self) -> ZipReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def stream(self, member: Member, *, budget: list[int] | None = None) -> Iterator[bytes]:
        """The member's bytes in chunks of at most CHUNK; a damaged member is a UsageError.

        No more than the declared size comes out, and ``budget`` (one number,
        the bytes still allowed for the whole zip) is decremented as it does.
        """
        allowed = budget if budget is not None else [self.limit]
        produced = 0
        try:
            with self._zip.open(self._infos[member.index]) as source:
                while chunk := source.read(CHUNK):
                    produced += len(chunk)
                    allowed[0] -= len(chunk)
                    if produced > member.size:
                        raise _damaged(self.path, f"{member.name} holds more bytes than its header says")
                    if allowed[0] < 0:
                        raise _too_large(self.path, "unzips to more bytes than its headers say", self.limit)
                    yield chunk
        except _READ_ERRORS as error:
            raise _damaged(self.path, f"{member.name}: {error}") from None
        if produced != member.size:
            raise _damaged(self.path, f"{member.name} holds {produced:,} bytes, its header says {member.size:,}")

    def extract(self, destination: Path, *, hint: str = _TEMPORARY_FOLDER_HINT) -> int:
        """Write every file and folder under ``destination`` (an empty folder); symlinks are left out. The bytes written.

        A disk that refuses a write is an EnvironmentProblem with ``hint`` (by default about TMPDIR, where
        verification unpacks).
        """
        budget = [self.limit]
        for member in self.members:
            target = destination.joinpath(*member.name.split("/"))
            try:
                if member.kind is Kind.DIRECTORY:
                    target.mkdir(parents=True, exist_ok=True)
                elif member.kind is Kind.FILE:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with target.open("xb") as output:
                        for chunk in self.stream(member, budget=budget):
                            output.write(chunk)
                    target.chmod(0o755 if member.mode & 0o111 else 0o644)
            except OSError as error:
                raise EnvironmentProblem(
                    f"cannot unpack {self.path} into {destination}: {error.strerror or error}",
                    hint=hint,
                ) from None
        links = [member.name for member in self.members if member.kind is Kind.SYMLINK]
        if links:
            log.info("%s: %d symlinks not unpacked (%s)", self.path, len(links), ", ".join(links[:5]))
        return self.limit - budget[0]


def open_zip(path: Path, *, limit: int = UNZIPPED_LIMIT) -> ZipReader:
    """Open ``path`` as a zip and check its central directory (see the module's documentation)."""
    return ZipReader(path, limit=limit)


def raw_members(path: Path) -> dict[str, RawMember]:
    """The files of the zip at ``path`` whose compressed bytes can be copied as they are, by name.

    The zip is opened as :func:`open_zip` does (without the size limit: a wheel
    may be larger than one function).  A member is left out, and is then
    compressed again by whoever copies, when its local header disagrees with
    the central directory (name, method, flags, crc, sizes, data descriptor),
    when it is encrypted, ZIP64, compressed other than stored or deflated, or
    when its bytes reach into the next member or the central directory.
    """
    with ZipReader(path, limit=_NO_LIMIT) as reader, path.open("rb") as handle:
        spans: list[tuple[int, int, RawMember]] = []
        for member in reader.members:
            info = reader._infos[member.index]
            located = _located(handle, info) if member.kind is Kind.FILE else None
            if located is not None:
                spans.append((info.header_offset, located[1], located[0]))
        found: dict[str, RawMember] = {}
        reach = reader._zip.start_dir
        # From the central directory backwards: a member whose bytes reach past the next one's start is left out.
        for start, end, raw in sorted(spans, key=lambda span: span[0], reverse=True):
            if end <= reach:
                found[raw.name] = raw
            reach = min(reach, start)
    return found


def _located(handle: BinaryIO, info: zipfile.ZipInfo) -> tuple[RawMember, int] | None:
    """The member of ``info`` and the end of its bytes (data descriptor included), if its local header agrees."""
    if (
        info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
        or info.flag_bits & 0x1
        or max(info.compress_size, info.file_size, info.header_offset) >= _ZIP64
    ):
        return None
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL.size)
    if len(header) != _LOCAL.size:
        return None
    signature, _, flags, method, _, _, crc, compressed, size, name_length, extra_length = _LOCAL.unpack(header)
    name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
    if signature != _LOCAL_SIGNATURE or flags != info.flag_bits or method != info.compress_type:
        return None
    if handle.read(name_length) != name:
        return None
    offset = info.header_offset + _LOCAL.size + name_length + extra_length
    end = offset + info.compress_size
    declared = (info.CRC, info.compress_size, info.file_size)
    if flags & 0x8:
        # Sizes and crc follow the bytes, in a descriptor with or without its signature.
        handle.seek(end)
        descriptor = handle.read(16)
        signed = descriptor[:4] == _DESCRIPTOR_SIGNATURE
        values = struct.unpack("<III", descriptor[4:16] if signed else descriptor[:12]) if len(descriptor) == 16 else ()
        if values != declared:
            return None
        end += 16 if signed else 12
    elif (crc, compressed, size) != declared:
        return None
    return RawMember(info.filename, method, info.CRC, info.compress_size, info.file_size, offset), end


def _open(path: Path) -> zipfile.ZipFile:
    try:
        if not zipfile.is_zipfile(path):
            with path.open("rb") as stream:
                if stream.read(4) == b"PK\x03\x04":
                    raise _damaged(path, "it starts like a zip but has no central directory at its end (cut short?)")
            raise UsageError(f"{path} is not a zip file", hint="give a zip file or a folder")
        return zipfile.ZipFile(path)
    except OSError as error:
        raise UsageError(
            f"cannot read {path}: {error.strerror or error}", hint="check the path and its permissions"
        ) from None
    except _READ_ERRORS as error:
        raise _damaged(path, str(error)) from None


def _check_members(path: Path, infos: list[zipfile.ZipInfo]) -> tuple[Member, ...]:
    members: list[Member] = []
    files: set[str] = set()
    seen: set[str] = set()
    for index, info in enumerate(infos):
        if info.flag_bits & 0x1:
            raise UsageError(
                f"{path} is encrypted ({info.filename})",
                hint="Lambda cannot read an encrypted zip; zip it again without a password",
            )
        if info.compress_type not in SUPPORTED_METHODS:
            method = _OTHER_METHODS.get(info.compress_type, "unknown")
            raise UsageError(
                f"{path} uses compression method {info.compress_type} ({method}) for {info.filename}, which pip-lambda cannot read",
                hint="zip it again with deflate (zip -r, or Python's zipfile with ZIP_DEFLATED)",
            )
        name = confined(info.filename.rstrip("/"))
        if name is None:
            raise UnsafePathError(
                f"{path} has a member named {info.filename!r}, outside the zip's root",
                hint="rebuild the zip with relative member names",
            )
        if name in seen:
            raise UsageError(f"{path} names {name} twice", hint="which one Lambda unpacks is unclear; rebuild the zip")
        seen.add(name)
        mode = info.external_attr >> 16
        kind = Kind.SYMLINK if stat.S_ISLNK(mode) else Kind.DIRECTORY if info.is_dir() else Kind.FILE
        if kind is Kind.FILE:
            files.add(name)
        members.append(Member(name, kind, info.file_size, info.compress_size, info.CRC, stat.S_IMODE(mode), index))
    for member in members:
        parents = member.name.split("/")[:-1]
        clash = next(
            (folder for folder in ("/".join(parents[: n + 1]) for n in range(len(parents))) if folder in files), None
        )
        if clash is not None:
            raise UsageError(f"{path} has {member.name} inside {clash}, which is a file", hint="rebuild the zip")
    return tuple(members)


def _damaged(path: Path, why: str) -> UsageError:
    return UsageError(f"{path} is damaged: {why}", hint="download or build the zip again")


def _too_large(path: Path, what: str, limit: int) -> SizeLimitError:
    return SizeLimitError(
        f"{path} {what}, above Lambda's limit of {limit:,} bytes (function and layers together); nothing more was unpacked",
        hint="Lambda would refuse it too: move large dependencies to a layer or a container image",
    )
