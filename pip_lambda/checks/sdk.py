"""The ``sdk-partial`` check: the AWS SDK (the runtime table's ``runtime_provided.sdk``) bundled all together or not at all."""

from __future__ import annotations

from collections.abc import Iterable

from pip_lambda.checks.findings import Finding, Level
from pip_lambda.plan.runtimes import runtime_provided
from pip_lambda.tree.distributions import Distribution


def check_sdk(distributions: Iterable[tuple[Distribution, str]]) -> list[Finding]:
    """The SDK (boto3, botocore, s3transfer) bundled only partly shadows part of the runtime's own SDK."""
    sdk = runtime_provided().sdk
    present = {dist.key: (dist, path) for dist, path in distributions if dist.key in sdk}
    if not present or len(present) == len(sdk):
        return []
    missing = [name for name in sdk if name not in present]
    dist, path = present[min(present)]
    bundled = ", ".join(str(present[name][0]) for name in sorted(present))
    return [
        Finding(
            Level.WARNING,
            "sdk-partial",
            str(dist),
            path,
            f"bundles {bundled} but not {', '.join(missing)}: the runtime's own {', '.join(missing)} will be mixed with them, at other versions",
            f"bundle all of {', '.join(sdk)} (add {', '.join(missing)} to the requirements) or none of them",
        )
    ]
