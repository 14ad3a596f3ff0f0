"""Verify a package tree, zip or folder, for a Lambda target: lay it out, run every check, gather findings."""

from __future__ import annotations

import functools
import logging
import posixpath
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pip_lambda.archive.reader import open_zip
from pip_lambda.checks.findings import NO_DISTRIBUTION, Finding, Level, counts, errors, plural, table
from pip_lambda.checks.smoketest import ImportStatus, run_import_test, site_modules, top_level_modules
from pip_lambda.errors import UsageError, VerifyError
from pip_lambda.plan.layers import Layer, layer_findings
from pip_lambda.plan.layout import LAYER, layout_of
from pip_lambda.plan.request import VerifyOptions
from pip_lambda.plan.target import Target
from pip_lambda.tree.distributions import Distribution, find_distributions

if TYPE_CHECKING:
    from pip_lambda.checks.elf import ElfInfo

log = logging.getLogger(__name__)

KnownElfReader = Callable[[str, Path], "ElfInfo"]
"""Reads an ELF file given its path relative to the verified root and its path (cache/elfinfo.py)."""
OPT_LIB = "/opt/lib"
"""Where Lambda's LD_LIBRARY_PATH finds the libraries of every layer."""


@dataclass(frozen=True)
class VerifyResult:
    findings: tuple[Finding, ...]
    distributions: int
    files: int
    import_status: ImportStatus | None = None
    sites: tuple[str, ...] = field(default=())
    size: int = 0
    """Bytes of the package's files: what Lambda counts, with its layers, against the unzipped limit."""
    layers: tuple[str, ...] = ()
    """The layer zips it was verified with."""

    @property
    def ok(self) -> bool:
        return not errors(self.findings)


def site_folders(root: Path, target: Target, layer: bool) -> tuple[list[str], list[Finding]]:
    """The package's folders on Lambda's ``sys.path``, in Lambda's order, and findings on the layout."""
    if not layer:
        findings = []
        if not any(root.glob("*.dist-info")) and any((root / "python").glob("*.dist-info")):
            findings.append(
                Finding(
                    Level.WARNING,
                    "layout",
                    NO_DISTRIBUTION,
                    "python/",
                    "the distributions are under python/, as in a layer, but a function's code must be at the zip's root",
                    "pass --layer if this is a layer; for a function, build with 'pip-lambda install' (no --layer)",
                )
            )
        return [""], findings
    wanted = LAYER.site_packages(target.runtime.python_version)
    findings = []
    if not (root / "python").is_dir():
        findings.append(
            Finding(
                Level.ERROR,
                "layout",
                NO_DISTRIBUTION,
                "python/",
                "a layer without a python/ folder: Lambda adds only /opt/python and /opt/" + wanted + " to sys.path",
                "build the layer with 'pip-lambda install --layer', which puts everything under python/",
            )
        )
    for other in sorted((root / "python" / "lib").glob("python3.*/site-packages")):
        relative = other.relative_to(root).as_posix()
        if relative != wanted:
            findings.append(
                Finding(
                    Level.ERROR,
                    "layout",
                    NO_DISTRIBUTION,
                    relative + "/",
                    f"site-packages of another Python: {target.runtime.name} looks only in /opt/{wanted}",
                    f"build the layer for {target.runtime.name} (pip-lambda install --layer --runtime {target.runtime.name})",
                )
            )
    return list(LAYER.sys_path(target)), findings


def _files(root: Path) -> list[str]:
    return sorted(
        path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file() and not path.is_symlink()
    )


def _distributions(root: Path, sites: Sequence[str], known: Sequence[Distribution]) -> list[tuple[Distribution, str]]:
    """The distributions of each site; those ``known`` (read before a trim step removed RECORD) keep their file list."""
    before = {dist.dist_info: dist for dist in known}
    found: list[tuple[Distribution, str]] = []
    for site in sites:
        if (root / site).is_dir():
            found.extend((dist, site) for dist in find_distributions(root / site, before))
    return found


def _modules(root: Path, sites: Sequence[str], found: Sequence[tuple[Distribution, str]]) -> list[tuple[str, str]]:
    """(module, distribution) to import: each distribution's top-level modules, or a bare site's top-level entries."""
    modules = [(module, str(dist)) for dist, site in found for module in top_level_modules(root / site, dist)]
    for site in sites:
        if not any(where == site for _, where in found):
            modules.extend((module, NO_DISTRIBUTION) for module in site_modules(root / site))
    return modules


def verify_tree(
    root: Path,
    target: Target,
    layer: bool = False,
    options: VerifyOptions | None = None,
    distributions: Sequence[Distribution] = (),
    layers: Sequence[Layer] = (),
    elf: KnownElfReader | None = None,
) -> VerifyResult:
    """Every check on the package tree at ``root`` (function layout, or a layer with ``layer``).

    ``distributions`` are the ones the build read before trimming: their file
    lists stand in for RECORD files a trim step removed.  ``layers`` are the
    layers the package is deployed with: their libraries are found in
    ``/opt/lib``, the import test sees them at ``/opt`` as Lambda does, and a
    distribution both carry is a warning.  ``elf`` reads an ELF file given its
    path relative to ``root`` (one that knows the files laid out from the store).
    """
    options = options or VerifyOptions()
    # pyelftools loads only when a tree is verified: a no-op rebuild stays fast.
    from pip_lambda.checks import binaries, paths, sdk, tags
    from pip_lambda.checks.elf import read_elf

    sites, findings = site_folders(root, target, layer)
    found = _distributions(root, sites, distributions)
    files = _files(root)
    owners: dict[str, str] = {}
    for dist, site in found:
        for path in dist.files:
            owners[posixpath.normpath(posixpath.join(site, path))] = str(dist)
    for dist, site in found:
        dist_info = posixpath.join(site, dist.dist_info)
        wheel = root / dist_info / "WHEEL"
        if wheel.is_file():
            findings.extend(tags.check_wheel_tags(dist, dist_info, tags.read_wheel_tags(wheel), target))
        direct_url = root / dist_info / "direct_url.json"
        if direct_url.is_file():
            text = direct_url.read_text("utf-8", errors="replace")
            findings.extend(paths.check_direct_url(f"{dist_info}/direct_url.json", text, str(dist)))
    for site in sites:
        for pth in sorted((root / site).glob("*.pth")) if (root / site).is_dir() else []:
            path = pth.relative_to(root).as_posix()
            text = pth.read_text("utf-8", errors="replace")
            findings.extend(paths.check_pth(path, text, site, owners.get(path, NO_DISTRIBUTION)))
    findings.extend(sdk.check_sdk((dist, posixpath.join(site, dist.dist_info)) for dist, site in found))
    findings.extend(layer_findings(layers, [dist for dist, _ in found], target, layer=layer))
    library_dirs = layout_of(layer).library_dirs
    # The layers' libraries by their absolute paths: no file of the package can be named so.
    provided = {f"{OPT_LIB}/{name}" for each in layers for name in each.libraries}
    package = binaries.Package(
        frozenset(files) | provided,
        tuple(posixpath.normpath(folder) if folder else "" for folder in library_dirs) + ((OPT_LIB,) if layers else ()),
    )
    for path in files:
        read = functools.partial(elf, path) if elf is not None else read_elf
        findings.extend(
            binaries.check_binary(path, root / path, owners.get(path, NO_DISTRIBUTION), target, package, read)
        )
    status = None
    if options.import_test:
        modules = _modules(root, sites, found)
        status, failures = run_import_test(
            root, target, layer, sites, modules, handler=options.handler, python=options.python, layers=layers
        )
        findings.extend(failures)
    log.debug("verified %d files of %d distributions: %s", len(files), len(found), counts(findings))
    size = sum((root / path).stat().st_size for path in files)
    deployed = tuple(str(each.path) for each in layers)
    return VerifyResult(tuple(findings), len(found), len(files), status, tuple(sites), size, deployed)


def verify_path(
    path: Path,
    target: Target,
    layer: bool = False,
    options: VerifyOptions | None = None,
    layers: Sequence[Layer] = (),
) -> VerifyResult:
    """Verify a zip file or a folder, built by any tool; a zip is read defensively (archive.reader)."""
    if path.is_dir():
        return verify_tree(path, target, layer, options, layers=layers)
    if not path.exists():
        raise UsageError(f"{path} does not exist", hint="give the zip file or folder to verify")
    with open_zip(path) as archive, tempfile.TemporaryDirectory(prefix="pip-lambda-verify-") as scratch:
        archive.extract(Path(scratch))
        return verify_tree(Path(scratch), target, layer, options, layers=layers)


def verify_build(
    site_root: Path,
    target: Target,
    layer: bool,
    options: VerifyOptions,
    distributions: Sequence[Distribution] = (),
    layers: Sequence[Layer] = (),
    elf: KnownElfReader | None = None,
) -> tuple[Finding, ...]:
    """The verification step of ``install``: raise VerifyError on errors, return the warnings.

    ``distributions`` are those the trim step read while RECORD existed.  The
    warnings about ``layers`` come even with --no-verify: they are about what is deployed, not a check.
    """
    if not options.enabled:
        return tuple(layer_findings(layers, distributions, target, layer=layer))
    log.info("verifying the package for %s", target)
    result = verify_tree(site_root, target, layer, options, distributions, layers, elf)
    if not result.ok:
        raise VerifyError(
            f"the package would not load on {target}: {counts(result.findings)}",
            hint="see the findings above; --no-verify skips verification",
            detail=table(result.findings),
        )
    return result.findings


def summary(result: VerifyResult, path: Path, target: Target) -> str:
    checked = f"{plural(result.distributions, 'distribution')}, {plural(result.files, 'file')}"
    imported = ""
    if result.import_status is not None and result.import_status.ran:
        modules = plural(len(result.import_status.modules), "module")
        imported = f", import test of {modules} with {' '.join(result.import_status.interpreter)}"
    where = f"{path} for {target}" + (f" with {', '.join(result.layers)}" if result.layers else "")
    if not result.findings:
        return f"verify: no problems in {where} ({checked}{imported})"
    return f"verify: {counts(result.findings)} in {where} ({checked}{imported})"
