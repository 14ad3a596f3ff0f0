"""``--strip``: remove debug symbols from shared objects, keeping the original whenever in doubt.

The system ``strip --strip-debug`` writes a copy; the copy replaces the
original only when it is smaller, still a valid ELF file for the same
machine, with the same dynamic section and the same loadable segments
(address, size, flags, alignment), each still aligned as the loader demands.
Stripping libraries patched by auditwheel/patchelf is where other tools
corrupt files ("ELF load command address/offset not properly aligned").
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from pip_lambda.checks.elf import CorruptElf, read_elf
from pip_lambda.plan.target import Target

log = logging.getLogger(__name__)

ELF_MAGIC = b"\x7fELF"


@dataclass(frozen=True)
class StripResult:
    stripped: tuple[str, ...]
    """Files replaced by their stripped copy."""
    unchanged: tuple[str, ...]
    """ELF files with nothing to strip (most wheels ship stripped already)."""
    kept: tuple[str, ...]
    """ELF files left as they were because strip failed or its copy failed a check."""
    tool: str | None
    """The strip command used; None when none was found."""


def find_strip(target: Target) -> str | None:
    """A cross ``strip`` for the target's machine when installed, else the system one."""
    return shutil.which(f"{target.arch.machine}-linux-gnu-strip") or shutil.which("strip")


def is_elf(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == ELF_MAGIC


def _fingerprint(path: Path) -> tuple[Any, ...]:
    """What must not change: machine, class, type, loadable segments and the dynamic section."""
    with path.open("rb") as handle:
        elf = ELFFile(handle)
        segments = []
        for segment in elf.iter_segments():
            header = segment.header
            if (
                header.p_type == "PT_LOAD"
                and header.p_align > 1
                and (header.p_offset - header.p_vaddr) % header.p_align
            ):
                raise ELFError(f"PT_LOAD at offset {header.p_offset:#x} is not aligned to {header.p_align:#x}")
            if header.p_type in ("PT_LOAD", "PT_DYNAMIC", "PT_GNU_STACK", "PT_TLS"):
                segments.append((header.p_type, header.p_vaddr, header.p_memsz, header.p_flags, header.p_align))
        dynamic = [
            (tag.entry.d_tag, _tag_value(tag))
            for section in elf.iter_sections()
            if isinstance(section, DynamicSection)
            for tag in section.iter_tags()
        ]
        return (elf.header.e_machine, elf.elfclass, elf.header.e_type, tuple(segments), tuple(dynamic))


def _tag_value(tag: Any) -> object:
    """The string a DT_NEEDED/SONAME/RPATH/RUNPATH entry names, else its number."""
    for name in ("needed", "soname", "rpath", "runpath"):
        if hasattr(tag, name):
            return getattr(tag, name)
    return tag.entry.d_val


Outcome = Literal["stripped", "unchanged", "kept"]


def strip_one(path: Path, tool: str) -> Outcome:
    """Strip ``path`` in place, or leave it untouched when there is nothing to gain or anything is doubtful."""
    copy = path.with_name(path.name + ".pip-lambda-strip")
    try:
        read_elf(path)  # bounded: a hostile file is CorruptElf here, before pyelftools walks it unguarded
        before = _fingerprint(path)
        done = subprocess.run(
            [tool, "--strip-debug", "-o", str(copy), str(path)], capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            log.debug("keeping %s: strip failed: %s", path, done.stderr.strip())
            return "kept"
        if copy.stat().st_size >= path.stat().st_size:
            return "unchanged"
        if _fingerprint(copy) != before:
            log.debug("keeping %s: the stripped copy differs in its dynamic section or segments", path)
            return "kept"
        copy.chmod(path.stat().st_mode & 0o7777)
        copy.replace(path)
        return "stripped"
    except (OSError, ELFError, CorruptElf, subprocess.TimeoutExpired, ValueError, AssertionError) as error:
        log.debug("keeping %s: %s", path, error)
        return "kept"
    finally:
        copy.unlink(missing_ok=True)


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def strip_files(site: Path, candidates: Sequence[str], target: Target) -> StripResult:
    """Strip each ELF file among ``candidates`` (relative paths), when a ``strip`` exists.

    Only regular files: a symlink is left as it is (its target, when in the package, is a candidate itself).
    """
    elves = [path for path in candidates if _regular(site / path) and is_elf(site / path)]
    tool = find_strip(target)
    if tool is None:
        return StripResult((), (), tuple(elves), None)
    outcomes: dict[str, list[str]] = {"stripped": [], "unchanged": [], "kept": []}
    for path in elves:
        outcomes[strip_one(site / path, tool)].append(path)
    return StripResult(tuple(outcomes["stripped"]), tuple(outcomes["unchanged"]), tuple(outcomes["kept"]), tool)
