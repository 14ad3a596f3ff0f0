"""The human summary printed at the end of a build."""

from __future__ import annotations

import base64

from .build import BuildResult
from .limits import DIRECT_UPLOAD_LIMIT, UNZIPPED_LIMIT


def _mb(size: int) -> str:
    return f"{size / 1_048_576:.1f} MiB"


def terraform_hash(sha256_hex: str) -> str:
    """The base64 form of a sha256, as Terraform's ``source_code_hash`` expects."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def summary_lines(result: BuildResult) -> list[str]:
    request = result.request
    kind = "layer" if request.layer else "function"
    lines = [
        f"Built a {kind} package for {request.target.runtime.name} on {request.target.arch} ({request.target.runtime.os}, glibc {request.target.runtime.glibc[0]}.{request.target.runtime.glibc[1]})"
    ]
    dists = ", ".join(str(dist) for dist in result.distributions) or "none"
    lines.append(f"  distributions: {dists}")
    lines.append(f"  files:         {result.file_count:,}")
    lines.append(
        f"  unzipped:      {result.unzipped_size:,} bytes ({_mb(result.unzipped_size)}; limit {UNZIPPED_LIMIT:,} with layers, {result.unzipped_size / UNZIPPED_LIMIT:.0%} used)"
    )
    lines.append(f"  target:        {request.target_dir}")
    if result.zip is not None:
        lines.append(
            f"  zip:           {result.zip.path} ({result.zip.size:,} bytes, {_mb(result.zip.size)}; direct upload limit {_mb(DIRECT_UPLOAD_LIMIT)})"
        )
        lines.append(f"  sha256:        {result.zip.sha256}")
        lines.append(f"  base64 sha256: {terraform_hash(result.zip.sha256)}")
    return lines
