"""The zip step alone: pip-lambda's writer on an installed tree, each file that is still its wheel's member copied.

    python benchmarks/zipstep.py TREE OUTPUT.zip --wheels WHEELHOUSE [--runs 3] [--no-raw] [--level 5]

The build gets the wheel member of every file from its wheel store; here the
same mapping is made from the wheel files in WHEELHOUSE whose ``.dist-info``
is in TREE (matched by path; the writer still checks each file's size and crc
before copying). Timed in this process, as a build runs it: the tree walk, the
writer and its fsync; reading the wheels' directories is timed apart. Prints
one JSON object: median seconds, zip bytes, files and the files and bytes
copied from wheels.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import time
from pathlib import Path

from pip_lambda.archive.reader import raw_members
from pip_lambda.archive.writer import DEFAULT_LEVEL, RawSource, collect_entries, with_raw_sources, write_zip
from pip_lambda.tree.staging import MARKER

_SCHEME = re.compile(r"[^/]+\.data/(purelib|platlib|data)/(.+)")


def wheel_sources(tree: Path, wheelhouse: Path) -> dict[str, RawSource]:
    """The wheel member each file of ``tree`` came from, by path in the tree, for the wheels installed there."""
    installed = {path.name.lower() for path in tree.glob("*.dist-info")}
    sources: dict[str, RawSource] = {}
    for wheel in sorted(wheelhouse.glob("*.whl")):
        name, version = wheel.name.split("-")[:2]
        if f"{name}-{version}.dist-info".lower() not in installed:
            continue
        for member_name, member in raw_members(wheel).items():
            scheme = _SCHEME.match(member_name)
            if scheme is None and member_name.split("/")[0].endswith(".data"):
                continue  # scripts (rewritten) and headers (left out) are not in the tree as they are
            sources[scheme.group(2) if scheme else member_name] = RawSource(wheel, member)
    return sources


class _Copied(logging.Handler):
    """Keeps the writer's count of copied files and bytes."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.args: tuple[object, ...] = ()

    def emit(self, record: logging.LogRecord) -> None:
        if "copied from wheels" in record.msg:
            self.args = tuple(record.args or ())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tree", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--wheels", type=Path, help="the wheels the tree was installed from")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--level", type=int, default=DEFAULT_LEVEL)
    options = parser.parse_args()
    started = time.perf_counter()
    sources = wheel_sources(options.tree, options.wheels) if options.wheels else {}
    mapping = time.perf_counter() - started
    copied = _Copied()
    writer_log = logging.getLogger("pip_lambda.archive.writer")
    writer_log.addHandler(copied)
    writer_log.setLevel(logging.DEBUG)
    seconds = []
    for _ in range(options.runs):
        options.output.unlink(missing_ok=True)
        started = time.perf_counter()
        entries = with_raw_sources(collect_entries(options.tree, exclude=(MARKER,)), sources)
        result = write_zip(entries, options.output, level=options.level)
        seconds.append(time.perf_counter() - started)
    copied_files, files, copied_bytes, _ = copied.args or (0, 0, 0, 0)
    print(
        json.dumps(
            {
                "seconds": statistics.median(seconds),
                "all_seconds": seconds,
                "mapping_seconds": mapping,
                "bytes": result.size,
                "files": files,
                "copied_files": copied_files,
                "copied_bytes": copied_bytes,
            }
        )
    )


if __name__ == "__main__":
    main()
