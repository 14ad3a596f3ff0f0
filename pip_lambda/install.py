"""The install step of a build: the wheels decided, fetched once into the wheel store, and laid out by links.

The wheels come from a selection given to the build, from hashed requirement
lines (no resolver), or from pip's resolution (cache/fill.py); whatever the
store lacks is downloaded by one pip process and unpacked into it; the site is
then laid out by hard links to the store's files (cache/store.py).  pip
installs the site itself only where the store cannot lay it out: when two
distributions provide the same file (pip's order decides which one wins), when
pip would install something that is not a wheel file with a hash (a folder or a
VCS checkout named in pip's configuration), or a wheel installer cannot unpack
(pip then says what is wrong with it).  With --no-cache and --refresh the
build has a store of its own, so every build lays its tree out the same way.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from pip_lambda.cache import fill, locked, reuse, store
from pip_lambda.cache.request import CacheRequest
from pip_lambda.cache.storage import locked as shared_lock
from pip_lambda.cache.store import StoredFile, StoredWheel, StoreMiss
from pip_lambda.errors import PipFailedError
from pip_lambda.lock.install import with_built_sdists
from pip_lambda.pip import failures
from pip_lambda.pip.fetch import pin
from pip_lambda.pip.requirements import RequirementSet, looks_arguments
from pip_lambda.pip.run import install_command, pip_environment, run_pip
from pip_lambda.pip.sdists import SdistOnlyError, allows, build_wheel
from pip_lambda.plan.request import BuildRequest
from pip_lambda.plan.selection import Selection
from pip_lambda.tree.distributions import Distribution
from pip_lambda.tree.staging import MARKER

log = logging.getLogger(__name__)


def own_store(request: BuildRequest, plan: reuse.Plan) -> tempfile.TemporaryDirectory[str] | None:
    """A wheel store of the build's own (--no-cache, --refresh), removed by its ``cleanup()``; None: the cache's."""
    if plan.root is not None and not request.refresh:
        return None
    return tempfile.TemporaryDirectory(prefix="pip-lambda-store-")


def install(
    request: BuildRequest, site: Path, plan: reuse.Plan, found: RequirementSet, root: Path, added: list[str]
) -> tuple[reuse.Plan, dict[str, StoredFile]]:
    """Lay the site out from the wheel store ``root``, fetching what it lacks; each file's origin in the store.

    A pip failure is explained; an sdist allowed by --allow-sdist is built and
    pip asked again.  ``added`` gets the wheels this build adds to the store.
    """
    with tempfile.TemporaryDirectory(prefix="pip-lambda-wheels-") as wheelhouse:
        request = with_built_sdists(request, found, Path(wheelhouse))
        return _install(request, site, Path(wheelhouse), plan, found, root, added)


def _install(
    request: BuildRequest,
    site: Path,
    wheelhouse: Path,
    plan: reuse.Plan,
    found: RequirementSet,
    root: Path,
    added: list[str],
) -> tuple[reuse.Plan, dict[str, StoredFile]]:
    """:func:`install`, sdists built into ``wheelhouse``."""
    built: set[str] = set()
    attempt = request
    while True:
        try:
            with _shared(root, plan):
                selection, entries, decided = _wheels(attempt, root, plan if not built else None, found, added)
                laid = store.assemble(entries, site)
            return replace(plan, selection=selection, locked=decided), laid
        except (StoreMiss, OSError) as why:
            log.debug("installing with pip directly: %s", why)
            _empty(site)
            with tempfile.TemporaryDirectory(prefix="pip-lambda-pins-") as scratch:
                _install_with_pip(_pinned_request(attempt, Path(scratch)), site, wheelhouse, found, built)
            if request.selection is not None:  # pip installed exactly these wheels
                plan = replace(plan, selection=request.selection, locked=True)
            return plan, {}
        except PipFailedError as failure:
            _empty(site)
            _build_or_explain(attempt, failure, found, wheelhouse, built)
            attempt = _looking_in(request, wheelhouse)


def _wheels(
    request: BuildRequest, root: Path, plan: reuse.Plan | None, found: RequirementSet, added: list[str]
) -> tuple[Selection, list[StoredWheel], bool]:
    """The wheels to install, in the store: (which, their entries, decided without pip's resolver)."""
    cache_request = CacheRequest.of(request)
    if request.selection is not None:
        return request.selection, fill.from_selection(root, cache_request, found, request.selection, added), True
    lines = locked.lines(found, request.pip_args, request.target)
    chosen = None if lines is None else fill.from_lines(root, cache_request, found, lines, added)
    if chosen is not None:
        return *chosen, True
    if plan is not None and plan.selection is not None:  # pip resolved already, to see whether anything changed
        return plan.selection, fill.from_selection(root, cache_request, found, plan.selection, added), False
    return *fill.resolved(root, cache_request, found, added), False


def _shared(root: Path, plan: reuse.Plan) -> contextlib.AbstractContextManager[None]:
    """The cache's shared lock while entries are added and linked (pruning waits); a build's own store needs none."""
    return shared_lock(root) if root == plan.root else contextlib.nullcontext()


def _looking_in(request: BuildRequest, wheelhouse: Path) -> BuildRequest:
    """The request with pip also looking in ``wheelhouse``, where sdists were built."""
    looks = ("--find-links", str(wheelhouse))
    if request.pip_args.passthrough[-2:] == looks:
        return request
    return replace(request, pip_args=replace(request.pip_args, passthrough=(*request.pip_args.passthrough, *looks)))


def _pinned_request(request: BuildRequest, scratch: Path) -> BuildRequest:
    """For pip to install a selection itself: its wheels pinned (a file in ``scratch``), no dependencies."""
    if request.selection is None:
        return request
    pins = scratch / "selection.txt"
    pins.write_text("".join(f"{pin(wheel)}\n" for wheel in request.selection.wheels), "utf-8")
    passthrough = (*request.pip_args.without_requirements(), "--no-deps", "-r", str(pins))
    return replace(request, pip_args=replace(request.pip_args, passthrough=passthrough))


def _empty(site: Path) -> None:
    for child in site.iterdir():
        if child.name == MARKER:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _build_or_explain(
    request: BuildRequest, failure: PipFailedError, found: RequirementSet, wheelhouse: Path, built: set[str]
) -> None:
    """Build the sdist pip failed on into ``wheelhouse`` when --allow-sdist allows it; else raise the explanation."""
    environment = pip_environment(request.target)
    with tempfile.TemporaryDirectory(prefix="pip-lambda-looks-") as scratch:
        looks = looks_arguments(request.pip_args, found, Path(scratch))
        explained = failures.explain(failure, request.target, looks, environment)
        if not isinstance(explained, SdistOnlyError) or not allows(request.allow_sdist, explained.name):
            raise explained from None
        if explained.name in built:
            raise explained from None
        build_wheel(explained, request.target, looks, environment, wheelhouse, stream=request.verbosity > 0)
    built.add(explained.name)


def _install_with_pip(
    request: BuildRequest, site: Path, wheelhouse: Path, found: RequirementSet, built: set[str]
) -> None:
    """pip install into the site; a failure is explained, or an allowed sdist built and pip run again."""
    while True:
        command = install_command(request.target, site, request.pip_args.passthrough, request.pip_args.platforms)
        log.info("installing for %s with pip", request.target)
        try:
            run_pip(command, pip_environment(request.target), stream=request.verbosity > 0)
            return
        except PipFailedError as failure:
            _build_or_explain(request, failure, found, wheelhouse, built)
            request = _looking_in(request, wheelhouse)


def with_wheels(distributions: tuple[Distribution, ...], selection: Selection | None) -> tuple[Distribution, ...]:
    """Each distribution with the sha256 of the wheel it was installed from, when the build knows it."""
    wheels = {} if selection is None else selection.by_name()
    return tuple(
        replace(dist, wheel_sha256=wheels[dist.key].sha256) if dist.key in wheels else dist for dist in distributions
    )
