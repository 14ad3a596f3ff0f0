"""The command line of ``install``, ``build`` and ``lock``: pip-lambda's options parsed, pip's split off."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from pip_lambda.cli.terminal import configure_logging
from pip_lambda.config.options import INSTALL_OPTIONS, Option, build_parser, split_argv


def parse_command(
    argv: Sequence[str], prog: str, epilog: str, options: Sequence[Option] = INSTALL_OPTIONS
) -> tuple[argparse.Namespace, list[str]] | None:
    """pip-lambda's options and pip's arguments; None when help was asked for (and printed).

    ``-h`` after ``--`` belongs to pip, so only the tokens before the separator are looked at.
    """
    parser = build_parser(
        prog,
        options,
        usage="%(prog)s [options] [pip install arguments...]",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    before_separator = argv[: argv.index("--")] if "--" in argv else argv
    if "-h" in before_separator or "--help" in before_separator:
        print(parser.format_help(), end="")
        return None
    ours, pips = split_argv(argv, options)
    namespace = parser.parse_args(ours)
    configure_logging(namespace.verbose - namespace.quiet)
    return namespace, pips
