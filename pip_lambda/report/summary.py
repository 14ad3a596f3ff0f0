"""The human summary printed at the end of a build."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from pip_lambda.archive import container
from pip_lambda.plan.limits import DIRECT_UPLOAD_LIMIT, IMAGE_LIMIT, UNZIPPED_LIMIT
from pip_lambda.report.size import part_rows
from pip_lambda.report.text import human, table
from pip_lambda.result import BuildResult, Reused
from pip_lambda.trim.steps import TrimResult

if TYPE_CHECKING:
    from pip_lambda.shared import SharedBuild


def terraform_hash(sha256_hex: str) -> str:
    """The base64 form of a sha256, as Terraform's ``source_code_hash`` expects."""
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")


def _size(size: int) -> str:
    return f"{size:,} B"


def summary_lines(result: BuildResult, largest_count: int = 5) -> list[str]:
    """What was built and where, then the largest distributions (and why each is there) and the limits as tables."""
    request = result.request
    kind = (
        "layer package"
        if request.layer
        else "container-image build context"
        if request.container
        else "function package"
    )
    lines = [
        f"Built a {kind} for {request.target.runtime.name} on {request.target.arch} ({request.target.runtime.os}, glibc {request.target.runtime.glibc[0]}.{request.target.runtime.glibc[1]})"
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
        shown = ", ".join(f"{layer.path} ({human(layer.unzipped_size)} unzipped)" for layer in result.layers)
        details.append(("with layers:", shown))
    if request.container:
        build = f"docker build --platform {container.platform(request.target)} {request.target_dir}"
        details += [("dockerfile:", str(request.target_dir / container.DOCKERFILE)), ("build it:", build)]
    if result.zip is not None:
        details += [
            ("zip:", str(result.zip.path)),
            ("sha256:", result.zip.sha256),
            ("base64 sha256:", terraform_hash(result.zip.sha256)),
        ]
    lines += table([list(row) for row in details], gap=" ")
    if result.size is not None and result.size.parts:
        lines.append("")
        lines += table(part_rows(result.size, largest_count), right=(2, 3))
    if result.trim is not None:
        lines.append("")
        lines += table(trim_rows(result.trim), right=(1, 2))
    lines.append("")
    limits = [["limits", "size", "limit", "used"]]
    unzipped_limit, what = (
        (IMAGE_LIMIT, "unzipped, image") if request.container else (UNZIPPED_LIMIT, "unzipped, with layers")
    )
    counted = result.unzipped_with_layers
    limits.append([what, _size(counted), _size(unzipped_limit), f"{counted / unzipped_limit:.0%}"])
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
    """What went into the shared layer, its zip, and the zip bytes it saved against standalone functions.

    The standalone zips are estimated, not built, and the lines say so ("about").
    """
    count = len(shared.shared)
    lines = [
        f"Shared layer {shared.name}: {count} distribution{'' if count == 1 else 's'} shared by "
        f"{', '.join(shared.sharing)}"
    ]
    rows = [["distributions:", ", ".join(f"{wheel.name}=={wheel.version}" for wheel in shared.shared)]]
    if shared.layer.zip is not None:
        rows += [["zip:", str(shared.layer.zip.path)], ["sha256:", shared.layer.zip.sha256]]
    savings = shared.savings
    if savings is not None:
        functions = f"{savings.functions} functions"
        rows += [
            [
                "zips:",
                f"layer {human(savings.layer_zip)} + {functions} {human(savings.function_zips)}"
                f" = {human(savings.shared)}",
            ],
            [
                "standalone:",
                f"about {human(savings.standalone)} as {functions} each carrying the layer's files"
                " (estimated, not built)",
            ],
            ["saved:", f"about {human(savings.saved)} ({savings.fraction:.0%})"],
        ]
    return lines + table(rows, gap=" ")
