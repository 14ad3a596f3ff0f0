"""Where the build cache lives, how its entries are written and read safely, and how it is pruned.

Layout under the cache folder::

    results/<key>/entry.json, result.zip   one finished build per cache key
    stamps/<hash of target and zip paths>.json   what a project's last build left, for no-op rebuilds
    wheels/<sha256 of a wheel>/                  a wheel as pip unpacked it (see store.py)

Every item is written in a temporary folder or file and renamed into place, so
a reader sees a whole item or none; each carries a checksum checked before
reuse.  Builds hold a shared lock, pruning an exclusive one, so an entry is
never deleted under a build that is copying it.  Items are used least recently
first when pruning; each use touches the item's mtime.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CACHE_VARIABLE = "PIP_LAMBDA_CACHE_DIR"
MAX_SIZE_VARIABLE = "PIP_LAMBDA_CACHE_MAX_SIZE"
DEFAULT_MAX_SIZE = 5 * 1024**3
SECTIONS = ("results", "stamps", "wheels")
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def cache_root() -> Path:
    """``PIP_LAMBDA_CACHE_DIR``, else the user cache folder (platformdirs: ~/.cache/pip-lambda on Linux)."""
    override = os.environ.get(CACHE_VARIABLE)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pip-lambda", appauthor=False))


def parse_size(text: str) -> int:
    """``500M``, ``2G``, ``1.5G`` or a number of bytes."""
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = cleaned[-1:] if cleaned[-1:] in _UNITS and cleaned[-1:] else ""
    number = cleaned[: len(cleaned) - len(unit)] if unit else cleaned
    return int(float(number) * _UNITS[unit])


def max_size() -> int:
    raw = os.environ.get(MAX_SIZE_VARIABLE)
    return parse_size(raw) if raw else DEFAULT_MAX_SIZE


@contextlib.contextmanager
def locked(root: Path, *, exclusive: bool = False) -> Iterator[None]:
    """Hold the cache lock: shared for builds, exclusive for pruning (no lock where fcntl is missing)."""
    root.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: renames keep entries whole; pruning may then race a build.
        yield
        return
    with open(root / "lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(data, out, sort_keys=True)
    Path(temporary).replace(path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def touch(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.utime(path)


def new_folder(section: Path) -> Path:
    """A temporary folder inside ``section``, to be renamed into place when complete."""
    section.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".tmp-", dir=section))


def publish(folder: Path, final: Path) -> bool:
    """Rename a finished temporary folder into place; False (and the folder removed) when another build won."""
    try:
        folder.replace(final)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        return False
    return True


@dataclass(frozen=True)
class ResultEntry:
    """A finished build kept under its key: the zip and what the summary needs."""

    folder: Path
    data: dict[str, Any]

    @property
    def zip(self) -> Path:
        return self.folder / "result.zip"

    def verified(self) -> bool:
        """True when the zip is whole and unchanged since it was stored."""
        try:
            size = self.zip.stat().st_size
        except OSError:
            return False
        return size == self.data.get("zip_size") and file_sha256(self.zip) == self.data.get("zip_sha256")


def result_folder(root: Path, key: str) -> Path:
    return root / "results" / key


def read_result(root: Path, key: str) -> ResultEntry | None:
    folder = result_folder(root, key)
    data = read_json(folder / "entry.json")
    if data is None or data.get("key") != key:
        return None
    return ResultEntry(folder, data)


def store_result(root: Path, key: str, zip_path: Path, data: dict[str, Any]) -> None:
    """Keep a copy of a finished zip under ``key`` (the copy, not a link: the user may edit theirs)."""
    final = result_folder(root, key)
    if final.exists():
        shutil.rmtree(final, ignore_errors=True)
    folder = new_folder(final.parent)
    try:
        shutil.copyfile(zip_path, folder / "result.zip")
        entry = dict(data, key=key, zip_sha256=file_sha256(folder / "result.zip"))
        entry["zip_size"] = (folder / "result.zip").stat().st_size
        write_json_atomic(folder / "entry.json", entry)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    publish(folder, final)


def discard_result(root: Path, key: str) -> None:
    shutil.rmtree(result_folder(root, key), ignore_errors=True)


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
    marker = path / ("entry.json" if section == "results" else ".manifest.json")
    data = read_json(marker) if section in ("results", "wheels") else None
    if data is None:
        return Item(path, _tree_size(path), path.stat().st_mtime)
    recorded = data.get("zip_size" if section == "results" else "bytes")
    size = recorded if isinstance(recorded, int) else _tree_size(path)
    return Item(path, size + marker.stat().st_size, marker.stat().st_mtime)


def _remove(path: Path) -> None:
    if path.is_dir():
        # Renamed first, so a reader never sees a half-deleted item.
        doomed = path.with_name(f".tmp-doomed-{path.name}-{os.getpid()}")
        with contextlib.suppress(OSError):
            path.replace(doomed)
            path = doomed
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


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
            _remove(leftover)
        everything = sorted(items(root), key=lambda item: item.used)
        total = sum(item.size for item in everything)
        removed, freed = 0, 0
        for item in everything:
            if total <= limit:
                break
            _remove(item.path)
            total -= item.size
            removed += 1
            freed += item.size
    return removed, freed


def prune_if_needed(root: Path) -> None:
    """After a build has written to the cache: keep it under its size cap."""
    limit = max_size()
    try:
        removed, freed = prune(root, limit)
    except OSError as error:
        log.debug("could not prune the cache: %s", error)
        return
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
                _remove(root / section)
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
