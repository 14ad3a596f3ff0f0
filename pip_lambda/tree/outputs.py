"""What a build writes besides its target, checked before anything runs: the zip, the report, the SBOM
and the size page.

None may land inside the target (every build replaces it), on a folder or
under a file, or on another; and none replaces a file pip-lambda did not
write: an existing zip must carry pip-lambda's comment (or be an empty file),
an existing report, SBOM or page must be one pip-lambda wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pip_lambda.archive.writer import ZIP_MAGIC, written_by_pip_lambda
from pip_lambda.errors import UnsafePathError


def check_output(output: Path, target_dir: Path) -> None:
    """Refuse a zip path inside the target, on a folder or under a file, or over a file pip-lambda did not write."""
    _check_place(output, "the output", "-o/--output", [target_dir])
    if _holds_anything(output) and not written_by_pip_lambda(output):
        start = _start(output, len(ZIP_MAGIC))
        kind = "not a zip" if start != ZIP_MAGIC else "a zip pip-lambda did not write"
        raise UnsafePathError(
            f"refusing to replace {output}: it is {kind}",
            hint="pass -o/--output with another path, or move that file away if it may be replaced",
        )


@dataclass(frozen=True)
class SideOutput:
    """A file a build writes besides the zip, and how pip-lambda recognises one it wrote itself."""

    what: str
    """How messages name it: ``the report``."""
    option: str
    """The option that names it: ``--report``."""
    example: str
    """A path of its own to suggest: ``build/report.json``."""
    start: bytes = b""
    """How every such file pip-lambda writes begins."""
    contains: bytes = b""
    """What every such file holds within its first ``look`` bytes (when its start is not fixed)."""
    look: int = 0

    def written_by_pip_lambda(self, path: Path) -> bool:
        head = _start(path, max(len(self.start), self.look))
        return head.startswith(self.start) and self.contains in head


REPORT = SideOutput("the report", "--report", "build/report.json", start=b'{\n  "report_version":')
"""report/document.py writes indented JSON, report_version first."""
SBOM = SideOutput(
    "the bill of materials", "--sbom", "build/sbom.cdx.json", contains=b'"bomFormat": "CycloneDX"', look=1 << 26
)
"""The CycloneDX library writes bomFormat near the end, so a whole SBOM of up to 64 MiB is searched."""


def check_side_output(path: Path, kind: SideOutput, targets: Sequence[Path], others: Sequence[Path]) -> None:
    """Refuse a path for ``kind`` that is one of the ``others`` (the zips, the report), inside a target, on a
    folder or under a file, or over a file of that kind pip-lambda did not write."""
    for other in others:
        if path.resolve() == other.resolve():
            raise UnsafePathError(
                f"{kind.what} {path} is also the path of {other}",
                hint=f"pass {kind.option} with a path of its own, such as {kind.example}",
            )
    _check_place(path, kind.what, kind.option, targets)
    if _holds_anything(path) and not kind.written_by_pip_lambda(path):
        raise UnsafePathError(
            f"refusing to replace {path}: it is not {kind.what.replace('the ', 'a ', 1)} pip-lambda wrote",
            hint=f"pass {kind.option} with another path, or move that file away if it may be replaced",
        )


def _check_place(path: Path, what: str, option: str, targets: Sequence[Path]) -> None:
    for target_dir in targets:
        if path.resolve().is_relative_to(target_dir.resolve()):
            raise UnsafePathError(
                f"{what} {path} is inside the target folder {target_dir}, which every build replaces",
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
