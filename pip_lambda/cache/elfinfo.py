"""What the ELF reader found in a store's file, kept by the file's sha256: each binary is parsed once, ever.

An :class:`~pip_lambda.checks.elf.ElfInfo` depends on the file's bytes alone,
never on the target, so it is kept in the store entry the file belongs to
(``.elfinfo.json``, a checksummed record) under the sha256 the manifest
records.  Verification asks :class:`KnownElf` instead of parsing: a file that
is still the one laid out from the store gets the kept ElfInfo; anything else
(a file a trim step replaced, a file of ``--code``) is parsed, as is a file
whose record is missing or damaged, which is then written again.  The
findings, which depend on the target, are computed from it every time.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pip_lambda.cache import jsondata
from pip_lambda.cache.jsondata import Json, Malformed, count, field, flag, items, mapping, sha256_hex, text, texts
from pip_lambda.cache.storage import MANIFEST
from pip_lambda.cache.store import StoredFile

if TYPE_CHECKING:  # pyelftools loads only when a tree is verified: a no-op rebuild stays fast
    from pip_lambda.checks.elf import ElfInfo

log = logging.getLogger(__name__)

RECORD, KIND = ".elfinfo.json", "elfinfo"


def _info_json(info: ElfInfo) -> Json:
    return [
        info.machine,
        info.bits,
        list(info.needed),
        list(info.search_paths),
        [[library, version] for library, version in info.version_needs],
        info.python_init,
    ]


def _info(value: Json) -> ElfInfo:
    from pip_lambda.checks.elf import ElfInfo

    row = items(value)
    if len(row) != 6:
        raise Malformed(f"{value!r} is not what the ELF reader found")
    needs = tuple(_pair(pair) for pair in items(row[4]))
    return ElfInfo(text(row[0]), count(row[1]), texts(row[2]), texts(row[3]), needs, flag(row[5]))


def _pair(value: Json) -> tuple[str, str]:
    pair = texts(value)
    if len(pair) != 2:
        raise Malformed(f"{value!r} is not a library and a version")
    return pair[0], pair[1]


def _read(folder: Path) -> dict[str, ElfInfo]:
    body = jsondata.read(folder / RECORD, KIND)
    try:
        return {sha256_hex(sha256): _info(info) for sha256, info in mapping(field(body, "files")).items()}
    except Malformed:
        return {}


class KnownElf:
    """The ElfInfo of files laid out from the store, by sha256, read from and kept in their store entries."""

    def __init__(self, stored: Mapping[str, StoredFile], site: Path, prefix: str, *, keep: bool) -> None:
        """``stored``: what the store laid out in ``site``, by path relative to it; verification names files with
        ``prefix`` before that path.  ``keep``: write what was parsed back into the store (not for a build's own)."""
        self._stored = {prefix + path: found for path, found in stored.items()}
        self._site, self._prefix, self._keep = site, prefix, keep
        self._known: dict[Path, dict[str, ElfInfo]] = {}
        self._changed: set[Path] = set()

    def __call__(self, relative: str, path: Path) -> ElfInfo:
        """What the ELF reader finds in ``path`` (``relative`` to the verified root); CorruptElf as read_elf raises."""
        from pip_lambda.checks.elf import read_elf

        stored = self._stored.get(relative)
        if stored is None or not stored.unchanged(self._site):
            return read_elf(path)
        folder = stored.wheel.parent
        known = self._known.setdefault(folder, _read(folder))
        info = known.get(stored.sha256)
        if info is None:
            info = known[stored.sha256] = read_elf(path)
            self._changed.add(folder)
        return info

    def save(self) -> None:
        """Keep what was parsed in the store entries; an entry that cannot be written (pruned meanwhile) is skipped."""
        if not self._keep:
            return
        for folder in self._changed:
            if not (folder / MANIFEST).is_file():  # pruned meanwhile: never leave a folder without its manifest
                continue
            body: dict[str, Json] = {
                "files": {sha256: _info_json(info) for sha256, info in self._known[folder].items()}
            }
            with contextlib.suppress(OSError):
                jsondata.write(folder / RECORD, KIND, body)
        self._changed.clear()
