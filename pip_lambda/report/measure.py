"""What the size analysis reads: a build's tree, a folder or a zip built by anyone, or a JSON report.

A zip is read with :mod:`pip_lambda.archive.reader`: its central directory
gives every member's sizes, and only the small ``.dist-info`` files the
analysis needs (METADATA, RECORD, top_level.txt) are streamed out, into a
scratch folder where the one RECORD and metadata reader reads them.  Nothing
else is unpacked, so a zip above Lambda's limit can be measured too.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from pip_lambda.archive.reader import Kind, ZipReader
from pip_lambda.cache.jsondata import Json, Malformed, count, field, items, mapping, optional_text, text
from pip_lambda.errors import UsageError
from pip_lambda.pip.requirements import RequirementSet
from pip_lambda.plan.target import Target
from pip_lambda.report.size import CODE, Chains, Installed, PackageFile, Part, SizeAnalysis, analyse
from pip_lambda.tree.distributions import Distribution, find_distributions, read_metadata
from pip_lambda.tree.staging import MARKER

_METADATA_FILES = ("METADATA", "RECORD", "top_level.txt")
_LARGEST_METADATA = 16 << 20
"""A METADATA or RECORD member larger than this is not read (no real one comes close)."""
_ANY_SIZE = 1 << 62
"""Measuring unpacks nothing but metadata, so a zip of any declared size may be measured."""

Requested = list[tuple[str, frozenset[str]]]


def requested_names(requirements: RequirementSet) -> Requested:
    """The distributions the build asks for by name (command line and ``-r`` files, not constraints), with extras."""
    found: Requested = []
    for line in requirements.requirements:
        try:
            requirement = Requirement(line.text)
            found.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
        except InvalidRequirement:
            try:  # a wheel named by its path
                found.append((parse_wheel_filename(Path(line.text).name)[0], frozenset()))
            except InvalidWheelFilename:
                continue
    return found


def of_path(path: Path, layer: bool | None, target: Target) -> list[tuple[str, SizeAnalysis]]:
    """A folder, a zip or a JSON report, each package with a title; a UsageError for anything else."""
    if path.is_dir():
        return [(f"{path} ({target})", of_folder(path, layer, target))]
    try:
        with path.open("rb") as handle:
            start = handle.read(64).lstrip()
    except OSError as error:
        raise UsageError(
            f"cannot read {path}: {error.strerror or error}", hint="give a zip, a folder or a report of pip-lambda"
        ) from None
    if start.startswith(b"{"):
        return of_report(path)
    if not start.startswith(b"PK"):
        raise UsageError(
            f"{path} is not a zip, a folder or a JSON report", hint="give a zip, a folder or a report of pip-lambda"
        )
    return [(f"{path} ({target})", of_zip(path, layer, target))]


def of_build(
    root: Path,
    prefix: str,
    sizes: Mapping[str, int],
    zipped: Mapping[str, int] | None,
    zip_size: int | None,
    distributions: Sequence[Distribution],
    requested: Requested | None,
    target: Target,
) -> SizeAnalysis:
    """The analysis of a build's tree at ``root``: ``sizes`` of its files, ``zipped`` their compressed sizes in the zip.

    ``prefix`` is where the distributions lie (``python/`` in a layer);
    ``distributions`` are those the build read while RECORD existed.
    """
    names = sorted(sizes)
    installed = [_installed(root, prefix, dist, names, guess=False) for dist in distributions]
    files = [PackageFile(name, size, None if zipped is None else zipped.get(name, 0)) for name, size in sizes.items()]
    return analyse(files, installed, requested=requested, environment=target.marker_environment, zip_size=zip_size)


def of_folder(root: Path, layer: bool | None, target: Target) -> SizeAnalysis:
    """The analysis of a package folder built by any tool; ``layer`` None detects a layer's layout."""
    files: list[PackageFile] = []
    for parent, folders, names in os.walk(root):
        folders.sort()
        relative = Path(parent).relative_to(root).as_posix()
        for name in sorted(names):
            path = Path(parent, name)
            if path.is_file() and not (relative == "." and name == MARKER):
                files.append(PackageFile(name if relative == "." else f"{relative}/{name}", path.stat().st_size))
    return _analysis(root, files, layer, target, None)


def of_zip(path: Path, layer: bool | None, target: Target) -> SizeAnalysis:
    """The analysis of a zip built by any tool, from its central directory and its metadata members alone."""
    with ZipReader(path, limit=_ANY_SIZE) as archive, tempfile.TemporaryDirectory(prefix="pip-lambda-size-") as scratch:
        members = [member for member in archive.members if member.kind is Kind.FILE]
        for member in members:
            parts = member.name.rsplit("/", 2)
            wanted = len(parts) >= 2 and parts[-2].endswith(".dist-info") and parts[-1] in _METADATA_FILES
            if wanted and member.size <= _LARGEST_METADATA:
                destination = Path(scratch, *member.name.split("/"))
                destination.parent.mkdir(parents=True, exist_ok=True)
                with destination.open("wb") as out:
                    for chunk in archive.stream(member):
                        out.write(chunk)
        files = [PackageFile(member.name, member.size, member.compressed_size) for member in members]
        return _analysis(Path(scratch), files, layer, target, path.stat().st_size)


def _analysis(
    base: Path, files: Sequence[PackageFile], layer: bool | None, target: Target, zip_size: int | None
) -> SizeAnalysis:
    """``base`` holds at least the metadata files of ``files`` (all of them for a folder, only those for a zip)."""
    names = sorted(item.path for item in files)
    if layer is None:
        layer = is_layer(names)
    installed: list[Installed] = []
    notes: list[str] = []
    for prefix in sites(names, layer):
        for dist in find_distributions(base / prefix) if (base / prefix).is_dir() else []:
            installed.append(_installed(base, prefix, dist, names, guess=True))
            if not (base / prefix / dist.dist_info / "RECORD").is_file():
                notes.append(f"{dist.name}: no RECORD, so its files are guessed from top_level.txt")
    analysis = analyse(files, installed, requested=None, environment=target.marker_environment, zip_size=zip_size)
    return replace(analysis, notes=(*analysis.notes, *notes))


def is_layer(names: Sequence[str]) -> bool:
    """A layer's layout: no distributions at the top, but some under ``python/``."""
    top = any(name.split("/")[0].endswith(".dist-info") for name in names)
    return not top and any(prefix != "" and _has_distributions(names, prefix) for prefix in sites(names, True))


def sites(names: Sequence[str], layer: bool) -> list[str]:
    """The folders on ``sys.path`` in a package with these file names, as Lambda orders them."""
    if not layer:
        return [""]
    found = sorted({"/".join(name.split("/")[:4]) + "/" for name in names if _in_site_packages(name)})
    return [*found, "python/"]


def _in_site_packages(name: str) -> bool:
    parts = name.split("/")
    return len(parts) > 4 and parts[:2] == ["python", "lib"] and parts[3] == "site-packages"


def _has_distributions(names: Sequence[str], prefix: str) -> bool:
    return any(name.startswith(prefix) and name[len(prefix) :].split("/")[0].endswith(".dist-info") for name in names)


def _installed(base: Path, prefix: str, dist: Distribution, names: Sequence[str], *, guess: bool) -> Installed:
    """A distribution as the analysis sees it: RECORD's files, its .dist-info, its requirements.

    With ``guess``, a distribution without RECORD gets the files under its top_level.txt names.
    """
    dist_info = f"{prefix}{dist.dist_info}/"
    listed = {prefix + path for path in dist.files}
    if guess and not (base / dist_info / "RECORD").is_file():
        listed |= _guessed(base / dist_info / "top_level.txt", prefix, names)
    listed.update(name for name in names if name.startswith(dist_info))
    metadata = read_metadata(base / dist_info)
    requires = None if metadata is None else tuple(metadata.get_all("Requires-Dist") or ())
    extras = () if metadata is None else tuple(metadata.get_all("Provides-Extra") or ())
    return Installed(dist.name, dist.version, tuple(sorted(listed)), requires, extras, prefix)


def _guessed(top_level: Path, prefix: str, names: Sequence[str]) -> set[str]:
    """Files under the top-level names a distribution declares: ``pkg/…``, ``pkg.py``, ``pkg.libs/…``."""
    if not top_level.is_file():
        return set()
    tops = top_level.read_text("utf-8", errors="replace").split()
    guessed = set()
    for name in names:
        first = name[len(prefix) :].split("/")[0] if name.startswith(prefix) else ""
        if any(first == top or first.startswith(top + ".") for top in tops):
            guessed.add(name)
    return guessed


def of_report(path: Path) -> list[tuple[str, SizeAnalysis]]:
    """Each build of a pip-lambda JSON report with its size analysis, or what the report says without one."""
    try:
        document = json.loads(path.read_bytes())
        if field(document, "report_version") != 1:
            raise Malformed("a report of another version")
        return [(_title(path, build), _report_analysis(build)) for build in items(field(document, "builds"))]
    except (ValueError, RecursionError) as error:
        raise UsageError(
            f"{path} is not a pip-lambda JSON report this version reads ({error})",
            hint="give a zip, a folder, or a report written by 'pip-lambda install --report'",
        ) from None


def _title(path: Path, build: Json) -> str:
    runtime = text(field(mapping(field(build, "runtime")), "name"))
    name = optional_text(field(build, "name"))
    return f"{path}{', ' + name if name else ''} ({runtime} {text(field(build, 'arch'))})"


def _report_analysis(build: Json) -> SizeAnalysis:
    entry = mapping(build)
    if "size" in entry:
        return SizeAnalysis.from_json(entry["size"])
    zipped = field(field(build, "outputs"), "zip")
    total = count(field(build, "unpacked_size"))
    parts = []
    for item in items(field(build, "distributions")):
        size = count(field(item, "unpacked_size"))
        parts.append(
            Part(
                text(field(item, "name")),
                text(field(item, "version")),
                len(items(field(item, "files"))),
                size,
                None,
                None,
            )
        )
    code = total - sum(part.unzipped for part in parts)
    if code > 0:
        parts.append(
            Part(CODE, None, max(count(field(build, "file_count")) - sum(p.files for p in parts), 0), code, None, None)
        )
    return SizeAnalysis(
        total,
        None if zipped is None else count(field(zipped, "size")),
        tuple(sorted(parts, key=lambda part: (-part.unzipped, part.name))),
        (),
        Chains.UNKNOWN,
        (
            "the report has no size analysis (written before pip-lambda had one): chains, shares of the zip and the largest files are not known",
        ),
    )
