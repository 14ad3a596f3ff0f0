"""The ``sdk-partial`` check: boto3, botocore and s3transfer bundled all together or not at all."""

from __future__ import annotations

from collections.abc import Iterable

from pip_lambda.checks.findings import Finding, Level
from pip_lambda.tree.distributions import Distribution

SDK_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer")


def check_sdk(distributions: Iterable[tuple[Distribution, str]]) -> list[Finding]:
    """boto3, botocore and s3transfer bundled only partly shadow part of the runtime's own SDK."""
    present = {dist.key: (dist, path) for dist, path in distributions if dist.key in SDK_DISTRIBUTIONS}
    if not present or len(present) == len(SDK_DISTRIBUTIONS):
        return []
    missing = [name for name in SDK_DISTRIBUTIONS if name not in present]
    dist, path = present[min(present)]
    bundled = ", ".join(str(present[name][0]) for name in sorted(present))
    return [
        Finding(
            Level.WARNING,
            "sdk-partial",
            str(dist),
            path,
            f"bundles {bundled} but not {', '.join(missing)}: the runtime's own {', '.join(missing)} will be mixed with them, at other versions",
            f"bundle all of boto3, botocore and s3transfer (add {', '.join(missing)} to the requirements) or none of them",
        )
    ]
