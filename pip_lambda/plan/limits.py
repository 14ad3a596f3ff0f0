"""Lambda's size limits and the check of a package against them."""

from __future__ import annotations

from collections.abc import Sequence

from pip_lambda.errors import SizeLimitError
from pip_lambda.tree.distributions import Distribution

UNZIPPED_LIMIT = 262_144_000
"""Function plus all its layers, unzipped (AWS counts MB as 1,024 KB: 250 MB)."""
DIRECT_UPLOAD_LIMIT = 52_428_800
"""A zip uploaded directly through the API, SDK or console (50 MB); larger ones go through S3."""


def largest(distributions: Sequence[Distribution], count: int = 5) -> list[Distribution]:
    return sorted(distributions, key=lambda dist: (-dist.size, dist.key))[:count]


def check_unzipped(size: int, distributions: Sequence[Distribution]) -> None:
    """Fail when the unzipped package cannot fit in a Lambda function."""
    if size <= UNZIPPED_LIMIT:
        return
    biggest = ", ".join(f"{dist.name} {dist.size / 1e6:.1f} MB" for dist in largest(distributions))
    raise SizeLimitError(
        f"the package is {size:,} bytes unzipped, above Lambda's limit of {UNZIPPED_LIMIT:,} bytes (function and layers together); largest: {biggest}",
        hint="move large dependencies to a layer or a container image, or drop what the function does not import",
    )


def zipped_warning(size: int) -> str | None:
    if size <= DIRECT_UPLOAD_LIMIT:
        return None
    return (
        f"the zip is {size:,} bytes, above the {DIRECT_UPLOAD_LIMIT:,}-byte limit for direct upload: "
        "upload it to S3 and point the function at the object"
    )
