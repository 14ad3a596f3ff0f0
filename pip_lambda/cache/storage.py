"""Where the build cache lives, how its entries are written and read safely, and how it is pruned.

Layout under the cache folder::

    results/<key>/entry.json, result.zip   one finished build per cache key (see entries.py)
    stamps/<hash of target and zip paths>.json   what a project's last build left, for no-op rebuilds
    wheels/<sha256 of a wheel>/                  a wheel as pip unpacked it, with .manifest.json (store.py)

Every item is written in a temporary folder or file and renamed into place, so
a reader sees a whole item or none; every record carries a checksum and every
file it describes a sha256, checked before reuse (jsondata.py).  Builds hold a
shared lock, pruning an exclusive one, so an entry is never deleted under a
build that is copying it; a cache that cannot be written is still read under a
shared lock on its existing lock file.  Items are used least recently first
when pruning; each use touches the item's mtime.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pip_lambda.cache import jsondata
from pip_lambda.errors import UsageError

log = logging.getLogger(__name__)

CACHE_VARIABLE = "PIP_LAMBDA_CACHE_DIR"
MAX_SIZE_VARIABLE = "PIP_LAMBDA_CACHE_MAX_SIZE"
DEFAULT_MAX_SIZE = 5 * 1024**3
SECTIONS = ("results", "stamps", "wheels")
RESULT, STAMP, WHEEL = "result", "stamp", "wheel"
"""The kinds of record (see jsondata.py): a result's entry.json, a stamp, a wheel's manifest."""
ENTRY, MANIFEST = "entry.json", ".manifest.json"
BUFFER = 1 << 20
"""Files are read and copied in pieces of this size, whatever their size."""
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def cache_root() -> Path:
    """``PIP_LAMBDA_CACHE_DIR``, else the user cache folder (platformdirs: ~/.cache/pip-lambda on Linux)."""
    override = os.environ.get(CACHE_VARIABLE)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pip-lambda", appauthor=False))


def parse_size(text: str, source: str) -> int:
    """``500M``, ``2G``, ``1.5G`` or a number of bytes; a UsageError naming ``source`` for anything else."""
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = cleaned[-1:] if cleaned[-1:] in _UNITS else ""
    try:
        number = float(cleaned[: len(cleaned) - len(unit)])
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise UsageError(
            f"{source} {text!r} is not a size", hint="give a number of bytes, or one with K, M, G or T, e.g. 500M or 2G"
        )
    return int(number * _UNITS[unit])


def max_size() -> int:
    """``PIP_LAMBDA_CACHE_MAX_SIZE``, else 5 GiB."""
    raw = os.environ.get(MAX_SIZE_VARIABLE)
    return parse_size(raw, f"${MAX_SIZE_VARIABLE}") if raw else DEFAULT_MAX_SIZE


class CacheUnavailable(OSError):
    """The cache cannot be locked (a read-only cache without a lock file, a missing parent folder)."""


def _open_lock(root: Path) -> IO[bytes]:
    try:
        root.mkdir(parents=True, exist_ok=True)
        return open(root / "lock", "a+b")
    except OSError as error:
        try:
            return open(root / "lock", "rb")  # a read-only cache: reading it is still safe under a shared lock
        except OSError:
            raise CacheUnavailable(error.errno, f"cannot lock the build cache: {error.strerror}", str(root)) from error


@contextlib.contextmanager
def locked(root: Path, *, exclusive: bool = False) -> Iterator[None]:
    """Hold the cache lock: shared for builds, exclusive for pruning (no lock where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: renames keep entries whole; pruning may then race a build.
        root.mkdir(parents=True, exist_ok=True)
        yield
        return
    with _open_lock(root) as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(BUFFER):
            digest.update(chunk)
    return digest.hexdigest()


def touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)


def new_folder(section: Path) -> Path:
    """A temporary folder inside ``section``, to be renamed into place when complete."""
    section.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".tmp-", dir=section))


def remove_item(path: Path) -> None:
    """Delete a cache item; a folder is renamed first, so a reader never sees half of it."""
    if path.is_dir():
        doomed = path.with_name(f".tmp-doomed-{path.name}-{os.getpid()}")
        with contextlib.suppress(OSError):
            path.replace(doomed)
            path = doomed
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def publish(folder: Path, final: Path) -> bool:
    """Rename a finished temporary folder into place; False (and the folder removed) when another build won."""
    try:
        folder.replace(final)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        return False
    return True


def result_folder(root: Path, key: str) -> Path:
    return root / "results" / key


def stamp_path(root: Path, target_dir: Path, output: Path | None) -> Path:
    place = f"{target_dir.resolve()}\0{output.resolve() if output else ''}"
    return root / "stamps" / f"{hashlib.sha256(place.encode()).hexdigest()}.json"


# --- size, pruning, purging -------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    path: Path
    size: int
    used: float


def _tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += Path(folder, name).stat().st_size
    return total


def items(root: Path) -> list[Item]:
    """Every prunable item (a result, a stamp, an unpacked wheel)."""
    found: list[Item] = []
    for section in SECTIONS:
        base = root / section
        if not base.is_dir():
            continue
        for path in base.iterdir():
            if path.name.startswith(".tmp-"):
                continue
            with contextlib.suppress(OSError):
                found.append(_item(section, path))
    return found


def _item(section: str, path: Path) -> Item:
    """An item's size and last use, from its own record when it has one (no walk through the store)."""
    marker = path / (ENTRY if section == "results" else MANIFEST)
    data = jsondata.read(marker, RESULT if section == "results" else WHEEL) if section != "stamps" else None
    recorded = data.get("zip_size" if section == "results" else "bytes") if data is not None else None
    if not isinstance(recorded, int):
        return Item(path, _tree_size(path), path.stat().st_mtime)
    return Item(path, recorded + marker.stat().st_size, marker.stat().st_mtime)


def _leftovers(root: Path, older_than: float) -> list[Path]:
    """Temporary items of builds that were interrupted (old enough not to belong to a running build)."""
    found: list[Path] = []
    for section in SECTIONS:
        base = root / section
        if base.is_dir():
            found += [path for path in base.glob(".tmp-*") if path.stat().st_mtime < older_than]
    return found


def prune(root: Path, limit: int) -> tuple[int, int]:
    """Delete least recently used items until the cache is at most ``limit`` bytes; (items, bytes) freed."""
    if not root.is_dir():
        return 0, 0
    with locked(root, exclusive=True):
        for leftover in _leftovers(root, time.time() - 3600):
            remove_item(leftover)
        everything = sorted(items(root), key=lambda item: item.used)
        total = sum(item.size for item in everything)
        removed, freed = 0, 0
        for item in everything:
            if total <= limit:
                break
            remove_item(item.path)
            total -= item.size
            removed += 1
            freed += item.size
    return removed, freed


PRUNE_EVERY = 600.0
"""Seconds between two prunes after builds: a prune reads every entry's record, which costs more the bigger the
cache, so a burst of builds (a monorepo's functions, one after the other) pays for it once."""
PRUNED = ".pruned"
"""The file whose modification time says when the cache was last pruned after a build."""


def prune_if_needed(root: Path) -> None:
    """After a build has written to the cache: keep it under its size cap, unless that was checked moments ago."""
    stamp = root / PRUNED
    with contextlib.suppress(OSError):
        if 0 <= time.time() - stamp.stat().st_mtime < PRUNE_EVERY:
            return
    limit = max_size()
    try:
        removed, freed = prune(root, limit)
    except OSError as error:
        log.debug("could not prune the cache: %s", error)
        return
    with contextlib.suppress(OSError):  # a read-only cache is pruned (or not) again next time
        stamp.touch()
    if removed:
        log.debug("pruned %d cache items (%d bytes) to stay under %d bytes", removed, freed, limit)


def purge(root: Path) -> int:
    """Delete the whole cache; returns the bytes freed."""
    if not root.is_dir():
        return 0
    with locked(root, exclusive=True):
        freed = 0
        for section in SECTIONS:
            if (root / section).is_dir():
                freed += _tree_size(root / section)
                remove_item(root / section)
    return freed


def summary(root: Path) -> dict[str, tuple[int, int]]:
    """Per section: (items, bytes)."""
    counts: dict[str, tuple[int, int]] = {section: (0, 0) for section in SECTIONS}
    if not root.is_dir():
        return counts
    for item in items(root):
        section = item.path.relative_to(root).parts[0]
        number, size = counts[section]
        counts[section] = (number + 1, size + item.size)
    return counts
