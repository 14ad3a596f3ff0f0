"""What the size analysis reads: a build's tree, a folder or a zip built by anyone, or a JSON report.

A zip or a folder is read once by :mod:`pip_lambda.archive.contents` (the
central directory and the small ``.dist-info`` members only, so a zip above
Lambda's limit can be measured too); a report carries the analysis of its build.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from pip_lambda.archive.contents import Contents, Source, read_contents, report_builds, source_of
from pip_lambda.cache.jsondata import Json, count, field, items, mapping, optional_text, text
from pip_lambda.errors import UsageError
from pip_lambda.pip.requirements import RequirementSet
from pip_lambda.plan.target import Target
from pip_lambda.report.size import CODE, AnalysedDistribution, Chains, PackageFile, Part, SizeAnalysis, analyse
from pip_lambda.tree.distributions import Distribution, read_metadata

if TYPE_CHECKING:
    from importlib.metadata import PackageMetadata

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
    """A folder, a zip or a JSON report, each package with a title; a UsageError for anything else.

    ``layer`` None detects a layer's layout.
    """
    if source_of(path) is Source.REPORT:
        return of_report(path)
    return [(f"{path} ({target})", of_contents(read_contents(path, layer=layer, checksums=False), target))]


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
    installed = []
    for dist in distributions:
        dist_info = f"{prefix}{dist.dist_info}/"
        listed = {prefix + path for path in dist.files} | {name for name in names if name.startswith(dist_info)}
        installed.append(_installed(dist.name, dist.version, listed, read_metadata(root / dist_info), prefix))
    files = [PackageFile(name, size, None if zipped is None else zipped.get(name, 0)) for name, size in sizes.items()]
    return analyse(files, installed, requested=requested, environment=target.marker_environment, zip_size=zip_size)


def of_contents(contents: Contents, target: Target) -> SizeAnalysis:
    """The analysis of a package built by any tool; the chains start at what nothing else requires."""
    files = [PackageFile(name, info.size, info.compressed_size) for name, info in contents.files.items()]
    installed = [
        _installed(dist.name, dist.version, dist.files, dist.metadata, dist.site) for dist in contents.distributions
    ]
    analysis = analyse(
        files, installed, requested=None, environment=target.marker_environment, zip_size=contents.zipped_size
    )
    guessed = [
        f"{dist.name}: no RECORD, so its files are guessed from its top-level names (top_level.txt, else its name)"
        for dist in contents.distributions
        if not dist.record
    ]
    return replace(analysis, notes=(*analysis.notes, *guessed))


def _installed(
    name: str, version: str, files: Iterable[str], metadata: PackageMetadata | None, site: str
) -> AnalysedDistribution:
    """A distribution as the analysis sees it: its files and what it requires."""
    requires = None if metadata is None else tuple(metadata.get_all("Requires-Dist") or ())
    extras = () if metadata is None else tuple(metadata.get_all("Provides-Extra") or ())
    return AnalysedDistribution(name, version, tuple(sorted(files)), requires, extras, site)


def of_report(path: Path) -> list[tuple[str, SizeAnalysis]]:
    """Each build of a pip-lambda JSON report with its size analysis, or what the report says without one."""
    builds = report_builds(path)
    try:
        return [(_title(path, build), _report_analysis(build)) for build in builds]
    except ValueError as error:  # Malformed, or a value the analysis cannot take
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
