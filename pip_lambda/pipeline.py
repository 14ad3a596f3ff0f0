"""One build: pip into a fresh staging folder, clean it, add code, check sizes, zip, put both in place together."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from pip_lambda.archive.writer import collect_entries, write_temporary_zip, zip_time
from pip_lambda.cache import reuse, store
from pip_lambda.cache.storage import locked
from pip_lambda.checks.verify import verify_build
from pip_lambda.errors import PipFailedError, UsageError, from_os_error
from pip_lambda.pip import failures
from pip_lambda.pip.requirements import RequirementSet, empty_warning, looks_arguments, read_pip_args
from pip_lambda.pip.run import install_command, pip_environment, run_pip
from pip_lambda.pip.sdists import SdistOnlyError, allows, build_wheel
from pip_lambda.plan.limits import check_unzipped, zipped_warning
from pip_lambda.plan.request import BuildRequest
from pip_lambda.result import BuildResult, Reused
from pip_lambda.system.locks import target_lock, zip_locks
from pip_lambda.system.pausing import pause_point
from pip_lambda.system.signals import shielded
from pip_lambda.tree.clean import clean_site
from pip_lambda.tree.code import add_code, check_code_paths
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
    if not request.pip_args.has_requirements and not request.code:
        raise UsageError("nothing to install", hint="give requirements, -r requirements.txt, or --code PATH")
    check_target(request.target_dir, allow_outside_project=request.allow_outside_project)
    if request.output is not None:
        check_output(request.output, request.target_dir)
    found = read_pip_args(request.pip_args)
    check_code_paths(request.code, request.target_dir, request.output)
    compile_patterns(request.trim.exclude)
    if request.trim.compile:
        compile_interpreter(request.target, request.trim.python)
    if request.output is not None:
        zip_time()  # a bad SOURCE_DATE_EPOCH fails now, not after pip
    return found


def _install(
    request: BuildRequest, site: Path, wheelhouse: Path, plan: reuse.Plan, found: RequirementSet, added: list[str]
) -> reuse.Plan:
    """Assemble the site from the wheel store when possible, else let pip install everything.

    Only a store miss falls back to pip: a pip failure is explained, never run again.  ``added``
    gets the wheels this build adds to the store.
    """
    root, inputs = plan.root, plan.inputs
    if root is not None and inputs is not None and not request.refresh:
        try:
            if plan.selection is None:
                plan = replace(plan, selection=store.resolve_or_install(root, inputs.request, added))
            assert plan.selection is not None
            with locked(root):
                store.fill(root, inputs.request, plan.selection.wheels, found, added)
                store.assemble(root, plan.selection.wheels, site)
            return plan
        except (store.StoreMiss, OSError) as why:
            log.debug("installing with pip directly: %s", why)
            _empty(site)
        except PipFailedError as failure:
            _empty(site)
            _install_with_pip(request, site, wheelhouse, found, failure)
            return plan
    _install_with_pip(request, site, wheelhouse, found)
    return plan


def _empty(site: Path) -> None:
    for child in site.iterdir():
        if child.name == MARKER:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _install_with_pip(
    request: BuildRequest, site: Path, wheelhouse: Path, found: RequirementSet, failure: PipFailedError | None = None
) -> None:
    """pip install (unless ``failure`` says how it already failed); a failure is explained by one probe.

    An sdist-only requirement allowed by --allow-sdist is built into ``wheelhouse`` and pip is run again.
    """
    environment = pip_environment(request.target)
    passthrough = list(request.pip_args.passthrough)
    built: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="pip-lambda-looks-") as scratch:
        looks = looks_arguments(request.pip_args, found, Path(scratch))
        while True:
            if failure is None:
                command = install_command(request.target, site, passthrough, request.pip_args.platforms)
                log.info("installing for %s with pip", request.target)
                try:
                    run_pip(command, environment, stream=request.verbosity > 0)
                    return
                except PipFailedError as error:
                    failure = error
            explained = failures.explain(failure, request.target, looks, environment)
            if not isinstance(explained, SdistOnlyError) or not allows(request.allow_sdist, explained.name):
                raise explained from None
            if explained.name in built:
                raise explained from None
            build_wheel(explained, request.target, looks, environment, wheelhouse, stream=request.verbosity > 0)
            if not built:
                passthrough += ["--find-links", str(wheelhouse)]
            built.add(explained.name)
            failure = None


def build(request: BuildRequest) -> BuildResult:
    """Run the whole build; the previous target and zip stay untouched unless it succeeds.

    One build at a time per target (others wait); a disk or permission failure
    becomes an EnvironmentProblem.
    """
    found = check_request(request)
    try:
        with target_lock(request.target_dir):
            pending = output_of_pending(request.target_dir)
            outputs = [path for path in (request.output, pending) if path is not None]
            with zip_locks(outputs):
                _settle(request.target_dir, outputs)
                return _locked_build(request, found)
    except OSError as error:
        raise from_os_error(error) from None


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


def _locked_build(request: BuildRequest, found: RequirementSet) -> BuildResult:
    started = time.perf_counter()
    plan = reuse.prepare(request, found)
    if plan.reused is not None:
        return _reused(plan.reused, plan, started)
    timings: dict[str, float] = {}
    warnings: list[str] = []
    empty = empty_warning(found, request.code)
    if empty:
        warnings.append(empty)
    staging = create_staging(request.target_dir)
    new_zip = None
    added: list[str] = []  # wheels this build adds to the store, removed again if it fails
    try:
        site = staging / "python" if request.layer else staging
        site.mkdir(exist_ok=True)
        if request.pip_args.has_requirements:
            with tempfile.TemporaryDirectory(prefix="pip-lambda-wheels-") as wheelhouse:
                plan = _install(request, site, Path(wheelhouse), plan, found, added)
        timings["pip"] = time.perf_counter() - started
        warnings.extend(clean_site(site))
        add_code(request.code, site)
        trimmed = trim(site, request.trim, request.target, found, _origin(request))
        warnings.extend(trimmed.warnings)
        distributions = trimmed.distributions
        entries = collect_entries(staging, exclude=(MARKER,))
        unzipped = sum(entry.source.stat().st_size for entry in entries if entry.source is not None)
        check_unzipped(unzipped, distributions)
        findings = verify_build(staging, request.target, request.layer, request.verify, distributions)
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
    except BaseException:
        with shielded():
            discard(staging, new_zip)
            store.discard(plan.root, added)
        raise
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
    )
    reuse.remember(plan, result)
    return result


def _reused(earlier: BuildResult, plan: reuse.Plan, started: float) -> BuildResult:
    """The result of an earlier identical build, left in place or restored from the cache."""
    result = replace(earlier, timings={"total": time.perf_counter() - started})
    if result.reused is not Reused.UP_TO_DATE:
        reuse.remember(plan, result)
    return result


def _origin(request: BuildRequest) -> str:
    """Where Lambda puts the package: a function under /var/task, a layer under /opt."""
    return "/opt/python" if request.layer else "/var/task"
