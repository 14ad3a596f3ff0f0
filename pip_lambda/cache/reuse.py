"""Reuse of earlier builds: a no-op when nothing changed, a restore when another build made the same result.

Before anything heavy runs, the cache key of the request is computed.  When it
matches the stamp the last build of this target and zip left, and both are as
that build left them, the build is a no-op: nothing is written.  When it
matches a result in the cache, the zip is copied from there (checked against
its checksum while copying) and the target unpacked from it.  A result whose
requirements are not all pinned is reused only after pip resolves again to the
same distributions and files.  Every record is read back whole and checked
(see entries.py): one that is damaged is rebuilt, never reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pip_lambda.archive.reader import open_zip
from pip_lambda.archive.writer import create_temporary_zip
from pip_lambda.cache import entries
from pip_lambda.cache import key as cachekey
from pip_lambda.cache import storage as cache
from pip_lambda.cache.entries import Known, ResultEntry, Stamp
from pip_lambda.cache.jsondata import Malformed
from pip_lambda.cache.key import Inputs
from pip_lambda.cache.request import CacheRequest
from pip_lambda.errors import PipFailedError
from pip_lambda.pip.requirements import RequirementLine, RequirementSet
from pip_lambda.pip.resolve import NotWheelFiles, resolve
from pip_lambda.plan.request import BuildRequest
from pip_lambda.plan.selection import Selection
from pip_lambda.result import BuildResult, Reused
from pip_lambda.system.signals import shielded
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
    selection: Selection | None = None
    """The wheels the build installs, when known: pip's resolution, or what decided without it."""
    reused: BuildResult | None = None
    """The result of the earlier build, when it is reused (how: its ``reused`` field)."""
    locked: bool = False
    """The wheels were decided without pip's resolver (a selection, hashed requirements): the key alone decides."""


def tree_fingerprint(folder: Path) -> str:
    """Names, sizes, modes and modification times of everything in ``folder``: cheap, and any edit shows."""
    rows: list[str] = []
    for parent, names, files in os.walk(folder):
        names.sort()
        relative = os.path.relpath(parent, folder)
        for name in sorted(files) + names:
            info = os.lstat(f"{parent}/{name}")
            rows.append(f"{relative}/{name}\0{info.st_size}\0{info.st_mode}\0{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(rows).encode("utf-8", "surrogateescape")).hexdigest() if rows else "missing"


def _zip_identity(path: Path | None) -> tuple[int, ...] | None:
    if path is None:
        return None
    try:
        info = path.stat()
    except OSError:
        return (-1,)
    return (info.st_size, info.st_mtime_ns)


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


def prepare(request: BuildRequest, found: RequirementSet) -> Plan:
    """Compute the key and find a result to reuse; resolve with pip only when a pin is missing.

    ``found`` is what the build read of the request's requirement files.
    """
    if not request.use_cache:
        return Plan(None, None)
    cache.max_size()  # a bad $PIP_LAMBDA_CACHE_MAX_SIZE is refused now, not after the build
    root = cache.cache_root()
    inputs = cachekey.compute(CacheRequest.of(request), found)
    if request.refresh:
        return Plan(root, inputs)
    stamped = _stamped(root, request, inputs.key)
    cached = _cached(root, request, inputs.key) if request.output is not None else None
    known = stamped[0].known if stamped else cached[0].known if cached else None
    if known is None:
        return Plan(root, inputs)
    selection = None
    if not known.pinned:
        try:
            selection = resolve(request.target, request.pip_args)
        except (PipFailedError, NotWheelFiles):
            return Plan(root, inputs)
        if known.resolution is None or not selection.same_wheels(known.resolution):
            log.info("pip resolved to other distributions than the last build: rebuilding")
            return Plan(root, inputs, selection)
    if stamped and _untouched(request, stamped[0]):
        log.info("nothing changed since the last build: %s is up to date", request.output or request.target_dir)
        return Plan(root, inputs, selection, replace(stamped[1], reused=Reused.UP_TO_DATE))
    if cached and _restored(root, request, cached[0]):
        log.info("reused the cached result of an identical build (key %s)", inputs.key[:12])
        return Plan(root, inputs, selection, replace(cached[1], reused=Reused.FROM_CACHE))
    return Plan(root, inputs, selection)


def _stamped(root: Path, request: BuildRequest, key: str) -> tuple[Stamp, BuildResult] | None:
    """The stamp this target and zip carry for ``key``, when it and its result read back whole and agree."""
    stamp = entries.read_stamp(root, request.target_dir, request.output, key)
    if stamp is None:
        return None
    try:
        result = BuildResult.from_json(stamp.known.result, request)
    except Malformed as why:
        log.debug("ignoring the stamp of the last build: %s", why)
        return None
    if result.zip is not None and (stamp.zip is None or stamp.zip[0] != result.zip.size):
        return None
    return stamp, result


def _cached(root: Path, request: BuildRequest, key: str) -> tuple[ResultEntry, BuildResult] | None:
    """The result cached under ``key``, when it reads back whole and describes its zip; else it is discarded."""
    entry = entries.read_result(root, key)
    if entry is None:
        return None
    try:
        result = BuildResult.from_json(entry.known.result, request)
    except Malformed as why:
        log.debug("the record of the cached result is damaged: %s", why)
        result = None
    if (
        result is None
        or result.zip is None
        or (result.zip.sha256, result.zip.size) != (entry.zip_sha256, entry.zip_size)
    ):
        log.warning("the cached result %s is damaged; rebuilding it", entry.folder.name[:12])
        entries.discard_result(entry)
        return None
    return entry, result


def _restored(root: Path, request: BuildRequest, entry: ResultEntry) -> bool:
    try:
        with cache.locked(root):
            return _restore(request, entry)
    except cache.CacheUnavailable as error:
        log.warning("%s (%s); building without it", error.strerror, error.filename)
        return False


def _untouched(request: BuildRequest, stamp: Stamp) -> bool:
    return (
        _zip_identity(request.output) == stamp.zip
        and request.target_dir.is_dir()
        and tree_fingerprint(request.target_dir) == stamp.tree
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


def _restore(request: BuildRequest, entry: ResultEntry) -> bool:
    """Put the cached result in place: its zip copied and checked, the target unpacked from it, both replaced together."""
    assert request.output is not None
    new_zip = _copy_verified(entry.zip, request.output, entry.zip_sha256)
    if new_zip is None:
        log.warning("the cached result %s is damaged; rebuilding it", entry.folder.name[:12])
        entries.discard_result(entry)
        return False
    cache.touch(entry.folder / cache.ENTRY)
    staging = None
    try:
        staging = create_staging(request.target_dir)
        # The zip is pip-lambda's own, checked against its sha256 while copied; read it as any zip all the same.
        with open_zip(new_zip.temporary, limit=1 << 62) as archive:
            archive.extract(staging, hint="free space on the target's disk, or pass -t/-o on another one")
    except BaseException:
        with shielded():
            discard(staging, new_zip)
        raise
    put_in_place(request.target_dir, staging, request.output, new_zip)
    return True


def remember(plan: Plan, result: BuildResult) -> None:
    """Record a finished build: the stamp for no-op rebuilds and, with a zip, the result for other builds."""
    if plan.root is None or plan.inputs is None:
        return
    request = result.request
    installed = [dist.key + "==" + dist.version for dist in result.distributions]
    # A selection given to the build is in its key: the key alone decides, even when it installs no wheel at all.
    pinned = (plan.locked or request.selection is not None) or (
        is_pinned(plan.inputs.lines, request.pip_args.passthrough, installed) and not plan.inputs.remote_files
    )
    selection = plan.selection
    if not pinned and selection is None:
        try:
            selection = resolve(request.target, request.pip_args)
        except (PipFailedError, NotWheelFiles):
            return
    known = Known(plan.inputs.key, pinned, selection, result.to_json())
    try:
        with cache.locked(plan.root):
            if request.output is not None and result.zip is not None and plan.reused is None:
                entries.store_result(plan.root, known, request.output, result.zip.sha256)
            tree, zip_identity = tree_fingerprint(request.target_dir), _zip_identity(request.output)
            entries.write_stamp(plan.root, known, request.target_dir, request.output, tree, zip_identity)
        cache.prune_if_needed(plan.root)
    except OSError as error:
        log.warning("could not write to the build cache %s: %s", plan.root, error)
