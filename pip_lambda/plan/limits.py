"""Lambda's size limits, the check of a package against them, and what would make it fit."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pip_lambda.errors import SizeLimitError
from pip_lambda.tree.distributions import Distribution

if TYPE_CHECKING:  # plan.layers reads zips with archive.reader, which imports the limits from here
    from pip_lambda.pip.requirements import RequirementSet
    from pip_lambda.plan.layers import Layer
    from pip_lambda.plan.request import TrimOptions
    from pip_lambda.plan.target import Target

UNZIPPED_LIMIT = 262_144_000
"""Function plus all its layers, unzipped (AWS counts MB as 1,024 KB: 250 MB)."""
DIRECT_UPLOAD_LIMIT = 52_428_800
"""A zip uploaded directly through the API, SDK or console (50 MB); larger ones go through S3."""
IMAGE_LIMIT = 10_737_418_240
"""A container image, uncompressed, all its layers included (10 GB, counted as GiB like the other limits)."""


def largest(distributions: Sequence[Distribution], count: int = 5) -> list[Distribution]:
    return sorted(distributions, key=lambda dist: (-dist.size, dist.key))[:count]


@dataclass(frozen=True)
class Savings:
    """What the trim options would save on a package, measured on its tree without changing it."""

    slim: int | None
    """Bytes --slim would remove; None when it is on already."""
    runtime_provided: int | None
    """Bytes --exclude-runtime-provided would remove; None when it is on already."""
    both: int
    """Bytes the two would remove together (a file both would take counts once)."""
    sdk: bool
    """The AWS SDK (boto3, botocore, s3transfer) is in the package."""


def measure_savings(
    site: Path,
    distributions: Sequence[Distribution],
    target: Target,
    requirements: RequirementSet,
    trim: TrimOptions,
) -> Savings:
    """Run the --slim and --exclude-runtime-provided planners on the tree at ``site``, applying nothing."""
    # The trim planners load only when a package is too large: the usual build never needs them here.
    from pip_lambda.trim import exclude, slim
    from pip_lambda.trim import runtime_provided as runtimeprovided

    slimmed: set[str] = set()
    if not trim.slim:
        owned = {path for dist in distributions for path in exclude.distribution_files(site, dist)}
        slimmed = {path for paths in slim.plan(site, owned).values() for path in paths}
    sdk_plan = runtimeprovided.plan(site, distributions, target, runtimeprovided.requested(requirements))
    leaving: set[str] = set()
    if not trim.exclude_runtime_provided:
        staying = [dist for dist in distributions if dist not in sdk_plan.leaving]
        leaving = set(exclude.files_of(site, sdk_plan.leaving, staying))

    def size(paths: set[str]) -> int:
        return sum((site / path).stat().st_size for path in paths)

    return Savings(
        slim=None if trim.slim else size(slimmed),
        runtime_provided=None if trim.exclude_runtime_provided else size(leaving),
        both=size(slimmed | leaving),
        sdk=any(dist.key in runtimeprovided.SDK[:3] for dist in distributions),
    )


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size else "0 B"


def fitting_hint(size: int, savings: Savings, distributions: Sequence[Distribution]) -> str:
    """What would make a package of ``size`` bytes fit, from measured savings; the rest names the largest parts."""
    steps = [
        (option, saved)
        for option, saved in (("--slim", savings.slim), ("--exclude-runtime-provided", savings.runtime_provided))
        if saved is not None
    ]
    said = [f"{option} {'would save ' if not index else ''}{_mb(saved)}" for index, (option, saved) in enumerate(steps)]
    if steps and steps[-1][0] == "--exclude-runtime-provided" and not savings.sdk:
        said[-1] += " (no AWS SDK)"
    measured = f"measured on this build: {', '.join(said)}; " if said else ""
    left = size - savings.both
    helpful = [option for option, saved in steps if saved]
    if helpful and left <= UNZIPPED_LIMIT:
        return f"{measured}with {' and '.join(helpful)} it is {left:,} bytes and fits"
    over = left - UNZIPPED_LIMIT
    dropped: list[str] = []
    for dist in largest(distributions, len(distributions)):
        if over <= 0:
            break
        dropped.append(f"{dist.name} ({_mb(dist.size)})")
        over -= dist.size
    leave_out = (
        f"leave out {', '.join(dropped)} with --exclude-package if the function never imports it, or "
        if dropped
        else ""
    )
    return (
        f"{measured}{'still ' if helpful else ''}{_mb(left - UNZIPPED_LIMIT)} over: {leave_out}build a container image "
        "instead (--container DIR, up to 10 GB); a layer does not help, as it counts towards the same limit"
    )


def check_unzipped(
    size: int,
    distributions: Sequence[Distribution],
    layers: Sequence[Layer] = (),
    savings: Callable[[], Savings] | None = None,
) -> None:
    """Fail when the unzipped package, with the layers it is deployed with, cannot fit in a Lambda function.

    ``savings`` measures what the trim options would save, for the message.
    """
    if layers:
        _check_with_layers(size, distributions, layers)
        return
    if size <= UNZIPPED_LIMIT:
        return
    biggest = ", ".join(f"{dist.name} {_mb(dist.size)}" for dist in largest(distributions))
    hint = (
        fitting_hint(size, savings(), distributions)
        if savings is not None
        else "move large dependencies to a container image, or drop what the function does not import"
    )
    raise SizeLimitError(
        f"the package is {size:,} bytes unzipped, above Lambda's limit of {UNZIPPED_LIMIT:,} bytes (function and layers together); largest: {biggest}",
        hint=hint,
    )


def _check_with_layers(size: int, distributions: Sequence[Distribution], layers: Sequence[Layer]) -> None:
    """The layer budget: the function and all its layers together, the biggest distributions named across them."""
    total = size + sum(layer.unzipped_size for layer in layers)
    if total <= UNZIPPED_LIMIT:
        return
    parts = [f"{layer.name} {layer.unzipped_size:,}" for layer in layers]
    if size or distributions:
        what = f"the function and its {_layers(len(layers))} are"
        parts.insert(0, f"function {size:,}")
    else:
        what = f"the {_layers(len(layers))} given with --with-layer {'is' if len(layers) == 1 else 'are'}, before the function,"
    found = [(dist, "function") for dist in distributions]
    found += [(dist, f"layer {layer.name}") for layer in layers for dist in layer.distributions]
    found.sort(key=lambda pair: (-pair[0].size, pair[0].key, pair[1]))
    biggest = ", ".join(f"{dist.name} {dist.size / 1e6:.1f} MB ({where})" for dist, where in found[:5])
    raise SizeLimitError(
        f"{what} {total:,} bytes unzipped ({'; '.join(parts)}), above Lambda's limit of {UNZIPPED_LIMIT:,} bytes "
        f"for a function and its layers together{'; largest: ' + biggest if biggest else ''}",
        hint="move large dependencies out of the function or a layer, drop a layer the function does not need, "
        "or use a container image",
    )


def _layers(count: int) -> str:
    return "layer" if count == 1 else f"{count} layers"


def zipped_warning(size: int) -> str | None:
    if size <= DIRECT_UPLOAD_LIMIT:
        return None
    return (
        f"the zip is {size:,} bytes, above the {DIRECT_UPLOAD_LIMIT:,}-byte limit for direct upload: "
        "upload it to S3 and point the function at the object"
    )


def image_warning(size: int) -> str | None:
    if size <= IMAGE_LIMIT:
        return None
    return (
        f"the package is {size:,} bytes, above the {IMAGE_LIMIT:,}-byte limit of a Lambda container image "
        "(its base image counts too): drop what the function does not import"
    )
