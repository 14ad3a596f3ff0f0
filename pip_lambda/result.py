"""What one build produced: the contract between the pipeline, the cache and the reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from pip_lambda.archive.writer import ZipResult
from pip_lambda.checks.findings import Finding
from pip_lambda.plan.request import BuildRequest
from pip_lambda.tree.distributions import Distribution
from pip_lambda.trim.steps import TrimResult


@dataclass(frozen=True)
class BuildResult:
    request: BuildRequest
    distributions: tuple[Distribution, ...]
    file_count: int
    unzipped_size: int
    zip: ZipResult | None
    warnings: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    trim: TrimResult | None = None
    """Set when an option of the trim step (--slim, --exclude…, --strip, --compile) was given."""
    findings: tuple[Finding, ...] = ()
    """What verification found short of an error (errors fail the build)."""
    reused: str = ""
    """How an earlier build was reused: "up to date" (nothing written), "from the cache", or "" (built)."""
