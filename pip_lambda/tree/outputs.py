"""What a build writes besides its target, checked before anything runs: the zip, the report and the size page.

Neither may land inside the target (every build replaces it), on a folder or
under a file, or on each other; and neither replaces a file pip-lambda did
not write: an existing zip must carry pip-lambda's comment (or be an empty
file), an existing report must be a pip-lambda report.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pip_lambda.archive.writer import ZIP_MAGIC, written_by_pip_lambda
from pip_lambda.errors import UnsafePathError

_REPORT_START = b'{\n  "report_version":'
"""How every report pip-lambda writes begins (report/document.py: indented JSON, report_version first)."""


def check_output(output: Path, target: Path) -> None:
    """Refuse a zip path inside the target, on a folder or under a file, or over a file pip-lambda did not write."""
    _check_place(output, "the output", "-o/--output", [target])
    if _holds_anything(output) and not written_by_pip_lambda(output):
        start = _start(output, len(ZIP_MAGIC))
        kind = "not a zip" if start != ZIP_MAGIC else "a zip pip-lambda did not write"
        raise UnsafePathError(
            f"refusing to replace {output}: it is {kind}",
            hint="pass -o/--output with another path, or move that file away if it may be replaced",
        )


def check_report(report: Path, targets: Sequence[Path], outputs: Sequence[Path]) -> None:
    """Refuse a report path that is a zip, inside a target, on a folder or under a file, or over a file that is no report."""
    for output in outputs:
        if report.resolve() == output.resolve():
            raise UnsafePathError(
                f"the report {report} is also the zip's path",
                hint="pass --report with a path of its own, such as build/report.json",
            )
    _check_place(report, "the report", "--report", targets)
    if _holds_anything(report) and _start(report, len(_REPORT_START)) != _REPORT_START:
        raise UnsafePathError(
            f"refusing to replace {report}: it is not a report pip-lambda wrote",
            hint="pass --report with another path, or move that file away if it may be replaced",
        )


def check_page(page: Path, start: bytes, option: str, targets: Sequence[Path], outputs: Sequence[Path]) -> None:
    """Refuse a page path (``option``'s value) that is an output, inside a target, on a folder or under a file, or
    over a file that does not begin with ``start``, as every such page pip-lambda writes does."""
    for output in outputs:
        if page.resolve() == output.resolve():
            raise UnsafePathError(
                f"the size report {page} is also the path of {output}",
                hint=f"pass {option} with a path of its own, such as build/size.html",
            )
    _check_place(page, "the size report", option, targets)
    if _holds_anything(page) and _start(page, len(start)) != start:
        raise UnsafePathError(
            f"refusing to replace {page}: it is not a size report pip-lambda wrote",
            hint=f"pass {option} with another path, or move that file away if it may be replaced",
        )


def _check_place(path: Path, what: str, option: str, targets: Sequence[Path]) -> None:
    for target in targets:
        if path.resolve().is_relative_to(target.resolve()):
            raise UnsafePathError(
                f"{what} {path} is inside the target folder {target}, which every build replaces",
                hint=f"pass {option} with a path outside the target",
            )
    if path.is_dir():
        raise UnsafePathError(f"{what} {path} is a folder", hint=f"pass {option} with a file path")
    for folder in path.parents:
        if folder.exists():
            if not folder.is_dir():
                raise UnsafePathError(
                    f"{what} {path} cannot be written: {folder} is a file, not a folder",
                    hint=f"pass {option} with a path in a folder",
                )
            break


def _holds_anything(path: Path) -> bool:
    """A file with content at ``path``: an empty one holds nothing to lose."""
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


def _start(path: Path, size: int) -> bytes:
    """The first bytes of a file; none when it cannot be read (it is then refused as not pip-lambda's)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""
