"""One layer shared by several functions (``build --shared-layer NAME``): what goes in it, and what that saves.

The layer holds every wheel that all the function targets install identically:
the same distribution, version and wheel file (sha256), and that no function
leaves out (``--exclude-package``, ``--exclude-runtime-provided``).  Each
function then installs its own selection less those wheels, and is deployed
with the layer.  Everything here is pure: Selections in, Selections out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from pip_lambda.errors import UsageError
from pip_lambda.pip.args import parse_pip_args
from pip_lambda.plan.request import BuildRequest, TrimOptions, VerifyOptions
from pip_lambda.plan.runtimes import runtime_provided
from pip_lambda.plan.selection import Selection, Wheel


def left_out(trim: TrimOptions) -> frozenset[str]:
    """Names of the distributions a function's trim options leave out, whichever it installs (canonical names)."""
    from packaging.utils import canonicalize_name

    names = set(trim.exclude_packages)
    if trim.exclude_runtime_provided:
        names |= set(runtime_provided().excluded)
    return frozenset(canonicalize_name(name) for name in names)


def shared_wheels(selections: Sequence[Selection], leaving_out: Sequence[frozenset[str]] = ()) -> tuple[Wheel, ...]:
    """The wheels every selection holds, by name, version and sha256, less those any function leaves out.

    Each wheel is the first selection's (its URL is where that function's build found it).
    """
    if not selections:
        return ()
    kept = set.intersection(*({_identity(wheel) for wheel in selection.wheels} for selection in selections))
    excluded = frozenset().union(*leaving_out)
    return tuple(
        sorted(
            (wheel for wheel in selections[0].wheels if _identity(wheel) in kept and wheel.name not in excluded),
            key=lambda wheel: wheel.name,
        )
    )


def _identity(wheel: Wheel) -> tuple[str, str, str]:
    return wheel.name, wheel.version, wheel.sha256


def without(selection: Selection, shared: Sequence[Wheel]) -> Selection:
    """A function's own wheels: its selection less the shared ones."""
    taken = {_identity(wheel) for wheel in shared}
    return replace(selection, wheels=tuple(wheel for wheel in selection.wheels if _identity(wheel) not in taken))


def layer_selection(shared: Sequence[Wheel], selections: Sequence[Selection]) -> Selection:
    """The shared layer's selection; decided by what decided the functions' (``pip``, or their lock files)."""
    sources = sorted({selection.source for selection in selections})
    return Selection(tuple(shared), ", ".join(sources))


def check_functions(layer_name: str, functions: Sequence[tuple[str, BuildRequest]]) -> None:
    """A shared layer needs two function targets or more, all for one runtime and architecture."""
    if len(functions) < 2:
        names = ", ".join(name for name, _ in functions) or "none"
        raise UsageError(
            f"--shared-layer {layer_name} needs two function targets or more to share with (function targets: {names})",
            hint="define more [tool.pip-lambda.targets.NAME] tables, or drop --shared-layer",
        )
    targets = {str(request.target) for _, request in functions}
    if len(targets) > 1:
        each = "; ".join(f"{name} {request.target}" for name, request in functions)
        raise UsageError(
            f"--shared-layer {layer_name}: a layer is built for one runtime and architecture, and the function "
            f"targets differ ({each})",
            hint="give the functions one runtime and arch, or share a layer only among those that agree",
        )


def layer_request(request: BuildRequest) -> BuildRequest:
    """The shared layer's request from the settings its target resolves to: a layer, without requirements or code.

    The wheels come from the intersection, so the requirements (files, specifiers,
    constraints, a lock file's choice) of the top level or of the command line are
    dropped; pip's index options stay, for fetching.  No ``--code`` and no handler:
    those are a function's.
    """
    if request.output is None:
        raise UsageError(
            "the shared layer needs its zip: each function is verified and counted together with it",
            hint="drop --no-zip (or no-zip from the configuration)",
        )
    tokens = list(request.pip_args.without_requirements())
    return replace(
        request,
        layer=True,
        code=(),
        pip_args=parse_pip_args(tokens, request.target),
        selection=None,
        sdists=(),
        source=None,
        verify=VerifyOptions(request.verify.enabled, request.verify.import_test, None, request.verify.python),
    )


@dataclass(frozen=True)
class Savings:
    """Zip bytes of the layer and the functions built against it, against standalone function zips."""

    functions: int
    layer_zip: int
    function_zips: int
    """The functions' zips together."""
    carried: int
    """The bytes the layer's files would take inside one function's zip (archive.writer.carried_size)."""

    @property
    def shared(self) -> int:
        return self.layer_zip + self.function_zips

    @property
    def standalone(self) -> int:
        """An estimate of the functions' zips without the layer: each zip carrying the layer's files too.

        Zip members are compressed one by one (and a wheel's deflated members are
        copied as they are), so each standalone zip is about its function zip plus the
        layer's members named without ``python/``.  An estimate, not a measurement: a
        function with other trim options than the layer's would trim those files
        otherwise, and a folder both hold is counted twice.
        """
        return self.function_zips + self.functions * self.carried

    @property
    def saved(self) -> int:
        return self.standalone - self.shared

    @property
    def fraction(self) -> float:
        return self.saved / self.standalone if self.standalone else 0.0
