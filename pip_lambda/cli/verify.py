"""``pip-lambda verify PATH``: check a zip or folder, built by any tool, for a Lambda target."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from pip_lambda.checks.findings import table, to_json
from pip_lambda.checks.verify import summary, verify_path
from pip_lambda.cli.help import VERIFY_EPILOG
from pip_lambda.cli.terminal import configure_logging, end_status
from pip_lambda.config.files import find_config
from pip_lambda.config.options import VERIFY_OPTIONS, build_parser
from pip_lambda.config.request import target_for
from pip_lambda.config.sources import command_line_source, environment_source, settings_for
from pip_lambda.errors import EXIT_OK, EXIT_VERIFY_FAILED, UsageError
from pip_lambda.pipeline import settle_pending
from pip_lambda.plan.layers import read_layers
from pip_lambda.plan.limits import check_unzipped
from pip_lambda.plan.request import VerifyOptions


def run_verify(argv: Sequence[str]) -> int:
    parser = build_parser(
        "pip-lambda verify",
        VERIFY_OPTIONS,
        usage="%(prog)s [options] PATH",
        description="Check that a Lambda zip or folder, built by any tool, will load on the runtime.",
        epilog=VERIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="store_true", help="show this help and exit")
    parser.add_argument("path", metavar="PATH", nargs="?", help="the zip file or folder to verify")
    namespace = parser.parse_args(argv)
    if namespace.help:
        print(parser.format_help(), end="")
        return EXIT_OK
    if namespace.path is None:
        raise UsageError("verify needs the PATH of a zip file or folder", hint="see 'pip-lambda verify --help'")
    verbosity = namespace.verbose - namespace.quiet
    configure_logging(verbosity)
    command_line = command_line_source(vars(namespace), VERIFY_OPTIONS)
    settings = settings_for(command_line, environment_source(os.environ), find_config())
    target = target_for(settings, "checking")
    path = Path(namespace.path)
    options = VerifyOptions(
        import_test=getattr(namespace, "import") or bool(settings["handler"].value),
        handler=settings["handler"].value or None,
        python=settings["python"].value or None,
    )
    settle_pending(path)
    with_layers = [Path(layer) for layer in settings["with-layer"].value]
    for layer in with_layers:
        settle_pending(layer)
    layers = read_layers(with_layers, target)
    result = verify_path(path, target, bool(settings["layer"].value), options, layers)
    end_status()
    if layers:
        check_unzipped(result.size, (), layers)
    if namespace.json:
        about: dict[str, object] = {"path": str(path), "runtime": target.runtime.name, "arch": str(target.arch)}
        about.update(layer=bool(settings["layer"].value), distributions=result.distributions, files=result.files)
        if layers:
            about["with_layers"] = [{"path": str(each.path), "sha256": each.sha256} for each in layers]
        about["import_test"] = result.import_status.as_json() if result.import_status else None
        print(to_json(result.findings, **about))
        return EXIT_OK if result.ok else EXIT_VERIFY_FAILED
    if result.findings:
        print(table(result.findings))
    if verbosity >= 0 or not result.ok:
        print(summary(result, path, target))
    return EXIT_OK if result.ok else EXIT_VERIFY_FAILED
