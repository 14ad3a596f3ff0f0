"""A content-addressed store of wheels, kept as files and unpacked, shared by every build and project.

``wheels/<sha256 of the wheel>/`` holds the wheel file itself (``wheel.whl``),
its tree as ``pip install --target`` lays it out (``tree/``, unpacked by
tree/unpack.py) and a checksummed manifest: the distribution's name, version,
file name, Requires-Python and Requires-Dist, and for every file its sha256,
size, exec bit, modification time and the wheel member it is byte for byte
(where that member's compressed bytes lie in ``wheel.whl``, for the zip
writer).  Store files are read-only.

A build lays its tree out by hard links to the store's files (a copy where the
file system cannot link), so nothing is copied.  An edit made through a link
in a target reaches the store's file, so before an entry is used every file is
compared with the manifest by one ``stat`` (size, modification time, mode), and
a file that differs is hashed again: the entry is then used only if its bytes
are still the recorded ones, and removed (to be fetched again) otherwise.
Everything a build changes in its tree (RECORD rewritten, strip, bytecode)
replaces the file, never writes through the link.  The entries a failed build
added are removed again (:func:`discard`).
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pip_lambda.archive.reader import RawMember, raw_members
from pip_lambda.cache import jsondata
from pip_lambda.cache.jsondata import Json, Malformed, count, field, flag, items, mapping, sha256_hex, text, texts
from pip_lambda.cache.storage import MANIFEST, WHEEL, file_sha256, new_folder, publish, remove_item, touch
from pip_lambda.errors import PipLambdaError
from pip_lambda.plan.selection import Wheel
from pip_lambda.tree.paths import confined
from pip_lambda.tree.unpack import UnpackedFile, UnpackError, unpack

log = logging.getLogger(__name__)

LAYOUT = 2
"""Of an entry (wheel file, tree, manifest); entries of another layout are replaced."""
WHEEL_FILE, TREE = "wheel.whl", "tree"
_LINKS = os.name != "nt"  # Windows cannot delete a read-only file: copies there


class StoreMiss(Exception):
    """The store cannot lay this build's tree out; install with pip instead."""


@dataclass(frozen=True)
class Member:
    """One file of a stored tree, as the manifest records it."""

    sha256: str
    size: int
    executable: bool
    mtime_ns: int
    raw: RawMember | None
    """The wheel member it is byte for byte, where its compressed bytes lie in ``wheel.whl``."""

    @property
    def mode(self) -> int:
        return 0o555 if self.executable else 0o444


@dataclass(frozen=True)
class StoredWheel:
    """One entry of the store: a wheel, its metadata and its unpacked files."""

    folder: Path
    sha256: str
    name: str
    """Canonical name, from the wheel's METADATA."""
    version: str
    filename: str
    requires_python: str | None
    requires: tuple[str, ...]
    files: Mapping[str, Member]
    wheel_file: Member
    """``wheel.whl`` itself."""

    def wheel(self, url: str = "", direct: bool = False) -> Wheel:
        return Wheel(self.name, self.version, self.filename, url, self.sha256, direct)


@dataclass(frozen=True)
class StoredFile:
    """A file of an assembled tree that came from the store, and the wheel member it is."""

    path: str
    """Relative to the site folder it was laid out in."""
    sha256: str
    size: int
    member: RawMember | None
    wheel: Path
    """The store's ``wheel.whl`` that holds ``member``."""
    identity: tuple[int, int]
    """Device and inode of the file as laid out: the store's own (a hard link) or its copy's."""

    def unchanged(self, site: Path) -> bool:
        """Whether the file at ``site/path`` is still the one laid out (build steps replace files, never edit them)."""
        try:
            info = (site / self.path).lstat()
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == self.identity


def entry_folder(root: Path, sha256: str) -> Path:
    return root / "wheels" / sha256


def read_entry(root: Path, sha256: str) -> StoredWheel | None:
    """The entry of wheel ``sha256`` as its manifest says; None when it is missing, damaged or of another layout."""
    folder = entry_folder(root, sha256)
    body = jsondata.read(folder / MANIFEST, WHEEL)
    try:
        if field(body, "layout") != LAYOUT or field(body, "sha256") != sha256:
            return None
        required = field(body, "requires_python")
        return StoredWheel(
            folder,
            sha256,
            text(field(body, "name")),
            text(field(body, "version")),
            text(field(body, "filename")),
            None if required is None else text(required),
            texts(field(body, "requires")),
            {_file_name(name): _member(row) for name, row in mapping(field(body, "files")).items()},
            _member(field(body, "wheel_file")),
        )
    except Malformed:
        return None


def _file_name(name: str) -> str:
    if confined(name) != name:
        raise Malformed(f"{name!r} is not a plain relative path")
    return name


def _member(row: Json) -> Member:
    values = items(row)
    if len(values) != 5:
        raise Malformed(f"{row!r} is not a manifest row")
    raw = None if values[4] is None else _raw(values[4])
    return Member(sha256_hex(values[0]), count(values[1]), flag(values[2]), count(values[3]), raw)


def _raw(value: Json) -> RawMember:
    values = items(value)
    if len(values) != 6:
        raise Malformed(f"{value!r} is not a wheel member")
    return RawMember(text(values[0]), *(count(number) for number in values[1:]))


def _member_json(member: Member) -> Json:
    raw = member.raw
    member_row: Json = (
        None if raw is None else [raw.name, raw.method, raw.crc, raw.compressed_size, raw.size, raw.offset]
    )
    return [member.sha256, member.size, member.executable, member.mtime_ns, member_row]


def checked(root: Path, sha256: str) -> StoredWheel | None:
    """The entry of wheel ``sha256`` when its files are still what its manifest says; a damaged one is removed.

    One ``stat`` per file; a file whose size, modification time or mode
    differ is hashed again, and its mode put back when its bytes are intact.
    """
    entry = read_entry(root, sha256)
    folder = entry_folder(root, sha256)
    if (
        entry is not None
        and all(_intact(folder / TREE / name, member) for name, member in entry.files.items())
        and _intact(folder / WHEEL_FILE, entry.wheel_file)
    ):
        touch(folder / MANIFEST)
        return entry
    if folder.exists():
        log.warning("the stored files of the wheel %s are damaged or outdated; fetching it again", sha256[:12])
        remove_item(folder)
    return None


def _intact(path: Path, member: Member) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode) or info.st_size != member.size:
        return False
    if info.st_mtime_ns == member.mtime_ns and stat.S_IMODE(info.st_mode) == member.mode:
        return True
    try:
        if file_sha256(path) != member.sha256:
            return False
        path.chmod(member.mode)
    except OSError:
        return False
    return True


def add(root: Path, wheel_file: Path, python_version: str, added: list[str]) -> StoredWheel:
    """Put a downloaded wheel file into the store (moved there), unpacked; StoreMiss when it cannot be unpacked.

    ``added`` gets its sha256 when this build published the entry.
    """
    sha256 = file_sha256(wheel_file)
    existing = checked(root, sha256)
    if existing is not None:
        return existing
    folder = new_folder(root / "wheels")
    try:
        files = unpack(wheel_file, folder / TREE, python_version)  # installer reads tags from the file's name
        shutil.move(wheel_file, folder / WHEEL_FILE)
        body = _manifest(folder, sha256, wheel_file.name, files)
    except UnpackError as why:
        remove_item(folder)
        raise StoreMiss(str(why)) from None
    except BaseException:
        remove_item(folder)
        raise
    jsondata.write(folder / MANIFEST, WHEEL, body)
    if publish(folder, entry_folder(root, sha256)):
        added.append(sha256)
    entry = read_entry(root, sha256)
    if entry is None:
        raise StoreMiss(f"the entry of {wheel_file.name} vanished from the store")
    return entry


def _manifest(folder: Path, sha256: str, filename: str, files: Mapping[str, UnpackedFile]) -> dict[str, Json]:
    """The manifest of a freshly unpacked entry; its files are made read-only first."""
    from packaging.utils import canonicalize_name, parse_wheel_filename

    try:
        raws = raw_members(folder / WHEEL_FILE)
    except PipLambdaError:  # a zip installer could read but the reader finds odd: every member is compressed again
        raws = {}
    rows: dict[str, Json] = {}
    for path, found in files.items():
        raw = raws.get(found.member) if found.member is not None else None
        raw = raw if raw is not None and raw.size == found.size else None
        rows[path] = _member_json(_settled(folder / TREE / path, found.sha256, found.executable, raw))
    wheel_file = _settled(folder / WHEEL_FILE, sha256, False, None)
    name, version, requires_python, requires = _metadata(folder / TREE, files)
    if name is None or version is None:  # no METADATA to read: the file name says
        parsed_name, parsed_version, _, _ = parse_wheel_filename(filename)
        name, version = str(parsed_name), str(parsed_version)
    return {
        "layout": LAYOUT,
        "sha256": sha256,
        "name": canonicalize_name(name),
        "version": version,
        "filename": filename,
        "requires_python": requires_python,
        "requires": list(requires),
        "files": rows,
        "wheel_file": _member_json(wheel_file),
        "bytes": sum(found.size for found in files.values()) + wheel_file.size,
    }


def _settled(path: Path, sha256: str, executable: bool, raw: RawMember | None) -> Member:
    """Make a store file read-only and describe it as it now is."""
    member = Member(sha256, 0, executable, 0, raw)
    path.chmod(member.mode)
    info = path.stat()
    return Member(sha256, info.st_size, executable, info.st_mtime_ns, raw)


def _metadata(tree: Path, files: Iterable[str]) -> tuple[str | None, str | None, str | None, tuple[str, ...]]:
    """Name, version, Requires-Python and Requires-Dist from the one ``.dist-info`` of a tree."""
    from pip_lambda.tree.distributions import read_metadata

    dist_infos = {name.split("/", 1)[0] for name in files if name.split("/", 1)[0].endswith(".dist-info")}
    metadata = read_metadata(tree / dist_infos.pop()) if len(dist_infos) == 1 else None
    if metadata is None:
        return None, None, None, ()

    def first(name: str) -> str | None:
        values = metadata.get_all(name) if metadata is not None else None
        return str(values[0]) if values else None

    return first("Name"), first("Version"), first("Requires-Python"), tuple(metadata.get_all("Requires-Dist") or ())


def assemble(entries: Sequence[StoredWheel], site: Path) -> dict[str, StoredFile]:
    """Lay the entries' trees out in ``site`` by hard links (copies where linking fails); each file's origin.

    StoreMiss when two distributions provide the same file (pip's order decides
    which one wins there, so pip installs it).
    """
    laid: dict[str, StoredFile] = {}
    for entry in entries:
        tree, wheel = entry.folder / TREE, entry.folder / WHEEL_FILE
        for folder in sorted({name.rpartition("/")[0] for name in entry.files} - {""}):
            (site / folder).mkdir(parents=True, exist_ok=True)
        for name, member in entry.files.items():
            if name in laid:
                raise StoreMiss(f"{name} is provided by two distributions")
            identity = _lay(tree / name, site / name, member)
            laid[name] = StoredFile(name, member.sha256, member.size, member.raw, wheel, identity)
    return laid


def _lay(source: Path, landing: Path, member: Member) -> tuple[int, int]:
    if _LINKS:
        try:
            os.link(source, landing)
        except FileExistsError:
            raise StoreMiss(f"{landing.name} is provided by two distributions") from None
        except OSError:  # another file system, a file system without links, too many links
            pass
        else:
            info = landing.lstat()
            return info.st_dev, info.st_ino
    with open(source, "rb") as reader, open(landing, "xb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
    if _LINKS:
        landing.chmod(member.mode)
    elif member.executable:
        landing.chmod(0o755)
    info = landing.lstat()
    return info.st_dev, info.st_ino


def is_empty(root: Path) -> bool:
    folder = root / "wheels"
    return not folder.is_dir() or not any(not item.name.startswith(".tmp-") for item in folder.iterdir())


def discard(root: Path | None, added: Sequence[str]) -> None:
    """Remove the entries a failed build added: a build that fails leaves nothing behind in the store."""
    if root is None:
        return
    for sha256 in added:
        remove_item(entry_folder(root, sha256))
