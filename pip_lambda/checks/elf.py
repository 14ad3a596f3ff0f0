"""Recognise binaries by their first bytes and read what the loader needs from ELF files.

pyelftools reads the file header.  The section headers, the dynamic section,
the version needs (``.gnu.version_r``) and the dynamic symbols are walked here
with ``struct``, because pyelftools trusts the counts a file states: a 1.3 KB
file whose ``.gnu.version_r`` claims 4·10⁹ entries kept it busy for hours.
Here every count is capped by the bytes that hold it, every offset is checked
against its section and every string against a length and a total budget, so
a hostile file costs time in proportion to its size and ends in CorruptElf.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from elftools.common.exceptions import ELFError
from elftools.construct.core import ConstructError
from elftools.elf.elffile import ELFFile


class BinaryKind(enum.Enum):
    """What the first bytes of a file say it is."""

    ELF = "ELF"
    MACH_O = "Mach-O"
    PE = "PE"
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


_MACH_O_MAGIC = (
    b"\xfe\xed\xfa\xce",
    b"\xce\xfa\xed\xfe",
    b"\xfe\xed\xfa\xcf",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # universal ("fat") binary; Java class files share it, callers look at the name
    b"\xca\xfe\xba\xbf",
)
# ELF e_machine names (as pyelftools spells them) for the machines Lambda runs, by platform.machine() name.
_MACHINES = {"EM_X86_64": "x86_64", "EM_AARCH64": "aarch64", "EM_386": "i386 (32-bit x86)", "EM_ARM": "arm (32-bit)"}

SHT_NOBITS, SHT_DYNAMIC, SHT_DYNSYM, SHT_STRTAB, SHT_GNU_VERNEED = 8, 6, 11, 3, 0x6FFFFFFE
SHF_COMPRESSED = 0x800
DT_NULL, DT_NEEDED, DT_RPATH, DT_RUNPATH = 0, 1, 15, 29
SHN_UNDEF = 0
MAX_NAME = 4096
"""The longest library name, run path or version name read (PATH_MAX); longer means a damaged string table."""
MAX_NAMES = 1 << 20
"""Bytes of names one file may make the reader collect; real files need a few kilobytes."""
_VERNEED_SIZE = 16  # Elf_Verneed and Elf_Vernaux are 16 bytes in both classes


def kind_of(path: Path) -> BinaryKind:
    with path.open("rb") as stream:
        head = stream.read(4)
    if head == b"\x7fELF":
        return BinaryKind.ELF
    if head in _MACH_O_MAGIC:
        return BinaryKind.MACH_O
    if head[:2] == b"MZ":
        return BinaryKind.PE
    return BinaryKind.OTHER


class CorruptElf(Exception):
    """The file starts like ELF but cannot be read as ELF."""


@dataclass(frozen=True)
class ElfInfo:
    """What the dynamic loader and the import system look at in one ELF file."""

    machine: str
    """``x86_64``, ``aarch64``, or another machine's name."""
    bits: int
    needed: tuple[str, ...]
    """DT_NEEDED: the libraries the loader must find."""
    search_paths: tuple[str, ...]
    """DT_RPATH and DT_RUNPATH entries, ``$ORIGIN`` unexpanded."""
    version_needs: tuple[tuple[str, str], ...]
    """(library, version) required from other libraries: (``libc.so.6``, ``GLIBC_2.17``)…"""
    python_init: bool
    """Defines a ``PyInit_*`` symbol, so it is a Python extension module."""

    @property
    def versions(self) -> tuple[str, ...]:
        """The version names alone (``GLIBC_2.17``, ``GLIBCXX_3.4.19``…)."""
        return tuple(version for _, version in self.version_needs)


@dataclass(frozen=True)
class _Layout:
    """How this file packs its structures: the byte order and the formats of its class."""

    order: str
    section: struct.Struct
    dynamic: struct.Struct
    symbol: struct.Struct
    name_and_index: tuple[int, int]
    """Positions of st_name and st_shndx in an unpacked symbol."""

    @classmethod
    def of(cls, bits: int, little: bool) -> _Layout:
        order = "<" if little else ">"
        if bits == 64:
            return cls(
                order,
                struct.Struct(order + "IIQQQQIIQQ"),
                struct.Struct(order + "qQ"),
                struct.Struct(order + "IBBHQQ"),
                (0, 3),
            )
        return cls(
            order,
            struct.Struct(order + "IIIIIIIIII"),
            struct.Struct(order + "iI"),
            struct.Struct(order + "IIIBBH"),
            (0, 5),
        )


@dataclass(frozen=True)
class _Section:
    kind: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    entry_size: int


class _Names:
    """Strings read from string tables, each bounded in length and all together by a budget."""

    def __init__(self) -> None:
        self.spent = 0

    def read(self, table: bytes, offset: int, what: str) -> str:
        if offset >= len(table):
            raise CorruptElf(f"{what} points outside its string table")
        end = table.find(b"\0", offset, offset + MAX_NAME + 1)
        if end < 0:
            raise CorruptElf(f"{what} is not a string of at most {MAX_NAME} bytes")
        self.spent += end - offset
        if self.spent > MAX_NAMES:
            raise CorruptElf(f"it names more than {MAX_NAMES} bytes of libraries and versions")
        return table[offset:end].decode("utf-8", errors="replace")


ElfReader = Callable[[Path], ElfInfo]
"""What reads an ElfInfo from a file: :func:`read_elf`, or one that knows it already (cache/elfinfo.py)."""


def read_elf(path: Path) -> ElfInfo:
    """Read ``path`` as ELF; raise CorruptElf when it is not readable as such, in time bounded by its size."""
    try:
        with path.open("rb") as stream:
            return _read(stream)
    except (ELFError, ConstructError, struct.error, ValueError, KeyError, AssertionError, OSError, EOFError) as error:
        raise CorruptElf(str(error) or type(error).__name__) from None


def _read(stream: BinaryIO) -> ElfInfo:
    elf = ELFFile(stream)
    machine = _MACHINES.get(elf["e_machine"], str(elf["e_machine"]).removeprefix("EM_"))
    layout = _Layout.of(elf.elfclass, elf.little_endian)
    table = _SectionTable.read(stream, elf.stream_len, layout, elf["e_shoff"], elf["e_shnum"], elf["e_shentsize"])
    wanted = table.loader_sections()
    names = _Names()
    needed: list[str] = []
    search: list[str] = []
    needs: list[tuple[str, str]] = []
    python_init = False
    if SHT_DYNAMIC in wanted:
        section = wanted[SHT_DYNAMIC]
        strings = table.linked_strings(stream, section)
        for tag, value in _dynamic_entries(_data(stream, section), layout):
            if tag == DT_NEEDED:
                needed.append(names.read(strings, value, "a DT_NEEDED entry"))
            elif tag in (DT_RPATH, DT_RUNPATH):
                search.extend(names.read(strings, value, "a run path").split(":"))
    if SHT_GNU_VERNEED in wanted:
        section = wanted[SHT_GNU_VERNEED]
        strings = table.linked_strings(stream, section)
        needs = _version_needs(_data(stream, section), section, layout, strings, names)
    if SHT_DYNSYM in wanted:
        section = wanted[SHT_DYNSYM]
        strings = table.linked_strings(stream, section)
        python_init = _defines_python_init(_data(stream, section), section, layout, strings)
    return ElfInfo(machine, elf.elfclass, tuple(needed), tuple(search), tuple(needs), python_init)


@dataclass(frozen=True)
class _SectionTable:
    """The section header table, kept as its bytes: sections are unpacked when asked for."""

    data: bytes
    count: int
    entry_size: int
    layout: _Layout

    @classmethod
    def read(
        cls, stream: BinaryIO, size: int, layout: _Layout, offset: int, count: int, entry_size: int
    ) -> _SectionTable:
        """The table, its count and every section's bytes checked against the file's size."""
        if offset == 0:
            return cls(b"", 0, layout.section.size, layout)
        if entry_size < layout.section.size:
            raise CorruptElf(f"section headers of {entry_size} bytes, smaller than the {layout.section.size} they hold")
        if count == 0:  # 0xff00 sections or more: the real count is section 0's sh_size
            count = cls(_read_exactly(stream, offset, layout.section.size), 1, entry_size, layout).at(0).size
        if count > (size - min(offset, size)) // entry_size:
            raise CorruptElf(
                f"{count} section headers of {entry_size} bytes at offset {offset} do not fit in {size} bytes"
            )
        table = cls(_read_exactly(stream, offset, count * entry_size), count, entry_size, layout)
        for index in range(1, count):
            section = table.at(index)
            if section.kind != SHT_NOBITS and section.offset + section.size > size:
                raise CorruptElf(
                    f"section {index} ({section.size} bytes at offset {section.offset}) ends past the file's {size} bytes"
                )
        return table

    def at(self, index: int) -> _Section:
        _name, kind, flags, _address, offset, size, link, info, _align, entry_size = self.layout.section.unpack_from(
            self.data, index * self.entry_size
        )
        return _Section(kind, flags, offset, size, link, info, entry_size)

    def loader_sections(self) -> dict[int, _Section]:
        """The dynamic section, the version needs and the dynamic symbols; a file has one of each at most."""
        found: dict[int, _Section] = {}
        for index in range(1, self.count):
            section = self.at(index)
            if section.kind in (SHT_DYNAMIC, SHT_GNU_VERNEED, SHT_DYNSYM):
                if section.kind in found:
                    raise CorruptElf(f"two sections of type {section.kind:#x}, where the loader reads one")
                found[section.kind] = section
        return found

    def linked_strings(self, stream: BinaryIO, section: _Section) -> bytes:
        """The string table ``section`` links to (its sh_link)."""
        if not 0 < section.link < self.count or self.at(section.link).kind != SHT_STRTAB:
            raise CorruptElf(f"a section the loader reads links to section {section.link}, which is not a string table")
        return _data(stream, self.at(section.link))


def _read_exactly(stream: BinaryIO, offset: int, size: int) -> bytes:
    stream.seek(offset)
    data = stream.read(size)
    if len(data) != size:
        raise CorruptElf(f"{size} bytes at offset {offset} are past the end of the file")
    return data


def _data(stream: BinaryIO, section: _Section) -> bytes:
    if section.flags & SHF_COMPRESSED:
        raise CorruptElf("a compressed dynamic section, which the loader cannot read")
    return _read_exactly(stream, section.offset, section.size)


def _dynamic_entries(data: bytes, layout: _Layout) -> Iterator[tuple[int, int]]:
    """(d_tag, d_val) up to DT_NULL; at most as many as the section's bytes hold."""
    usable = len(data) - len(data) % layout.dynamic.size
    for tag, value in layout.dynamic.iter_unpack(data[:usable]):
        if tag == DT_NULL:
            return
        yield tag, value
    raise CorruptElf("the dynamic section does not end with DT_NULL")


def _version_needs(
    data: bytes, section: _Section, layout: _Layout, strings: bytes, names: _Names
) -> list[tuple[str, str]]:
    """(library, version) pairs of ``.gnu.version_r``, following the chains as the loader does.

    The loader follows vn_next and vna_next until they are 0 (the offsets are
    unsigned, so a chain only moves forward); the records visited, libraries
    and versions together, can be no more than the section's 16-byte slots.
    """
    slots = len(data) // _VERNEED_SIZE
    if section.info > slots:
        raise CorruptElf(f".gnu.version_r claims {section.info} entries; its {len(data)} bytes hold at most {slots}")
    verneed, vernaux = struct.Struct(layout.order + "HHIII"), struct.Struct(layout.order + "IHHII")
    found: list[tuple[str, str]] = []
    visited, position = 0, 0
    for _ in range(section.info):
        visited = _visit(visited, slots)
        _version, _count, file, aux, following = verneed.unpack_from(data, _slot(position, data))
        library = names.read(strings, file, "a needed library of .gnu.version_r")
        place = position + aux
        while True:
            visited = _visit(visited, slots)
            _hash, _flags, _other, name, after = vernaux.unpack_from(data, _slot(place, data))
            found.append((library, names.read(strings, name, "a version of .gnu.version_r")))
            if after == 0:
                break
            place += after
        if following == 0:
            break
        position += following
    return found


def _visit(visited: int, slots: int) -> int:
    if visited >= slots:
        raise CorruptElf(".gnu.version_r chains through more records than its bytes hold")
    return visited + 1


def _slot(position: int, data: bytes) -> int:
    if position + _VERNEED_SIZE > len(data):
        raise CorruptElf(f".gnu.version_r points to offset {position}, outside its {len(data)} bytes")
    return position


def _defines_python_init(data: bytes, section: _Section, layout: _Layout, strings: bytes) -> bool:
    """Whether a defined dynamic symbol is named ``PyInit_*``; names are looked up only when one could be."""
    if section.entry_size != layout.symbol.size:
        raise CorruptElf(f"dynamic symbols of {section.entry_size} bytes, not {layout.symbol.size}")
    candidates: set[int] = set()
    start = strings.find(b"PyInit_")
    while start >= 0:
        if start == 0 or strings[start - 1] == 0:
            candidates.add(start)
        start = strings.find(b"PyInit_", start + 1)
    if not candidates:
        return False
    usable = len(data) - len(data) % layout.symbol.size
    name_at, index_at = layout.name_and_index
    return any(
        symbol[name_at] in candidates and symbol[index_at] != SHN_UNDEF
        for symbol in layout.symbol.iter_unpack(data[:usable])
    )
