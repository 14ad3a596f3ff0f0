"""A content-addressed store of wheels as pip unpacked them, shared by every build and project.

Each distribution of pip's resolution is known by the sha256 of the wheel pip
chose.  The wheels not yet in the store are installed by pip itself, in one run
(``--no-deps``, exact pins with their hashes), into a scratch folder that is
then split by each distribution's RECORD into ``wheels/<sha256>/``, with a
checksummed manifest of every file (sha256, size, exec bit).  A build then
copies the distributions it needs from the store into its staging folder,
checking every file against the manifest while it copies, so the tree is the
one pip would have written.  Files are hashed and copied in fixed-size pieces,
so memory stays flat whatever the size of a member.  An entry whose manifest or
files are damaged is removed and unpacked again; whenever something does not
fit (a distribution without a hash, files no RECORD claims, two distributions
writing the same file), the caller falls back to a plain ``pip install``.  The
entries a build added are removed again when that build fails (:func:`discard`).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pip_lambda.cache import jsondata
from pip_lambda.cache.jsondata import Json, Malformed, count, field, flag, items, mapping, sha256_hex
from pip_lambda.cache.request import CacheRequest
from pip_lambda.cache.storage import (
    BUFFER,
    MANIFEST,
    WHEEL,
    file_sha256,
    new_folder,
    publish,
    remove_item,
    touch,
)
from pip_lambda.pip.args import PipArgs
from pip_lambda.pip.requirements import RequirementSet, files_looks
from pip_lambda.pip.resolve import NotWheelFiles, read_report, resolve
from pip_lambda.pip.run import install_command, pip_environment, run_pip
from pip_lambda.plan.selection import Selection, Wheel
from pip_lambda.tree.paths import confined
from pip_lambda.tree.records import read_record

log = logging.getLogger(__name__)


class StoreMiss(Exception):
    """The store cannot reproduce pip's tree for this build; install with pip instead."""


@dataclass(frozen=True)
class Member:
    """One file of a wheel as pip unpacked it."""

    sha256: str
    size: int
    executable: bool


def entry_folder(root: Path, sha256: str) -> Path:
    return root / "wheels" / sha256


def read_manifest(root: Path, sha256: str) -> dict[str, Member] | None:
    """The files of the stored wheel ``sha256``; None when the entry is missing or its manifest damaged."""
    body = jsondata.read(entry_folder(root, sha256) / MANIFEST, WHEEL)
    try:
        if field(body, "wheel") != sha256:
            return None
        count(field(body, "bytes"))
        return {_member_name(name): _member(row) for name, row in mapping(field(body, "files")).items()}
    except Malformed:
        return None


def _member_name(name: str) -> str:
    if confined(name) != name:
        raise Malformed(f"{name!r} is not a plain relative path")
    return name


def _member(row: Json) -> Member:
    values = items(row)
    if len(values) != 3:
        raise Malformed(f"{row!r} is not a manifest row")
    return Member(sha256_hex(values[0]), count(values[1]), flag(values[2]))


def _usable(root: Path, pick: Wheel) -> bool:
    """True when the store holds ``pick`` whole; a damaged entry is removed, so it can be unpacked again."""
    if read_manifest(root, pick.sha256) is not None:
        return True
    folder = entry_folder(root, pick.sha256)
    if folder.exists():
        log.warning("the cached files of %s are damaged; unpacking it again", pick.name)
        remove_item(folder)
    return False


def _fill_options(pip_args: PipArgs, found: RequirementSet, scratch: Path) -> list[str]:
    """pip's arguments without requirements, and where the requirement files tell pip to look (a file in ``scratch``)."""
    return [*pip_args.without_requirements(), *files_looks(found, scratch)]


def _pin(pick: Wheel) -> str:
    """The file pip chose, by URL when it is known in full: pip then fetches no index page again."""
    by_url = pick.direct or (pick.url.startswith(("https://", "http://", "file://")) and "***@" not in pick.url)
    spec = f"{pick.name} @ {pick.url}" if by_url else f"{pick.name}=={pick.version}"
    return f"{spec} --hash=sha256:{pick.sha256}"


def _claims(site: Path, picks: Sequence[Wheel]) -> dict[str, list[str]]:
    """sha256 of each wheel → the files it owns in ``site``; StoreMiss when the split is not exact."""
    by_name = {pick.name: pick for pick in picks}
    from packaging.utils import canonicalize_name

    claims: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for dist_info in site.glob("*.dist-info"):
        pick = by_name.get(canonicalize_name(dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0]))
        if pick is None:
            raise StoreMiss(f"{dist_info.name} is not in pip's resolution")
        files = list(read_record(dist_info).paths)
        for path in files:
            if path in owner or not (site / path).is_file():
                raise StoreMiss(f"{path} is claimed twice or missing")
            owner[path] = pick.sha256
        claims[pick.sha256] = files
    on_disk = {path.relative_to(site).as_posix() for path in site.rglob("*") if path.is_file() or path.is_symlink()}
    if on_disk != set(owner) or set(claims) != {pick.sha256 for pick in picks}:
        raise StoreMiss("pip's tree and the distributions' RECORD files do not match")
    return claims


def _publish_entry(root: Path, sha256: str, site: Path, files: Sequence[str], added: list[str]) -> None:
    """Move a wheel's files from pip's scratch tree into the store, hashing each in pieces."""
    folder = new_folder(root / "wheels")
    manifest: dict[str, Json] = {}
    total = 0
    for name in files:
        source = site / name
        info = source.stat()
        manifest[name] = [file_sha256(source), info.st_size, bool(info.st_mode & 0o111)]
        total += info.st_size
        landing = folder / name
        landing.parent.mkdir(parents=True, exist_ok=True)
        source.replace(landing)
    jsondata.write(folder / MANIFEST, WHEEL, {"wheel": sha256, "files": manifest, "bytes": total})
    if publish(folder, entry_folder(root, sha256)):
        added.append(sha256)


def fill(root: Path, request: CacheRequest, picks: Sequence[Wheel], found: RequirementSet, added: list[str]) -> None:
    """Unpack, with pip, every picked wheel the store does not have yet; ``added`` gets their sha256."""
    missing = [pick for pick in picks if not _usable(root, pick)]
    if not missing:
        return
    (root / "wheels").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".tmp-fill-", dir=root / "wheels") as scratch:
        pins = Path(scratch, "pins.txt")
        pins.write_text("".join(f"{_pin(pick)}\n" for pick in missing), "utf-8")
        site = Path(scratch, "site")
        options = [*_fill_options(request.pip_args, found, Path(scratch)), "--no-deps", "-r", str(pins)]
        command = install_command(request.target, site, options, request.pip_args.platforms)
        log.info("installing %d new distribution(s) with pip: %s", len(missing), ", ".join(p.name for p in missing))
        run_pip(command, pip_environment(request.target), stream=request.verbose)
        for sha256, files in _claims(site, missing).items():
            _publish_entry(root, sha256, site, files, added)


def is_empty(root: Path) -> bool:
    folder = root / "wheels"
    return not folder.is_dir() or not any(not item.name.startswith(".tmp-") for item in folder.iterdir())


def resolve_or_install(root: Path, request: CacheRequest, added: list[str]) -> Selection:
    """pip's resolution; on an empty store, got from one real install that also fills the store.

    With nothing to reuse, a dry run followed by an install would ask the index
    everything twice; one ``pip install --report`` resolves, downloads and
    unpacks in a single pass, as the manual method does.
    """
    if not is_empty(root):
        try:
            return resolve(request.target, request.pip_args)
        except NotWheelFiles as why:
            raise StoreMiss(str(why)) from None
    (root / "wheels").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".tmp-fill-", dir=root / "wheels") as scratch:
        report, site = Path(scratch, "report.json"), Path(scratch, "site")
        extra = [*request.pip_args.passthrough, "--report", str(report)]
        command = install_command(request.target, site, extra, request.pip_args.platforms)
        log.info("installing for %s with pip", request.target)
        run_pip(command, pip_environment(request.target), stream=request.verbose)
        try:
            selection = read_report(report)
        except NotWheelFiles as why:
            raise StoreMiss(str(why)) from None
        for sha256, files in _claims(site, selection.wheels).items():
            if read_manifest(root, sha256) is None:
                _publish_entry(root, sha256, site, files, added)
    return selection


def assemble(root: Path, picks: Sequence[Wheel], site: Path) -> None:
    """Copy the picked distributions from the store into ``site``, each file checked against the manifest."""
    for pick in picks:
        folder = entry_folder(root, pick.sha256)
        manifest = read_manifest(root, pick.sha256)
        if manifest is None:
            raise StoreMiss(f"{pick.name} vanished from the store")
        for name, member in manifest.items():
            landing = site / name
            if landing.exists():
                raise StoreMiss(f"{name} is provided by two distributions")
            landing.parent.mkdir(parents=True, exist_ok=True)
            if not _copy_checked(folder / name, landing, member):
                log.warning("the cached files of %s are damaged; unpacking it again", pick.name)
                remove_item(folder)
                raise StoreMiss(f"{folder / name} does not match its checksum")
            if member.executable:
                landing.chmod(0o755)
        touch(folder / MANIFEST)


def _copy_checked(source: Path, landing: Path, member: Member) -> bool:
    """Copy in pieces while hashing; False when the copy is not the file the manifest describes."""
    digest, size = hashlib.sha256(), 0
    try:
        with open(source, "rb") as reader, open(landing, "xb") as writer:
            while chunk := reader.read(BUFFER):
                digest.update(chunk)
                writer.write(chunk)
                size += len(chunk)
                if size > member.size:
                    return False
    except OSError:  # a member gone, or a folder in its place
        return False
    return size == member.size and digest.hexdigest() == member.sha256


def discard(root: Path | None, added: Sequence[str]) -> None:
    """Remove the entries a failed build added: a build that fails leaves nothing behind in the store."""
    if root is None:
        return
    for sha256 in added:
        remove_item(entry_folder(root, sha256))
