"""What one build produced: the contract between the pipeline, the cache and the reports.

The cache keeps a result as versioned JSON (:meth:`BuildResult.to_json`) and
reads it back with :meth:`BuildResult.from_json`, every field spelled out and
checked: a document of another version or with a field of the wrong type is
refused with :class:`~pip_lambda.cache.jsondata.Malformed`, never half read.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pip_lambda.archive.writer import Member, ZipResult
from pip_lambda.cache.jsondata import (
    Json,
    Malformed,
    count,
    flag,
    items,
    mapping,
    number,
    sha256_hex,
    text,
    texts,
)
from pip_lambda.cache.jsondata import field as get
from pip_lambda.checks.findings import Finding, Level
from pip_lambda.plan.request import BuildRequest
from pip_lambda.report.size import SizeAnalysis
from pip_lambda.tree.distributions import Distribution
from pip_lambda.trim.steps import TrimResult

if TYPE_CHECKING:
    from pip_lambda.plan.layers import Layer

JSON_VERSION = 2
"""Of the document :meth:`BuildResult.to_json` writes; bumped when a field is added, removed or changes meaning."""


class Reused(enum.Enum):
    """How an earlier build was reused."""

    NO = "built"
    """Built now."""
    UP_TO_DATE = "up to date"
    """Nothing changed since the last build of this target and zip: nothing was written."""
    FROM_CACHE = "from the cache"
    """An identical build made the result: the zip was copied from the cache and the target unpacked from it."""


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
    reused: Reused = Reused.NO
    layers: tuple[Layer, ...] = ()
    """The --with-layer zips, as this run read them (each build reads them again, so they are not in the JSON form)."""

    @property
    def unzipped_with_layers(self) -> int:
        """What Lambda counts against its unzipped limit: the package and the layers it is deployed with."""
        return self.unzipped_size + sum(layer.unzipped_size for layer in self.layers)

    size: SizeAnalysis | None = None
    """Why the package is as big as it is (report/size.py); every build makes one."""

    def to_json(self) -> dict[str, Json]:
        """Every field but the request (the caller has its own) and the layers as JSON; the zip's path is the request's output."""
        return {
            "version": JSON_VERSION,
            "distributions": [_distribution_json(dist) for dist in self.distributions],
            "file_count": self.file_count,
            "unzipped_size": self.unzipped_size,
            "zip": None
            if self.zip is None
            else {
                "sha256": self.zip.sha256,
                "size": self.zip.size,
                "entries": self.zip.entries,
                "members": [
                    [member.name, member.size, member.crc, member.compressed, member.executable]
                    for member in self.zip.members
                ],
            },
            "warnings": list(self.warnings),
            "timings": dict(self.timings),
            "trim": None if self.trim is None else _trim_json(self.trim),
            "findings": [_finding_json(finding) for finding in self.findings],
            "reused": self.reused.value,
            "size": None if self.size is None else self.size.to_json(),
        }

    @classmethod
    def from_json(cls, document: Json, request: BuildRequest) -> BuildResult:
        """The result :meth:`to_json` wrote, for ``request``; Malformed when it is of another version or damaged."""
        if get(document, "version") != JSON_VERSION:
            raise Malformed("a result of another version")
        zipped = get(document, "zip")
        if (zipped is None) != (request.output is None):
            raise Malformed("a result with a zip for a build without one, or the other way round")
        trimmed = get(document, "trim")
        size = get(document, "size")
        try:
            reused = Reused(get(document, "reused"))
        except ValueError:
            raise Malformed("an unknown way of reuse") from None
        return cls(
            request,
            distributions=_distributions(get(document, "distributions")),
            file_count=count(get(document, "file_count")),
            unzipped_size=count(get(document, "unzipped_size")),
            zip=None if zipped is None or request.output is None else _zip(zipped, request.output),
            warnings=texts(get(document, "warnings")),
            timings={step: number(seconds) for step, seconds in mapping(get(document, "timings")).items()},
            trim=None if trimmed is None else _trim(trimmed),
            findings=tuple(_finding(item) for item in items(get(document, "findings"))),
            reused=reused,
            size=None if size is None else SizeAnalysis.from_json(size),
        )


def _distribution_json(dist: Distribution) -> Json:
    return {
        "name": dist.name,
        "version": dist.version,
        "dist_info": dist.dist_info,
        "files": list(dist.files),
        "size": dist.size,
        "wheel_sha256": dist.wheel_sha256,
    }


def _distributions(value: Json) -> tuple[Distribution, ...]:
    return tuple(
        Distribution(
            name=text(get(item, "name")),
            version=text(get(item, "version")),
            dist_info=text(get(item, "dist_info")),
            files=texts(get(item, "files")),
            size=count(get(item, "size")),
            wheel_sha256=_optional_sha256(get(item, "wheel_sha256")),
        )
        for item in items(value)
    )


def _optional_sha256(value: Json) -> str | None:
    return None if value is None else sha256_hex(value)


def _zip(value: Json, output: Path) -> ZipResult:
    return ZipResult(
        path=output,
        sha256=sha256_hex(get(value, "sha256")),
        size=count(get(value, "size")),
        entries=count(get(value, "entries")),
        members=tuple(_member(row) for row in items(get(value, "members"))),
    )


def _member(row: Json) -> Member:
    fields = items(row)
    if len(fields) != 5:
        raise Malformed(f"{row!r} is not a zip member")
    name, size, crc, compressed, executable = fields
    return Member(text(name), count(size), count(crc), count(compressed), flag(executable))


def _trim_json(trim: TrimResult) -> Json:
    return {
        "size_before": trim.size_before,
        "size_after": trim.size_after,
        "saved": [[step, size] for step, size in trim.saved],
        "left_out": list(trim.left_out),
        "distributions": [_distribution_json(dist) for dist in trim.distributions],
        "warnings": list(trim.warnings),
    }


def _saved(value: Json) -> tuple[str, int]:
    step, size = _pair(value)
    if not isinstance(size, int) or isinstance(size, bool):
        raise Malformed(f"{size!r} is not a number of bytes")  # negative for --compile, which adds bytecode
    return text(step), size


def _pair(value: Json) -> tuple[Json, Json]:
    pair = items(value)
    if len(pair) != 2:
        raise Malformed(f"{value!r} is not a pair")
    return pair[0], pair[1]


def _trim(value: Json) -> TrimResult:
    return TrimResult(
        size_before=count(get(value, "size_before")),
        size_after=count(get(value, "size_after")),
        saved=tuple(_saved(item) for item in items(get(value, "saved"))),
        left_out=texts(get(value, "left_out")),
        distributions=_distributions(get(value, "distributions")),
        warnings=texts(get(value, "warnings")),
    )


def _finding_json(finding: Finding) -> Json:
    return {
        "level": finding.level.value,
        "check": finding.check,
        "distribution": finding.distribution,
        "path": finding.path,
        "reason": finding.reason,
        "fix": finding.fix,
    }


def _finding(value: Json) -> Finding:
    try:
        level = Level(get(value, "level"))
    except ValueError:
        raise Malformed("an unknown finding level") from None
    return Finding(
        level=level,
        check=text(get(value, "check")),
        distribution=text(get(value, "distribution")),
        path=text(get(value, "path")),
        reason=text(get(value, "reason")),
        fix=text(get(value, "fix")),
    )
