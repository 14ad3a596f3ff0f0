"""Reuse of earlier builds: a no-op when nothing changed, a restore when another build made the same result.

Before anything heavy runs, the cache key of the request is computed.  When it
matches the stamp the last build of this target and zip left, and both are as
that build left them, the build is a no-op: nothing is written.  When it
matches a result in the cache, the zip is copied from there (checked against
its checksum while copying) and the target unpacked from it.  A result whose
requirements are not all pinned is reused only after pip resolves again to the
same distributions and files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import logging
import os
import shutil
import stat
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pip_lambda.archive.writer import ZipResult, create_temporary_zip
from pip_lambda.cache import key as cachekey
from pip_lambda.cache import storage as cache
from pip_lambda.cache.key import Inputs
from pip_lambda.errors import PipFailedError
from pip_lambda.pip.requirements import RequirementLine, RequirementSet
from pip_lambda.pip.resolve import Pick, resolve, same_resolution
from pip_lambda.system.signals import shielded
from pip_lambda.tree.distributions import Distribution, find_distributions
from pip_lambda.tree.journal import NewZip
from pip_lambda.tree.replace import discard, put_in_place
from pip_lambda.tree.staging import create_staging

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """What the cache knows before a build: its key, pip's resolution when it was needed, a reusable result."""

    root: Path | None
    """The cache folder; None with --no-cache."""
    inputs: Inputs | None
    picks: tuple[Pick, ...] | None = None
    reused: dict[str, Any] | None = None
    """The summary of the reused build, and how it was reused (``"up to date"`` or ``"from the cache"``)."""


def tree_fingerprint(folder: Path) -> str:
    """Names, sizes, modes and modification times of everything in ``folder``: cheap, and any edit shows."""
    rows: list[str] = []
    for parent, names, files in os.walk(folder):
        names.sort()
        relative = os.path.relpath(parent, folder)
        for name in sorted(files) + names:
            info = os.lstat(f"{parent}/{name}")
            rows.append(f"{relative}/{name}\0{info.st_size}\0{info.st_mode}\0{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(rows).encode()).hexdigest() if rows else "missing"


def _zip_identity(path: Path | None) -> list[int] | None:
    if path is None:
        return None
    try:
        info = path.stat()
    except OSError:
        return [-1]
    return [info.st_size, info.st_mtime_ns]


def is_pinned(lines: Sequence[RequirementLine], passthrough: Sequence[str], installed: Sequence[str]) -> bool:
    """True when the key alone decides the result: every requirement and installed distribution pinned.

    A top-level ``name==version`` does not pin its dependencies, so each
    installed distribution (``name==version``) must be pinned by a requirement
    or constraint line too, unless ``--no-deps`` installs only the top level.
    """
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    pins: set[str] = set()
    for line in lines:
        if line.text.startswith("-"):
            continue
        try:
            parsed = Requirement(line.text)
        except InvalidRequirement:
            return False
        specs = list(parsed.specifier)
        exact = parsed.url is None and len(specs) == 1 and specs[0].operator in ("==", "===")
        exact = exact and not specs[0].version.endswith("*")
        if exact:
            pins.add(f"{canonicalize_name(parsed.name)}=={specs[0].version}")
        elif line.kind == "requirement":
            return False
    if "--no-deps" in passthrough:
        return True
    return all(name in pins for name in installed)


# BuildResult fields the summary below records itself; any other field (a step added later) is kept by _dump.
_RECORDED = frozenset(
    {"request", "distributions", "file_count", "unzipped_size", "zip", "warnings", "timings", "reused"}
)


def _dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _dump(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_dump(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _load(hint: Any, data: Any) -> Any:
    """Rebuild a value of type ``hint`` (dataclasses, tuples, optionals) from what _dump wrote."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if data is None:
        return None
    if origin is typing.Union or (origin is not None and origin.__name__ == "UnionType"):
        return _load(next(argument for argument in arguments if argument is not type(None)), data)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        hints = typing.get_type_hints(hint)
        return hint(**{field.name: _load(hints[field.name], data[field.name]) for field in dataclasses.fields(hint)})
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return tuple(_load(arguments[0], item) for item in data)
        return tuple(_load(argument, item) for argument, item in zip(arguments, data))
    if origin is list:
        return [_load(arguments[0], item) for item in data]
    if hint is Path:
        return Path(data)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(data)
    return data


def reused_extras(result_type: type, summary: dict[str, Any]) -> dict[str, Any]:
    """The fields of the earlier BuildResult beyond the summary's own (such as the trim step's result)."""
    try:
        hints = typing.get_type_hints(result_type)
        return {name: _load(hints[name], value) for name, value in summary.get("extras", {}).items() if name in hints}
    except (KeyError, TypeError, ValueError, StopIteration) as error:
        log.debug("could not read back the cached build's details: %s", error)
        return {}


def _summary(result: Any) -> dict[str, Any]:
    extras = {
        field.name: _dump(getattr(result, field.name))
        for field in dataclasses.fields(result)
        if field.name not in _RECORDED
    }
    return {
        "extras": extras,
        "file_count": result.file_count,
        "unzipped_size": result.unzipped_size,
        "warnings": list(result.warnings),
        "zip_entries": result.zip.entries if result.zip else None,
        "zip_sha256": result.zip.sha256 if result.zip else None,
        "distributions": [[d.name, d.version, d.dist_info, list(d.files), d.size] for d in result.distributions],
    }


def prepare(request: Any, found: RequirementSet) -> Plan:
    """Compute the key and find a result to reuse; resolve with pip only when a pin is missing.

    ``found`` is what the build read of the request's requirement files.
    """
    if not request.use_cache:
        return Plan(None, None)
    root = cache.cache_root()
    inputs = cachekey.compute(request, found)
    if request.refresh:
        return Plan(root, inputs)
    stamp = cache.read_json(cache.stamp_path(root, request.target_dir, request.output))
    if stamp is not None and stamp.get("key") != inputs.key:
        stamp = None
    entry = cache.read_result(root, inputs.key) if request.output is not None else None
    known = stamp or (entry.data if entry else None)
    if known is None:
        return Plan(root, inputs)
    picks = None
    if not known.get("pinned"):
        try:
            picks = resolve(request)
        except PipFailedError:
            return Plan(root, inputs)
        if not same_resolution(picks, known.get("resolution")):
            log.info("pip resolved to other distributions than the last build: rebuilding")
            return Plan(root, inputs, picks)
    if stamp is not None and _untouched(request, stamp):
        log.info("nothing changed since the last build: %s is up to date", request.output or request.target_dir)
        return Plan(root, inputs, picks, dict(stamp["summary"], how="up to date"))
    if entry is not None:
        with cache.locked(root):
            restored = _restore(request, entry)
        if restored:
            log.info("reused the cached result of an identical build (key %s)", inputs.key[:12])
            return Plan(root, inputs, picks, dict(entry.data["summary"], how="from the cache"))
    return Plan(root, inputs, picks)


def _untouched(request: Any, stamp: dict[str, Any]) -> bool:
    return (
        _zip_identity(request.output) == stamp.get("zip")
        and request.target_dir.is_dir()
        and tree_fingerprint(request.target_dir) == stamp.get("tree")
    )


def _copy_verified(source: Path, output: Path, expected: str) -> NewZip | None:
    """Copy the cached zip to a temporary file beside ``output`` while hashing it; None (and no file) if it differs.

    A cached zip that cannot be read is damaged (None); an output that cannot
    be written raises, as it would in a fresh build.
    """
    digest = hashlib.sha256()
    with contextlib.ExitStack() as stack:
        try:
            reader = stack.enter_context(open(source, "rb"))
        except OSError:
            return None
        descriptor, temporary = create_temporary_zip(output)
        try:
            with open(descriptor, "wb") as writer:
                while chunk := reader.read(1 << 20):
                    digest.update(chunk)
                    writer.write(chunk)
                writer.flush()
                os.fsync(writer.fileno())
                size = writer.tell()
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    if digest.hexdigest() != expected:
        temporary.unlink()
        return None
    return NewZip(temporary, output, size, expected)


def _extract(archive: Path, destination: Path) -> None:
    import zipfile

    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            name = info.filename
            if name.startswith("/") or ".." in name.split("/"):
                raise zipfile.BadZipFile(f"unsafe member {name}")
            path = destination / name
            if name.endswith("/"):
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(info) as reader, open(path, "wb") as writer:
                shutil.copyfileobj(reader, writer, 1 << 20)
            mode = (info.external_attr >> 16) & 0o777
            if mode & stat.S_IXUSR:
                path.chmod(0o755)


def _restore(request: Any, entry: cache.ResultEntry) -> bool:
    """Put the cached result in place: its zip copied and checked, the target unpacked from it, both replaced together."""
    assert request.output is not None
    new_zip = _copy_verified(entry.zip, request.output, str(entry.data.get("zip_sha256")))
    if new_zip is None:
        log.warning("the cached result %s is damaged; rebuilding it", entry.folder.name[:12])
        cache.discard_result(entry.folder.parent.parent, entry.folder.name)
        return False
    cache.touch(entry.folder / "entry.json")
    staging = None
    try:
        staging = create_staging(request.target_dir)
        _extract(new_zip.temporary, staging)
    except BaseException:
        with shielded():
            discard(staging, new_zip)
        raise
    put_in_place(request.target_dir, staging, request.output, new_zip)
    return True


def reused_distributions(request: Any, summary: dict[str, Any]) -> list[Distribution]:
    """The stamp's record of the distributions (the tree is unchanged), else read from the tree."""
    if summary.get("how") == "up to date" and isinstance(summary.get("distributions"), list):
        return [
            Distribution(name, version, info, tuple(files), size)
            for name, version, info, files, size in summary["distributions"]
        ]
    site = request.target_dir / "python" if request.layer else request.target_dir
    return find_distributions(site)


def reused_zip(request: Any, summary: dict[str, Any]) -> ZipResult | None:
    if request.output is None or summary.get("zip_sha256") is None:
        return None
    return ZipResult(request.output, summary["zip_sha256"], request.output.stat().st_size, summary["zip_entries"])


def remember(plan: Plan, request: Any, result: Any) -> None:
    """Record a finished build: the stamp for no-op rebuilds and, with a zip, the result for other builds."""
    if plan.root is None or plan.inputs is None:
        return
    installed = [dist.key + "==" + dist.version for dist in result.distributions]
    pinned = is_pinned(plan.inputs.lines, request.pip_args.passthrough, installed) and all(
        "://" not in name for name in plan.inputs.document["requirement_files"]
    )
    picks = plan.picks
    if not pinned and picks is None:
        try:
            picks = resolve(request)
        except PipFailedError:
            return
    data = {
        "key": plan.inputs.key,
        "pinned": pinned,
        "resolution": [pick.as_json() for pick in picks] if picks is not None else None,
        "summary": _summary(result),
    }
    try:
        with cache.locked(plan.root):
            if request.output is not None and plan.reused is None:
                cache.store_result(plan.root, plan.inputs.key, request.output, data)
            stamp = dict(data, tree=tree_fingerprint(request.target_dir), zip=_zip_identity(request.output))
            cache.write_json_atomic(cache.stamp_path(plan.root, request.target_dir, request.output), stamp)
        cache.prune_if_needed(plan.root)
    except OSError as error:
        log.warning("could not write to the build cache %s: %s", plan.root, error)
