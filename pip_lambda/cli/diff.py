"""``pip-lambda diff OLD NEW``: what changed between two packages (zips, folders or JSON reports)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from pip_lambda.archive.contents import read_contents
from pip_lambda.cli.help import DIFF_EPILOG
from pip_lambda.cli.terminal import configure_logging, end_status
from pip_lambda.config.options import Option, build_parser
from pip_lambda.errors import EXIT_OK, UsageError
from pip_lambda.pipeline import settle_pending
from pip_lambda.report.diff import SHOWN_PER_DISTRIBUTION, compare, diff_json, diff_lines

EXIT_DIFFERENT = 1
"""Like diff(1): 0 when the packages hold the same files, 1 when they differ, 2 on bad input."""

DIFF_OPTIONS: tuple[Option, ...] = (
    Option("json", "bool", "print the differences as JSON (schema: pip_lambda/data/diff.schema.json)"),
    Option(
        "name",
        "str",
        "the build to compare when a report holds several (its named target)",
        metavar="NAME",
        configurable=False,
    ),
    Option("quiet", "count", "print nothing; only the exit code tells", short="-q"),
    Option("verbose", "count", "list every changed file (by default at most 10 per distribution)", short="-v"),
)


def run_diff(argv: Sequence[str]) -> int:
    parser = build_parser(
        "pip-lambda diff",
        DIFF_OPTIONS,
        usage="%(prog)s [options] OLD NEW",
        description="Show what changed between two Lambda packages: zips, folders or JSON reports (--report).",
        epilog=DIFF_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="store_true", help="show this help and exit")
    parser.add_argument("paths", metavar="OLD NEW", nargs="*", help="the packages to compare")
    namespace = parser.parse_args(argv)
    if namespace.help:
        print(parser.format_help(), end="")
        return EXIT_OK
    if len(namespace.paths) != 2:
        raise UsageError("diff needs two packages, OLD and NEW", hint="see 'pip-lambda diff --help'")
    configure_logging(namespace.verbose - namespace.quiet)
    sides = []
    for given in namespace.paths:
        path = Path(given)
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{path} does not exist", hint="give a zip, a folder or a JSON report")
        settle_pending(path)
        sides.append(read_contents(path, namespace.name))
    diff = compare(*sides)
    end_status()
    if namespace.json:
        print(json.dumps(diff_json(diff), indent=2))
    elif namespace.quiet <= 0:
        print("\n".join(diff_lines(diff, None if namespace.verbose > 0 else SHOWN_PER_DISTRIBUTION)))
    return EXIT_OK if diff.equal else EXIT_DIFFERENT
