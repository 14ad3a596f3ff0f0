"""Unpack a wheel the way ``pip install --target`` lays it out, with ``installer``, the reference unpacker.

pip installs a ``--target`` build into a scratch "home" scheme (purelib and
platlib ``lib/python``, scripts ``bin``, data the home itself, headers under
``include/``) and then moves the top-level items of purelib, then of the data
folder, into the target: an item already there is skipped (pip warns), and a
data item whose path begins the library folder's (``lib``) is never moved.
:func:`unpack` does exactly that for one wheel, with ``installer`` writing the
files and pip's RECORD (rows relative to ``lib/python``, sorted as pip sorts
them), so that after the clean step (tree/clean.py) the tree is the one pip
gives.  C headers are left out, as the clean step would remove them; their
RECORD rows stay for the clean step to drop, as it does for pip's tree.

Every file written is reported with its sha256, size, exec bit and the wheel
member it is byte for byte (none for RECORD, INSTALLER, console scripts and
scripts whose ``#!python`` line was rewritten).  Member paths are confined by
``installer``, which refuses to write outside a scheme's folder.
"""

from __future__ import annotations

import base64
import csv
import os
import shutil
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.records import InvalidRecordEntry, RecordEntry
from installer.sources import WheelFile
from installer.utils import Scheme

if TYPE_CHECKING:
    from installer.scripts import ScriptSection

from pip_lambda.tree.records import entry_for, write_record

LIBRARY = "lib/python"
"""pip's purelib and platlib under the scratch home of a ``--target`` install."""
_METADATA = {"INSTALLER": b"pip\n"}


class UnpackError(Exception):
    """The wheel cannot be unpacked (not a zip, a broken .dist-info, a member outside its scheme...)."""


@dataclass(frozen=True)
class UnpackedFile:
    """One file of an unpacked wheel."""

    sha256: str
    size: int
    executable: bool
    member: str | None
    """The name of the wheel member whose bytes it is unchanged, or None when the unpacker wrote it."""


class _Destination(SchemeDictionaryDestination):
    """installer's destination, noting where each member went and writing RECORD as pip writes it."""

    def __init__(self, schemes: dict[str, str], record_text: str) -> None:
        super().__init__(schemes, interpreter=sys.executable, script_kind="posix")
        self.record_text = record_text
        """The wheel's own RECORD."""
        self.written: dict[Path, tuple[RecordEntry, str | None]] = {}
        """Absolute, normalised path → (its row, the member it is byte for byte)."""
        self.installed: dict[str, str] = {}
        """Member name → its RECORD path (relative to the library folder), as pip maps them."""
        self.changed: set[str] = set()
        self.generated: list[str] = []

    def _record_path(self, scheme: Scheme, path: str) -> str:
        absolute = _normal(Path(self.scheme_dict[scheme], path))
        return Path(os.path.relpath(absolute, self.scheme_dict["purelib"])).as_posix()

    def write_to_fs(self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool) -> RecordEntry:
        folder = _normal(Path(self.scheme_dict[scheme]))
        if not _normal(folder / path).is_relative_to(folder):  # installer checks it too, since 0.7
            raise UnpackError(f"{path!r} would be written outside the {scheme} folder")
        entry = super().write_to_fs(scheme, path, stream, is_executable)
        member = stream.name if isinstance(stream, zipfile.ZipExtFile) else None
        self.written[_normal(Path(self.scheme_dict[scheme], path))] = (entry, member)
        return entry

    def write_file(
        self, scheme: Scheme, path: str | os.PathLike[str], stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        where = self._record_path(scheme, os.fspath(path))
        if isinstance(stream, zipfile.ZipExtFile):
            self.installed[stream.name] = where
            if scheme == "scripts" and stream.read(8) == b"#!python":  # installer rewrites that line, as pip does
                self.changed.add(where)
        else:
            self.generated.append(where)  # INSTALLER
        return super().write_file(scheme, path, stream, is_executable)

    def write_script(self, name: str, module: str, attr: str, section: ScriptSection) -> RecordEntry:
        entry = super().write_script(name, module, attr, section)
        self.generated.append(self._record_path(Scheme("scripts"), entry.path))
        return entry

    def finalize_installation(
        self, scheme: Scheme, record_file_path: str, records: Iterable[tuple[Scheme, RecordEntry]]
    ) -> None:
        """Write RECORD as pip does (``get_csv_rows_for_installed``): the wheel's own rows, their paths mapped and
        their hashes kept unless the file changed, then rows for generated files and for files the wheel's RECORD
        left out (without a hash), sorted.  A row no RECORD reader accepts is dropped, as the clean step drops it."""
        computed = {self._record_path(where, entry.path): entry for where, entry in records}
        installed = dict(self.installed)
        rows: list[tuple[str, str, str]] = []
        for row in csv.reader(self.record_text.splitlines()):
            if not row:
                continue
            path = installed.pop(row[0], row[0])
            if path in self.changed:
                rows.append(_computed(path, computed))
            else:
                rows.append((path, row[1] if len(row) > 1 else "", row[2] if len(row) > 2 else ""))
        rows += [_computed(path, computed) for path in self.generated]
        rows += [(path, "", "") for path in installed.values()]
        record = Path(self.scheme_dict[scheme], record_file_path)
        write_record(record.parent, [entry for row in sorted(rows) if (entry := _entry(row)) is not None])
        self.written[_normal(record)] = (entry_for(record.parent, record.name), None)


def _computed(path: str, computed: dict[str, RecordEntry]) -> tuple[str, str, str]:
    entry = computed[path]
    return path, str(entry.hash_ or ""), str(entry.size if entry.size is not None else "")


def _entry(row: tuple[str, str, str]) -> RecordEntry | None:
    try:
        return RecordEntry.from_elements(*row)
    except InvalidRecordEntry:
        return None


def unpack(wheel: Path, destination: Path, python_version: str) -> dict[str, UnpackedFile]:
    """Unpack ``wheel`` into the empty folder ``destination`` as ``pip install --target`` would; its files by path.

    ``python_version`` (``3.12``) names the headers folder, as pip's scheme does.
    UnpackError when the wheel cannot be installed.
    """
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".unpack-", dir=destination.parent) as scratch:
        home = Path(scratch).resolve()
        written = _install(wheel, home, python_version)
        moved = _move_like_pip(home, destination)
    files: dict[str, UnpackedFile] = {}
    for absolute, (entry, member) in written.items():
        relative = _landed(absolute.relative_to(home).as_posix(), moved)
        if relative is None:
            continue
        info = (destination / relative).stat()
        files[relative] = UnpackedFile(_hex(entry), info.st_size, bool(info.st_mode & 0o111), member)
    return files


def _install(wheel: Path, home: Path, python_version: str) -> dict[Path, tuple[RecordEntry, str | None]]:
    name = wheel.name.split("-", 1)[0]
    headers = home / "include" / "site" / f"python{python_version}" / name
    schemes = {
        "purelib": str(home / LIBRARY),
        "platlib": str(home / LIBRARY),
        "scripts": str(home / "bin"),
        "data": str(home),
        "headers": str(headers),
    }
    try:
        with WheelFile.open(wheel) as source, warnings.catch_warnings():
            # installer leaves out a wheel's __pycache__ files, with a warning; pip installs them and the clean
            # step removes them (host bytecode): the same tree, and their RECORD rows dropped the same way.
            warnings.filterwarnings("ignore", "Skip installing .*__pycache__", RuntimeWarning)
            destination = _Destination(schemes, source.read_dist_info("RECORD"))
            install(source, destination, _METADATA)
    except (InstallerError, ValueError, OSError, KeyError, zipfile.BadZipFile) as error:
        raise UnpackError(f"{wheel.name}: {error}") from None
    if headers.is_dir():  # nothing on Lambda compiles against them; the clean step drops their RECORD rows
        shutil.rmtree(headers)
        for folder in headers.parents:
            if folder == home or any(folder.iterdir()):
                break
            folder.rmdir()
    return {path: row for path, row in destination.written.items() if not path.is_relative_to(headers)}


def _move_like_pip(home: Path, destination: Path) -> dict[str, str]:
    """Move the top-level items as pip's ``--target`` does; each moved item's path under ``home`` → its name."""
    library, data = home / LIBRARY, home
    folders = [folder for folder in (library, data) if folder.exists()]
    moved: dict[str, str] = {}
    for folder in folders:
        for path in sorted(folder.iterdir()):
            # pip's test, on strings: a data item whose path begins a library folder's path is that folder.
            if folder == data and any(str(other).startswith(str(path)) for other in folders[:-1]):
                continue
            landing = destination / path.name
            if landing.exists() or landing.is_symlink():
                continue
            shutil.move(path, landing)
            moved[path.relative_to(home).as_posix()] = path.name
    return moved


def _landed(relative: str, moved: dict[str, str]) -> str | None:
    """Where a file at ``relative`` under the home landed in the target, or None when pip would have left it."""
    for source, item in moved.items():
        if relative == source or relative.startswith(source + "/"):
            return item + relative[len(source) :]
    return None


def _normal(path: Path) -> Path:
    """``path`` with ``..`` parts resolved as text, as installer places files (no symlink is followed)."""
    return Path(os.path.normpath(path))


def _hex(entry: RecordEntry) -> str:
    assert entry.hash_ is not None and entry.hash_.name == "sha256"
    value = entry.hash_.value
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).hex()
