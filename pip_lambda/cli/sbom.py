"""``pip-lambda sbom PATH``: a CycloneDX bill of materials of a zip or folder, built by any tool."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pip_lambda.cli.help import SBOM_EPILOG
from pip_lambda.cli.install import require_sbom_library
from pip_lambda.cli.terminal import configure_logging
from pip_lambda.config.files import find_config
from pip_lambda.config.options import INSTALL_OPTIONS, Option, build_parser
from pip_lambda.config.request import target_for
from pip_lambda.config.sources import command_line_source, environment_source, settings_for
from pip_lambda.errors import EXIT_OK, UsageError
from pip_lambda.pipeline import settle_pending
from pip_lambda.tree.outputs import SBOM, check_side_output

SBOM_OPTIONS: tuple[Option, ...] = (
    INSTALL_OPTIONS[0],
    INSTALL_OPTIONS[1],
    Option("layer", "bool", "PATH is a layer (default: when every file is under python/)"),
    Option(
        "output",
        "str",
        "write the bill of materials to FILE (default: print it)",
        short="-o",
        metavar="FILE",
        configurable=False,
    ),
    Option("quiet", "count", "less output (repeatable)", short="-q"),
    Option("verbose", "count", "more output (repeatable)", short="-v"),
)


def run_sbom(argv: Sequence[str]) -> int:
    parser = build_parser(
        "pip-lambda sbom",
        SBOM_OPTIONS,
        usage="%(prog)s [options] PATH",
        description="Write a CycloneDX 1.6 JSON bill of materials of a Lambda zip or folder, built by any tool.",
        epilog=SBOM_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="store_true", help="show this help and exit")
    parser.add_argument("path", metavar="PATH", nargs="?", help="the zip file or folder")
    namespace = parser.parse_args(argv)
    if namespace.help:
        print(parser.format_help(), end="")
        return EXIT_OK
    if namespace.path is None:
        raise UsageError("sbom needs the PATH of a zip file or folder", hint="see 'pip-lambda sbom --help'")
    configure_logging(namespace.verbose - namespace.quiet)
    settings = settings_for(
        command_line_source(vars(namespace), SBOM_OPTIONS), environment_source(os.environ), find_config()
    )
    target = target_for(settings, None)
    path = Path(namespace.path)
    if not path.exists():
        raise UsageError(f"{path} does not exist", hint="give a zip file or a folder")
    output = Path(namespace.output) if namespace.output else None
    if output is not None:
        check_side_output(output, SBOM, [path] if path.is_dir() else [], [path])
    require_sbom_library()
    from pip_lambda.report.sbom import bill_of_materials, path_package, write_sbom  # the library is an optional extra

    settle_pending(path)
    package = path_package(path, target, True if settings["layer"].value else None)
    if output is None:
        sys.stdout.write(bill_of_materials(package))
    else:
        write_sbom(package, output)
    return EXIT_OK
