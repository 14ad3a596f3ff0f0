"""``pip-lambda size PATH``: why a zip, folder or JSON report is as big as it is, and why each part is there."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

from pip_lambda.cli.help import SIZE_EPILOG
from pip_lambda.cli.terminal import configure_logging, end_status
from pip_lambda.config.files import find_config
from pip_lambda.config.options import SIZE_OPTIONS, build_parser
from pip_lambda.config.request import target_for
from pip_lambda.config.sources import command_line_source, environment_source, settings_for
from pip_lambda.errors import EXIT_OK, UsageError
from pip_lambda.pipeline import settle_pending
from pip_lambda.report.measure import of_path
from pip_lambda.report.size import Chains, SizeAnalysis, file_rows, part_rows
from pip_lambda.report.text import human, table
from pip_lambda.report.treemap import PAGE_START, render, write_page
from pip_lambda.tree.outputs import SideOutput, check_side_output

JSON_SCHEMA = "pip-lambda-size"
JSON_VERSION = 1
FILES_SHOWN = 10
_CHAINS = {
    Chains.REQUIREMENTS: "chains start at the build's top-level requirements",
    Chains.UNREQUIRED: "chains start at what nothing else in the package requires",
    Chains.UNKNOWN: "the chains are not known",
}


def run_size(argv: Sequence[str]) -> int:
    parser = build_parser(
        "pip-lambda size",
        SIZE_OPTIONS,
        usage="%(prog)s [options] PATH",
        description="Why a Lambda zip, folder or pip-lambda report is as big as it is, and why each part is there.",
        epilog=SIZE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="store_true", help="show this help and exit")
    parser.add_argument("path", metavar="PATH", nargs="?", help="a zip, a folder, or a JSON report of pip-lambda")
    namespace = parser.parse_args(argv)
    if namespace.help:
        print(parser.format_help(), end="")
        return EXIT_OK
    if namespace.path is None:
        raise UsageError("size needs the PATH of a zip, a folder or a report", hint="see 'pip-lambda size --help'")
    verbosity = namespace.verbose - namespace.quiet
    configure_logging(verbosity)
    settings = settings_for(
        command_line_source(vars(namespace), SIZE_OPTIONS), environment_source(os.environ), find_config()
    )
    target = target_for(settings, None)
    path = Path(namespace.path)
    page = Path(namespace.html) if namespace.html else None
    if page is not None:
        check_side_output(
            page, SideOutput("the size report", "--html", "size.html", start=PAGE_START.encode()), [], [path]
        )
    settle_pending(path)
    packages = of_path(path, True if settings["layer"].value else None, target)
    if page is not None:
        write_page(render(packages), page)
    end_status()
    if namespace.json:
        document = {"schema": JSON_SCHEMA, "version": JSON_VERSION, "path": str(path)}
        document["packages"] = [{"title": title, **analysis.to_json()} for title, analysis in packages]
        print(json.dumps(document, indent=2))
    elif verbosity >= 0:
        print("\n\n".join("\n".join(_lines(title, analysis)) for title, analysis in packages))
    return EXIT_OK


def _lines(title: str, analysis: SizeAnalysis) -> list[str]:
    count = sum(1 for part in analysis.parts if not part.is_code)
    zipped = "" if analysis.zip_size is None else f", {human(analysis.zip_size)} zipped"
    lines = [f"{title}: {human(analysis.unzipped)} unzipped{zipped}, {count} distributions; {_CHAINS[analysis.chains]}"]
    lines += table(part_rows(analysis), right=(2, 3))
    if analysis.largest_files:
        lines.append("")
        lines += table(file_rows(analysis, FILES_SHOWN), right=(1, 2))
    lines += [f"  note: {note}" for note in analysis.notes]
    return lines
