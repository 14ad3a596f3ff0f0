"""A content-addressed store of wheels as pip unpacked them, shared by every build and project.

Each distribution of pip's resolution is known by the sha256 of the wheel pip
chose.  The wheels not yet in the store are installed by pip itself, in one run
(``--no-deps``, exact pins with their hashes), into a scratch folder that is
then split by each distribution's RECORD into ``wheels/<sha256>/``.  A build
then copies the distributions it needs from the store into its staging folder,
checking every file against the store's manifest, so the tree is the one pip
would have written.  Whenever something does not fit (a distribution without a
hash, files no RECORD claims, two distributions writing the same file, a
damaged entry), the caller falls back to a plain ``pip install``.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pip_lambda.cache.storage import new_folder, publish, read_json, touch, write_json_atomic
from pip_lambda.pip.args import PipArgs
from pip_lambda.pip.requirements import RequirementSet, files_looks
from pip_lambda.pip.resolve import Pick, read_report, resolve
from pip_lambda.pip.run import install_command, pip_environment, run_pip
from pip_lambda.tree.records import read_record

log = logging.getLogger(__name__)

MANIFEST = ".manifest.json"


class StoreMiss(Exception):
    """The store cannot reproduce pip's tree for this build; install with pip instead."""


def entry_folder(root: Path, sha256: str) -> Path:
    return root / "wheels" / sha256


def has(root: Path, pick: Pick) -> bool:
    return pick.sha256 is not None and (entry_folder(root, pick.sha256) / MANIFEST).is_file()


def _fill_options(pip_args: PipArgs, found: RequirementSet, scratch: Path) -> list[str]:
    """pip's arguments without requirements, and where the requirement files tell pip to look (a file in ``scratch``)."""
    return [*pip_args.without_requirements(), *files_looks(found, scratch)]


def _pin(pick: Pick) -> str:
    """The file pip chose, by URL when it is known in full: pip then fetches no index page again."""
    by_url = pick.direct or (pick.url.startswith(("https://", "http://", "file://")) and "***@" not in pick.url)
    spec = f"{pick.name} @ {pick.url}" if by_url else f"{pick.name}=={pick.version}"
    return f"{spec} --hash=sha256:{pick.sha256}"


def _claims(site: Path, picks: Sequence[Pick]) -> dict[str, list[str]]:
    """sha256 of each wheel → the files it owns in ``site``; StoreMiss when the split is not exact."""
    by_name = {pick.name: pick for pick in picks}
    from packaging.utils import canonicalize_name

    claims: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for dist_info in site.glob("*.dist-info"):
        pick = by_name.get(canonicalize_name(dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0]))
        if pick is None or pick.sha256 is None:
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


def _publish_entry(root: Path, sha256: str, site: Path, files: Sequence[str]) -> None:
    folder = new_folder(root / "wheels")
    manifest: dict[str, list[Any]] = {}
    total = 0
    for name in files:
        source = site / name
        data = source.read_bytes()
        landing = folder / name
        landing.parent.mkdir(parents=True, exist_ok=True)
        source.replace(landing)
        manifest[name] = [hashlib.sha256(data).hexdigest(), len(data), bool(landing.stat().st_mode & 0o111)]
        total += len(data)
    write_json_atomic(folder / MANIFEST, {"files": manifest, "bytes": total})
    publish(folder, entry_folder(root, sha256))


def fill(root: Path, request: Any, picks: Sequence[Pick], found: RequirementSet) -> None:
    """Unpack, with pip, every picked wheel the store does not have yet."""
    missing = [pick for pick in picks if not has(root, pick)]
    if any(pick.sha256 is None for pick in picks):
        raise StoreMiss("a distribution comes from a folder or a VCS checkout, without a wheel hash")
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
        run_pip(command, pip_environment(request.target), stream=request.verbosity > 0)
        for sha256, files in _claims(site, missing).items():
            _publish_entry(root, sha256, site, files)


def is_empty(root: Path) -> bool:
    folder = root / "wheels"
    return not folder.is_dir() or not any(not item.name.startswith(".tmp-") for item in folder.iterdir())


def resolve_or_install(root: Path, request: Any) -> tuple[Pick, ...]:
    """pip's resolution; on an empty store, got from one real install that also fills the store.

    With nothing to reuse, a dry run followed by an install would ask the index
    everything twice; one ``pip install --report`` resolves, downloads and
    unpacks in a single pass, as the manual method does.
    """
    if not is_empty(root):
        return resolve(request)
    (root / "wheels").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".tmp-fill-", dir=root / "wheels") as scratch:
        report, site = Path(scratch, "report.json"), Path(scratch, "site")
        extra = [*request.pip_args.passthrough, "--report", str(report)]
        command = install_command(request.target, site, extra, request.pip_args.platforms)
        log.info("installing for %s with pip", request.target)
        run_pip(command, pip_environment(request.target), stream=request.verbosity > 0)
        picks = read_report(report)
        if any(pick.sha256 is None for pick in picks):
            raise StoreMiss("a distribution comes from a folder or a VCS checkout, without a wheel hash")
        for sha256, files in _claims(site, picks).items():
            if not (entry_folder(root, sha256) / MANIFEST).is_file():
                _publish_entry(root, sha256, site, files)
    return picks


def assemble(root: Path, picks: Sequence[Pick], site: Path) -> None:
    """Copy the picked distributions from the store into ``site``, each file checked against the manifest."""
    for pick in picks:
        assert pick.sha256 is not None
        folder = entry_folder(root, pick.sha256)
        manifest = read_json(folder / MANIFEST)
        if manifest is None:
            raise StoreMiss(f"{pick.name} vanished from the store")
        for name, (digest, size, executable) in manifest["files"].items():
            data = (folder / name).read_bytes()
            if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
                log.warning("the cached files of %s are damaged; unpacking it again", pick.name)
                shutil.rmtree(folder, ignore_errors=True)
                raise StoreMiss(f"{folder / name} does not match its checksum")
            landing = site / name
            if landing.exists():
                raise StoreMiss(f"{name} is provided by two distributions")
            landing.parent.mkdir(parents=True, exist_ok=True)
            landing.write_bytes(data)
            if executable:
                landing.chmod(0o755)
        touch(folder / MANIFEST)
