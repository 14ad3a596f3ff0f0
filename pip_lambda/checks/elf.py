"""Recognise binaries by their first bytes and read what the loader needs from ELF files (pyelftools)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.construct.core import ConstructError
from elftools.elf.dynamic import DynamicSection, DynamicTag
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection
from elftools.elf.sections import SymbolTableSection


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
    versions: tuple[str, ...]
    """Symbol versions required from other libraries (``GLIBC_2.17``, ``GLIBCXX_3.4.19``…)."""
    python_init: bool
    """Defines a ``PyInit_*`` symbol, so it is a Python extension module."""


def _text(tag: DynamicTag, attribute: str) -> str:
    # pyelftools resolves string-valued tags into attributes it names after the tag (DT_NEEDED → needed).
    return str(vars(tag)[attribute])


def read_elf(path: Path) -> ElfInfo:
    """Read ``path`` as ELF; raise CorruptElf when it is not readable as such."""
    try:
        with path.open("rb") as stream:
            elf = ELFFile(stream)
            machine = _MACHINES.get(elf["e_machine"], str(elf["e_machine"]).removeprefix("EM_"))
            needed: list[str] = []
            search: list[str] = []
            versions: list[str] = []
            python_init = False
            for section in elf.iter_sections():
                if isinstance(section, DynamicSection):
                    for tag in section.iter_tags():
                        if tag.entry.d_tag == "DT_NEEDED":
                            needed.append(_text(tag, "needed"))
                        elif tag.entry.d_tag in ("DT_RPATH", "DT_RUNPATH"):
                            search.extend(_text(tag, tag.entry.d_tag[3:].lower()).split(":"))
                elif isinstance(section, GNUVerNeedSection):
                    for _library, auxiliaries in section.iter_versions():
                        versions.extend(aux.name for aux in auxiliaries)
                elif isinstance(section, SymbolTableSection) and section.name == ".dynsym":
                    python_init = python_init or any(
                        symbol.name.startswith("PyInit_") and symbol["st_shndx"] != "SHN_UNDEF"
                        for symbol in section.iter_symbols()
                    )
            return ElfInfo(machine, elf.elfclass, tuple(needed), tuple(search), tuple(versions), python_init)
    except (ELFError, ConstructError, ValueError, KeyError, AssertionError, OSError, EOFError) as error:
        raise CorruptElf(str(error) or type(error).__name__) from None
