"""Lambda's size limits and the check of a package against them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pip_lambda.errors import SizeLimitError
from pip_lambda.tree.distributions import Distribution

if TYPE_CHECKING:  # plan.layers reads zips with archive.reader, which imports the limits from here
    from pip_lambda.plan.layers import Layer

UNZIPPED_LIMIT = 262_144_000
"""Function plus all its layers, unzipped (AWS counts MB as 1,024 KB: 250 MB)."""
DIRECT_UPLOAD_LIMIT = 52_428_800
"""A zip uploaded directly through the API, SDK or console (50 MB); larger ones go through S3."""


def largest(distributions: Sequence[Distribution], count: int = 5) -> list[Distribution]:
    return sorted(distributions, key=lambda dist: (-dist.size, dist.key))[:count]


def check_unzipped(size: int, distributions: Sequence[Distribution], layers: Sequence[Layer] = ()) -> None:
    """Fail when the unzipped package, with the layers it is deployed with, cannot fit in a Lambda function."""
    if layers:
        _check_with_layers(size, distributions, layers)
        return
    if size <= UNZIPPED_LIMIT:
        return
    biggest = ", ".join(f"{dist.name} {dist.size / 1e6:.1f} MB" for dist in largest(distributions))
    raise SizeLimitError(
        f"the package is {size:,} bytes unzipped, above Lambda's limit of {UNZIPPED_LIMIT:,} bytes (function and layers together); largest: {biggest}",
        hint="move large dependencies to a layer or a container image, or drop what the function does not import",
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
