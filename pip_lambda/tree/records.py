"""RECORD files (PEP 376), read and written through ``installer.records``, every path confined.

pip writes RECORD rows relative to the folder the ``.dist-info`` lies in.  With
``--target``, pip installs into a scratch "home" whose purelib is
``lib/python`` and then moves purelib and the data scheme into the target, so
a row such as ``../../bin/tool`` or ``../../include/site/python3.12/pkg/x.h``
names a file that landed at ``bin/tool`` or ``include/…`` of the target.
:func:`target_scheme_path` maps pip's rows to paths in the target; anything
that would leave the target is not a path of the package.  pip keeps the rows
a wheel's own RECORD lists for files it did not install exactly as written, so
those can name anything: they are read, reported and dropped, never acted on.

This module is the one reader and the one writer of RECORD.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import logging
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from installer.records import Hash, InvalidRecordEntry, RecordEntry, parse_record_file

from pip_lambda.tree.paths import confined, located

log = logging.getLogger(__name__)

RECORD = "RECORD"
_DATA_SCHEME = "../../"
"""How pip's rows for scripts, headers and data files start: two levels up from ``lib/python``."""
_HEADERS = re.compile(r"include/(?:site/)?python[0-9.]*/")
"""Where pip puts a wheel's ``.data/headers``: ``include/site/pythonX.Y/<dist>/`` from a virtual
environment, ``include/python/<dist>/`` otherwise, so the place depends on the Python running pip."""


def target_scheme_path(row: str) -> str | None:
    """Where a RECORD row pip wrote under ``--target`` lies in the target folder, or None when outside it."""
    text = row.replace("\\", "/")
    if text.startswith(_DATA_SCHEME):
        # Only pip's own form maps to the data scheme: two levels up, then no more climbing.
        rest = text[len(_DATA_SCHEME) :]
        return None if ".." in rest.split("/") else confined(rest)
    return confined(text)


@dataclass(frozen=True)
class Record:
    """What one RECORD says, every path mapped into the target folder."""

    entries: tuple[RecordEntry, ...]
    """The rows naming a path inside the target, in the file's order, paths relative to the target."""
    escaping: tuple[str, ...] = ()
    """Paths as written in rows that would leave the target; never acted on."""
    headers: tuple[str, ...] = ()
    """Paths of the C headers pip placed from the wheel's ``.data/headers``."""

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(entry.path for entry in self.entries)


def dist_info_folders(site: Path) -> list[Path]:
    """The ``.dist-info`` folders directly in ``site``, sorted; a symlink posing as one is not a folder of the package."""
    return sorted(path for path in site.glob("*.dist-info") if path.is_dir() and not path.is_symlink())


def read_record(dist_info: Path) -> Record:
    """The rows of ``dist_info``'s RECORD (none when it has no RECORD); malformed rows are dropped."""
    record = dist_info / RECORD
    if not record.is_file():
        return Record(())
    return parse_record(record.read_text("utf-8", errors="replace"), str(record))


def parse_record(text: str, origin: str) -> Record:
    """The rows of a RECORD's text (``origin`` names it in the log); malformed rows are dropped."""
    entries: list[RecordEntry] = []
    escaping: list[str] = []
    headers: list[str] = []
    for line in text.split("\n"):
        entry = _parse(line.rstrip("\r"), origin)
        if entry is None:
            continue
        path = target_scheme_path(entry.path)
        if path is None:
            escaping.append(entry.path)
            continue
        if entry.path.startswith(_DATA_SCHEME) and _HEADERS.match(path):
            headers.append(path)
        entries.append(RecordEntry(path, entry.hash_, entry.size))
    return Record(tuple(entries), tuple(escaping), tuple(headers))


def _parse(line: str, origin: str) -> RecordEntry | None:
    if not line:
        return None
    try:
        for path, hash_, size in parse_record_file([line]):
            return RecordEntry.from_elements(path, hash_, size)
    except (InvalidRecordEntry, csv.Error) as error:
        log.debug("%s: ignoring malformed row %r: %s", origin, line, error)
    return None


def write_record(dist_info: Path, entries: Iterable[RecordEntry]) -> None:
    """Replace ``dist_info``'s RECORD with ``entries`` (a symlink there is replaced, never written through)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerows(entry.to_row() for entry in entries)
    scratch = dist_info / f".{RECORD}.pip-lambda.tmp"
    scratch.write_text(text.getvalue(), "utf-8")
    scratch.replace(dist_info / RECORD)


def entry_for(site: Path, path: str) -> RecordEntry:
    """A RECORD row for the file at ``path`` (relative to ``site``) as it is now: sha256 and size."""
    data = (site / path).read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return RecordEntry(path, Hash("sha256", digest), len(data))


def update_record(site: Path, dist_info: Path, changed: Collection[str] = ()) -> tuple[str, ...]:
    """Bring ``dist_info``'s RECORD in line with the tree at ``site``; the rows dropped because they leave it.

    Rows are mapped into the target; rows that leave it, as written or through
    a symlinked folder, and rows of files that are gone are dropped; files in
    ``changed`` get their new hash and size.  Without a RECORD nothing is written.
    """
    if not (dist_info / RECORD).is_file():
        return ()
    record = read_record(dist_info)
    where = located(site, record.paths)
    own = f"{dist_info.name}/{RECORD}"
    kept: list[RecordEntry] = []
    escaping = list(record.escaping)
    for entry in record.entries:
        path = where.get(entry.path)
        if path is None:
            escaping.append(entry.path)
        elif entry.path == own:
            kept.append(entry)
        elif path.is_file() or path.is_symlink():
            kept.append(entry_for(site, entry.path) if entry.path in changed else entry)
    write_record(dist_info, kept)
    return tuple(escaping)
