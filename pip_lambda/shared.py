"""The build of several functions sharing one layer (``pip-lambda build --shared-layer NAME``).

Every function target is resolved first, each to the Selection of wheels it
installs (its lock file's, else pip's resolution); the wheels all of them
install identically go into the layer, which is built from exactly that
Selection, verified and zipped like any other target; then each function is
built from its own Selection less the shared wheels and deployed with the layer
(``--with-layer``, so its size and its import test count the layer).  The
layer's request names no requirement file of any function, and its cache key
holds its Selection (wheels by sha256), so a change to one function's own
requirements leaves the layer, its cache key and its zip as they were, unless
the change moves a shared wheel.

:func:`build_shared` takes resolving and building as callables (the command
line passes :func:`resolved` and :func:`built`), so the plan is tested without pip.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from pip_lambda import pipeline
from pip_lambda.archive.writer import carried_size
from pip_lambda.errors import UsageError
from pip_lambda.pip.resolve import NotWheelFiles, resolve_explained
from pip_lambda.plan.layout import LAYER
from pip_lambda.plan.request import BuildRequest
from pip_lambda.plan.selection import Selection, Wheel
from pip_lambda.plan.sharing import Savings, check_functions, layer_selection, left_out, shared_wheels, without
from pip_lambda.result import BuildResult

log = logging.getLogger(__name__)

Resolve = Callable[[str, BuildRequest], Selection]
"""The wheels the named function target installs (its lock file's, or pip's resolution)."""
BuildFrom = Callable[[str, BuildRequest, Selection], BuildResult]
"""The build of the named target, installing exactly the wheels of a Selection."""


def resolved(name: str, request: BuildRequest) -> Selection:
    """The wheels a function target installs: its lock file's choice, else pip's resolution (a failure explained)."""
    if request.selection is not None:
        return request.selection
    log.debug("resolving the function target %s", name)
    try:
        return resolve_explained(request.target, request.pip_args)
    except NotWheelFiles as why:
        raise UsageError(
            f"the function target {name} installs {why.name} {why.version} from a folder or a version-control "
            "checkout, not a wheel file: a shared layer is computed from the wheel files the functions install",
            hint="build it into a wheel and give it with --find-links, or build without --shared-layer",
        ) from None


def built(name: str, request: BuildRequest, selection: Selection) -> BuildResult:
    """The target ``name`` built from exactly ``selection``, without pip's resolver."""
    log.debug("building %s from %d wheels", name, len(selection.wheels))
    return pipeline.build(replace(request, selection=selection))


@dataclass(frozen=True)
class SharedBuild:
    """What ``build --shared-layer`` built: the layer, the functions against it, and what that saved."""

    name: str
    layer: BuildResult
    functions: tuple[tuple[str, BuildResult], ...]
    shared: tuple[Wheel, ...]
    """The wheels in the layer."""
    sharing: tuple[str, ...]
    """Every function target the layer was computed from (built or not, with --name)."""

    @property
    def savings(self) -> Savings | None:
        """Against standalone zips; None when a build wrote no zip, or only some functions were built (--name)."""
        zips = [result.zip for _, result in self.functions]
        if self.layer.zip is None or len(zips) != len(self.sharing) or any(zipped is None for zipped in zips):
            return None
        function_zips = sum(zipped.size for zipped in zips if zipped is not None)
        return Savings(len(zips), self.layer.zip.size, function_zips, carried_size(self.layer.zip, LAYER.prefix))


def build_shared(
    layer: tuple[str, BuildRequest],
    functions: Sequence[tuple[str, BuildRequest]],
    *,
    resolve: Resolve,
    build: BuildFrom,
    only: str | None = None,
) -> SharedBuild:
    """Resolve every function, build the layer from what they share, then the functions (only ``only``, if given).

    ``layer`` is the layer's name and request (see plan.sharing.layer_request).
    """
    name, layer_request = layer
    check_functions(name, functions)
    selections = [resolve(function, request) for function, request in functions]
    shared = shared_wheels(selections, [left_out(request.trim) for _, request in functions])
    names = tuple(function for function, _ in functions)
    if not shared:
        raise UsageError(
            f"the function targets {', '.join(names)} share no distribution: the shared layer {name} would be empty",
            hint="drop --shared-layer (or shared-layer from the configuration)",
        )
    log.info("%d distributions shared by %s go into the layer %s", len(shared), ", ".join(names), name)
    built_layer = build(name, layer_request, layer_selection(shared, selections))
    assert layer_request.output is not None  # plan.sharing.layer_request refuses a layer without a zip
    results = []
    for (function, request), selection in zip(functions, selections):
        if only is not None and function != only:
            continue
        deployed = replace(request, with_layers=(layer_request.output, *request.with_layers))
        results.append((function, build(function, deployed, without(selection, shared))))
    return SharedBuild(name, built_layer, tuple(results), shared, names)
