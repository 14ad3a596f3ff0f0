"""The human summary printed at the end of a build."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from pip_lambda.cli.terminal import table
from pip_lambda.plan.limits import DIRECT_UPLOAD_LIMIT, UNZIPPED_LIMIT, largest
from pip_lambda.result import BuildResult, Reused
from pip_lambda.trim.steps import TrimResult

if TYPE_CHECKING:
    from pip_lambda.shared import SharedBuild


def _mb(size: int) -> str:
    return f"{size / 1_048_576:.1f} MiB"


def terraform_hash(sha256_hex: str) -> str:
    """The base64 form of a sha256, as Terraform's ``source_code_hash`` expects."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def _human(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1_048_576:
        return f"{size / 1024:.1f} KiB"
    return _mb(size)


def _size(size: int) -> str:
    return f"{size:,} B"


def summary_lines(result: BuildResult, largest_count: int = 5) -> list[str]:
    """What was built and where, then the largest distributions and the limits as aligned tables."""
    request = result.request
    kind = "layer" if request.layer else "function"
    lines = [
        f"Built a {kind} package for {request.target.runtime.name} on {request.target.arch} ({request.target.runtime.os}, glibc {request.target.runtime.glibc[0]}.{request.target.runtime.glibc[1]})"
    ]
    if result.reused is Reused.UP_TO_DATE:
        lines.append("  cache:         nothing changed since the last build; nothing was rewritten")
    elif result.reused is Reused.FROM_CACHE:
        lines.append("  cache:         reused the result of an identical earlier build")
    dists = ", ".join(str(dist) for dist in result.distributions) or "none"
    details = [("distributions:", dists), ("files:", f"{result.file_count:,}"), ("target:", str(request.target_dir))]
    if request.source is not None:
        details.insert(0, ("from:", request.source.describe()))
    if result.trim is not None and result.trim.left_out:
        details.insert(1, ("left out:", ", ".join(result.trim.left_out)))
    if result.layers:
        shown = ", ".join(f"{layer.path} ({_human(layer.unzipped_size)} unzipped)" for layer in result.layers)
        details.append(("with layers:", shown))
    if result.zip is not None:
        details += [
            ("zip:", str(result.zip.path)),
            ("sha256:", result.zip.sha256),
            ("base64 sha256:", terraform_hash(result.zip.sha256)),
        ]
    lines += table([list(row) for row in details], gap=" ")
    biggest = largest(result.distributions, largest_count)
    if biggest:
        lines.append("")
        rows = [["largest distributions", "version", "files", "unpacked"]]
        rows += [[dist.name, dist.version, f"{len(dist.files):,}", _human(dist.size)] for dist in biggest]
        lines += table(rows, right=(2, 3))
    if result.trim is not None:
        lines.append("")
        lines += table(trim_rows(result.trim), right=(1, 2))
    lines.append("")
    limits = [["limits", "size", "limit", "used"]]
    limits.append(
        [
            "unzipped, with layers",
            _size(result.unzipped_with_layers),
            _size(UNZIPPED_LIMIT),
            f"{result.unzipped_with_layers / UNZIPPED_LIMIT:.0%}",
        ]
    )
    if result.zip is not None:
        limits.append(
            [
                "zip, direct upload",
                _size(result.zip.size),
                _size(DIRECT_UPLOAD_LIMIT),
                f"{result.zip.size / DIRECT_UPLOAD_LIMIT:.0%}",
            ]
        )
    lines += table(limits, right=(1, 2, 3))
    return lines


def trim_rows(trim: TrimResult) -> list[list[str]]:
    """Size before and after --slim, --exclude…, --strip and --compile, and what each step changed."""
    rows = [["trim steps", "size", "change"], ["before", _size(trim.size_before), ""]]
    rows += [[step, f"{-saved:+,} B" if saved else "0 B", ""] for step, saved in trim.saved]
    change = f"{trim.size_after / trim.size_before - 1:+.1%}" if trim.size_before else ""
    rows.append(["after", _size(trim.size_after), change])
    return rows


def shared_layer_lines(shared: SharedBuild) -> list[str]:
    """What went into the shared layer, its zip, and the zip bytes it saved against standalone functions."""
    lines = [f"Shared layer {shared.name}: {len(shared.shared)} distributions shared by {', '.join(shared.sharing)}"]
    rows = [["distributions:", ", ".join(f"{wheel.name}=={wheel.version}" for wheel in shared.shared)]]
    if shared.layer.zip is not None:
        rows += [["zip:", str(shared.layer.zip.path)], ["sha256:", shared.layer.zip.sha256]]
    savings = shared.savings
    if savings is not None:
        rows.append(
            [
                "zips:",
                f"layer {_human(savings.layer_zip)} + {savings.functions} functions {_human(savings.function_zips)}"
                f" = {_human(savings.shared)}; about {_human(savings.standalone)} as {savings.functions} standalone zips",
            ]
        )
        rows.append(["saved:", f"{_human(savings.saved)} ({savings.fraction:.0%})"])
    return lines + table(rows, gap=" ")
