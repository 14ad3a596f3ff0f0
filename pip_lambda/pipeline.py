"""One build: pip into a fresh staging folder, clean it, add code, check sizes, zip, put both in place together."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from pip_lambda.archive import container
from pip_lambda.archive.writer import (
    Entry,
    RawSource,
    ZipResult,
    collect_entries,
    with_raw_sources,
    write_temporary_zip,
    zip_time,
)
from pip_lambda.cache import reuse, store
from pip_lambda.cache.elfinfo import KnownElf
from pip_lambda.cache.store import StoredFile
from pip_lambda.checks.verify import verify_build
from pip_lambda.errors import UsageError, from_os_error
from pip_lambda.install import install, own_store, with_wheels
from pip_lambda.lock.install import installs_anything, with_locked_lines
from pip_lambda.pip.requirements import RequirementSet, empty_warning, read_pip_args
from pip_lambda.plan.layers import Layer, read_layers
from pip_lambda.plan.limits import check_unzipped, image_warning, measure_savings, zipped_warning
from pip_lambda.plan.request import BuildRequest
from pip_lambda.report.measure import of_build, requested_names
from pip_lambda.report.size import SizeAnalysis
from pip_lambda.result import BuildResult, Reused
from pip_lambda.system.locks import target_lock, zip_locks
from pip_lambda.system.pausing import pause_point
from pip_lambda.system.signals import shielded
from pip_lambda.tree.clean import clean_site
from pip_lambda.tree.code import add_code, check_code_paths
from pip_lambda.tree.distributions import Distribution
from pip_lambda.tree.journal import NewZip
from pip_lambda.tree.outputs import check_output
from pip_lambda.tree.replace import discard, output_of_pending, put_in_place, recover
from pip_lambda.tree.staging import JOURNAL, MARKER, check_target, clean_debris, clean_zip_debris, create_staging
from pip_lambda.trim.bytecode import compile_interpreter
from pip_lambda.trim.exclude import compile_patterns
from pip_lambda.trim.steps import trim

log = logging.getLogger(__name__)


def check_request(request: BuildRequest) -> RequirementSet:
    """Refuse bad input before anything is written."""
    if not request.pip_args.has_requirements and not request.code and request.selection is None:
        raise UsageError("nothing to install", hint="give requirements, -r requirements.txt, or --code PATH")
    check_target(request.target_dir, request.code, request.output)
    if request.output is not None:
        check_output(request.output, request.target_dir)
    found = with_locked_lines(read_pip_args(request.pip_args), request)
    check_code_paths(request.code, request.target_dir, request.output)
    if request.trim.exclude:
        compile_patterns(request.trim.exclude)
    if request.trim.compile:
        compile_interpreter(request.target, request.trim.python)
    if request.output is not None:
        zip_time()  # a bad SOURCE_DATE_EPOCH fails now, not after pip
    return found


def build(request: BuildRequest) -> BuildResult:
    """Run the whole build; the previous target and zip stay untouched unless it succeeds.

    One build at a time per target (others wait); a disk or permission failure
    becomes an EnvironmentProblem.
    """
    found = check_request(request)
    layers = with_layers(request)
    try:
        with target_lock(request.target_dir):
            pending = output_of_pending(request.target_dir)
            outputs = [path for path in (request.output, pending) if path is not None]
            with zip_locks(outputs):
                _settle(request.target_dir, outputs)
                return _locked_build(request, found, layers)
    except OSError as error:
        raise from_os_error(error) from None


def with_layers(request: BuildRequest) -> tuple[Layer, ...]:
    """The --with-layer zips, read before anything is written; layers alone above the limit fail before pip runs."""
    for path in request.with_layers:
        settle_pending(path)
    layers = read_layers(request.with_layers, request.target, [request.output] if request.output else [])
    check_unzipped(0, (), layers)
    return layers


def settle_pending(path: Path) -> None:
    """Before ``path`` (a target folder or a zip beside it) is read: finish or undo a replacement a killed build left."""
    for journal in path.parent.glob(f".*{JOURNAL}"):
        target = journal.with_name(journal.name[1 : -len(JOURNAL)])
        output = output_of_pending(target)
        if path.resolve() not in (target.resolve(), output.resolve() if output is not None else None):
            continue
        try:
            with target_lock(target), zip_locks([output] if output is not None else []):
                recover(target)
        except OSError as error:
            raise from_os_error(error) from None


def _settle(target_dir: Path, outputs: list[Path]) -> None:
    """What an interrupted build left: its replacement finished or undone, then its debris removed."""
    recover(target_dir)
    clean_debris(target_dir)
    for output in outputs:
        clean_zip_debris(output)
    pause_point("locked")


def _locked_build(request: BuildRequest, found: RequirementSet, layers: tuple[Layer, ...]) -> BuildResult:
    started = time.perf_counter()
    plan = reuse.prepare(request, found)
    if plan.reused is not None:
        return _reused(plan.reused, plan, started, layers)
    timings: dict[str, float] = {}
    warnings: list[str] = []
    empty = empty_warning(found, request.code)
    if empty:
        warnings.append(empty)
    staging = create_staging(request.target_dir)
    new_zip = None
    added: list[str] = []  # wheels this build adds to the cache's store, removed again if it fails
    own = own_store(request, plan)
    wheels = Path(own.name) if own is not None else plan.root
    try:
        site = staging / (container.PACKAGE if request.container else request.layout.site)
        site.mkdir(exist_ok=True)
        stored: dict[str, StoredFile] = {}
        if installs_anything(request):
            assert wheels is not None
            plan, stored = install(request, site, plan, found, wheels, added)
            log.debug("%d files laid out from the wheel store", len(stored))
        timings["pip"] = time.perf_counter() - started
        warnings.extend(clean_site(site))
        add_code(request.code, site)
        trimmed = trim(site, request.trim, request.target, found, request.layout.origin)
        warnings.extend(trimmed.warnings)
        distributions = with_wheels(trimmed.distributions, plan.selection)
        raw = {name: RawSource(laid.wheel, laid.member) for name, laid in stored.items() if laid.member is not None}
        entries = _zip_entries(staging, site, raw)
        sizes = {entry.name: entry.source.stat().st_size for entry in entries if entry.source is not None}
        unzipped = sum(sizes.values())
        _check_size(request, unzipped, site, distributions, found, warnings, layers)
        root = site if request.container else staging
        elf = KnownElf(stored, site, _prefix(root, site), keep=own is None)
        findings = verify_build(root, request.target, request.layer, request.verify, distributions, layers, elf)
        elf.save()
        warnings.extend(str(finding) for finding in findings)
        zip_result = None
        if request.output is not None:
            mark = time.perf_counter()
            log.info("writing %s", request.output)
            temporary, zip_result = write_temporary_zip(entries, request.output)
            new_zip = NewZip(temporary, request.output, zip_result.size, zip_result.sha256)
            timings["zip"] = time.perf_counter() - mark
            warning = zipped_warning(zip_result.size)
            if warning:
                warnings.append(warning)
        if request.container:
            container.write_context(staging, request.target, request.verify.handler)
        size = _analysis(request, staging, site, sizes, zip_result, distributions, found)
    except BaseException:
        with shielded():
            discard(staging, new_zip)
            store.discard(plan.root if own is None else None, added)
        raise
    finally:
        if own is not None:
            own.cleanup()
    put_in_place(request.target_dir, staging, request.output, new_zip)
    timings["total"] = time.perf_counter() - started
    files = sum(1 for entry in entries if entry.source is not None)
    trimmed_or_none = trimmed if request.trim.active else None
    result = BuildResult(
        request,
        distributions,
        files,
        unzipped,
        zip_result,
        tuple(warnings),
        timings,
        trimmed_or_none,
        findings=findings,
        layers=layers,
        size=size,
    )
    reuse.remember(plan, result)
    return result


def _zip_entries(staging: Path, site: Path, raw: Mapping[str, RawSource]) -> list[Entry]:
    """The zip's members; a file that is still byte for byte a deflated wheel member (``raw``, by path in the
    site) has that member's compressed bytes copied into the zip instead of being compressed again."""
    prefix = "" if site == staging else f"{site.relative_to(staging).as_posix()}/"
    return with_raw_sources(collect_entries(staging, exclude=(MARKER,)), raw, prefix)


def _check_size(
    request: BuildRequest,
    unzipped: int,
    site: Path,
    distributions: Sequence[Distribution],
    found: RequirementSet,
    warnings: list[str],
    layers: Sequence[Layer],
) -> None:
    """A zip must fit Lambda's 250 MB with its layers (the error says what would fit); a container image has 10 GB."""
    if request.container:
        warning = image_warning(unzipped)
        if warning:
            warnings.append(warning)
        return
    check_unzipped(
        unzipped,
        distributions,
        layers,
        lambda: measure_savings(site, distributions, request.target, found, request.trim),
    )


def _analysis(
    request: BuildRequest,
    staging: Path,
    site: Path,
    sizes: Mapping[str, int],
    zip_result: ZipResult | None,
    distributions: Sequence[Distribution],
    found: RequirementSet,
) -> SizeAnalysis:
    """Why the package is big; chains start at the requirements, or, for a lock (--no-deps), at what nothing requires."""
    prefix = _prefix(staging, site)
    # A lock (or --no-deps) lists everything flat: chains then start at what nothing else requires.
    locked = request.pip_args.no_deps or request.selection is not None
    requested = None if locked else requested_names(found)
    zipped = None if zip_result is None else {member.name: member.compressed for member in zip_result.members}
    zip_size = None if zip_result is None else zip_result.size
    return of_build(staging, prefix, sizes, zipped, zip_size, distributions, requested, request.target)


def _reused(earlier: BuildResult, plan: reuse.Plan, started: float, layers: tuple[Layer, ...]) -> BuildResult:
    """The result of an earlier identical build, left in place or restored from the cache.

    The key holds the layers' contents, so the earlier build was checked with these same layers.
    """
    result = replace(earlier, timings={"total": time.perf_counter() - started}, layers=layers)
    if result.reused is not Reused.UP_TO_DATE:
        reuse.remember(plan, result)
    return result


def _prefix(root: Path, site: Path) -> str:
    """The site's path from ``root`` (``python/`` for a layer), as verification names files."""
    return "" if site == root else site.relative_to(root).as_posix() + "/"
