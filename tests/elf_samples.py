"""Hand-built ELF shared objects for the reader's tests: valid ones, and ones with a header field set to a lie.

``build_elf`` lays out a 64-bit little-endian shared object with the sections
the loader reads (``.dynstr``, ``.dynsym``, ``.dynamic``, ``.gnu.version_r``)
and lets a test overwrite any section-header field or file-header field.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

EM_X86_64 = 62
SHT_PROGBITS, SHT_STRTAB, SHT_DYNAMIC, SHT_DYNSYM, SHT_GNU_VERNEED = 1, 3, 6, 11, 0x6FFFFFFE
DT_NEEDED, DT_RUNPATH = 1, 29
SECTION = struct.Struct("<IIQQQQIIQQ")
HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
HEADER_FIELDS = ("e_ident", "e_type", "e_machine", "e_version", "e_entry", "e_phoff", "e_shoff", "e_flags")
HEADER_FIELDS += ("e_ehsize", "e_phentsize", "e_phnum", "e_shentsize", "e_shnum", "e_shstrndx")
SECTION_FIELDS = ("name", "type", "flags", "address", "offset", "size", "link", "info", "align", "entsize")


class _Strings:
    def __init__(self) -> None:
        self.data = b"\0"

    def add(self, text: str) -> int:
        offset = len(self.data)
        self.data += text.encode() + b"\0"
        return offset


def _elf_hash(name: str) -> int:
    value = 0
    for byte in name.encode():
        value = (value << 4) + byte
        high = value & 0xF0000000
        if high:
            value ^= high >> 24
        value &= ~high
    return value & 0xFFFFFFFF


def _verneed(libraries: Sequence[tuple[str, Sequence[str]]], strings: _Strings) -> bytes:
    data = b""
    for index, (library, versions) in enumerate(libraries):
        last = index == len(libraries) - 1
        size = 16 * (1 + len(versions))
        data += struct.pack("<HHIII", 1, len(versions), strings.add(library), 16, 0 if last else size)
        for number, version in enumerate(versions):
            following = 0 if number == len(versions) - 1 else 16
            data += struct.pack("<IHHII", _elf_hash(version), 0, 2 + number, strings.add(version), following)
    return data


def build_elf(
    *,
    machine: int = EM_X86_64,
    libraries: Sequence[tuple[str, Sequence[str]]] = (("libc.so.6", ("GLIBC_2.2.5", "GLIBC_2.17")),),
    runpath: str | None = "$ORIGIN/../lib",
    python_init: bool = True,
    dynamic_null: bool = True,
    verneed: bytes | None = None,
    sections: Mapping[str, Mapping[str, int]] | None = None,
    header: Mapping[str, int] | None = None,
) -> bytes:
    """A shared object needing ``libraries`` (name, version names).

    ``verneed`` replaces the bytes of ``.gnu.version_r``; ``sections`` overwrites
    section-header fields by section name (``""`` is section 0), ``header`` file-header fields.
    """
    dynstr = _Strings()
    built = _verneed(libraries, dynstr)
    verneed = built if verneed is None else verneed
    dynamic = b"".join(struct.pack("<qQ", DT_NEEDED, dynstr.add(name)) for name, _ in libraries)
    if runpath is not None:
        dynamic += struct.pack("<qQ", DT_RUNPATH, dynstr.add(runpath))
    if dynamic_null:
        dynamic += struct.pack("<qQ", 0, 0)
    symbols = bytes(24)
    if python_init:
        symbols += struct.pack("<IBBHQQ", dynstr.add("PyInit_demo"), 0x12, 0, 5, 0x1000, 16)
    symbols += struct.pack("<IBBHQQ", dynstr.add("malloc"), 0x12, 0, 0, 0, 0)
    shstr = _Strings()
    bodies = [
        (".dynstr", SHT_STRTAB, dynstr.data, 0, 0, 0),
        (".dynsym", SHT_DYNSYM, symbols, 1, 1, 24),
        (".dynamic", SHT_DYNAMIC, dynamic, 1, 0, 16),
        (".gnu.version_r", SHT_GNU_VERNEED, verneed, 1, len(libraries), 0),
        (".text", SHT_PROGBITS, b"\xc3" * 16, 0, 0, 0),
    ]
    names = [(body[0], shstr.add(body[0])) for body in bodies]
    shstrtab_name = shstr.add(".shstrtab")
    bodies.append((".shstrtab", SHT_STRTAB, shstr.data, 0, 0, 0))
    names.append((".shstrtab", shstrtab_name))
    data = bytearray(HEADER.size)
    null = dict.fromkeys(SECTION_FIELDS, 0)
    null.update((sections or {}).get("", {}))
    headers = [SECTION.pack(*(null[field] for field in SECTION_FIELDS))]
    for (name, kind, body, link, info, entsize), (_, name_offset) in zip(bodies, names):
        data += bytes(-len(data) % 8)
        fields = dict(zip(SECTION_FIELDS, (name_offset, kind, 2, 0, len(data), len(body), link, info, 8, entsize)))
        fields.update((sections or {}).get(name, {}))
        headers.append(SECTION.pack(*(fields[field] for field in SECTION_FIELDS)))
        data += body
    data += bytes(-len(data) % 8)
    table_offset = len(data)
    data += b"".join(headers)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    values = dict(
        zip(HEADER_FIELDS, (ident, 3, machine, 1, 0, 0, table_offset, 0, 64, 56, 0, 64, len(headers), len(headers) - 1))
    )
    values.update(header or {})
    data[: HEADER.size] = HEADER.pack(*(values[field] for field in HEADER_FIELDS))
    return bytes(data)
