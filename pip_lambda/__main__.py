"""The command line: parses options, runs a build, prints results and turns errors into exit codes."""

from __future__ import annotations

import argparse
import datetime
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .build import BuildRequest, build
from .errors import PipLambdaError, UsageError
from .options import build_parser, split_argv
from .pipargs import parse_pip_args
from .runtimes import default_runtime, get_runtime
from .summary import summary_lines
from .target import Arch, Target

log = logging.getLogger("pip_lambda")

EXIT_INTERRUPTED = 130
EXIT_UNEXPECTED = 70

INSTALL_EPILOG = """\
Any other argument is passed to 'pip install' unchanged: -r, -c, -i, --extra-index-url,
--find-links, --no-index, --no-deps, --require-hashes, --pre and requirement specifiers.
pip-lambda adds --target, one --platform per tag the runtime can load, --implementation cp,
--python-version, --only-binary=:all: and --no-compile, and evaluates environment markers
for the target.

examples:
  pip-lambda install -r requirements.txt --code app.py          # function zip for this Python
  pip-lambda install --runtime python3.12 --arch arm64 -r requirements.txt
  pip-lambda install --layer --runtime python3.13 -r requirements.txt   # build/layer.zip
  pip-lambda install --no-deps --require-hashes -r requirements.lock    # from a lock file
"""

TOP_HELP = f"""\
usage: pip-lambda install [options] [pip install arguments...]

Build an AWS Lambda deployment package (function or layer zip) with pip,
correct for the Lambda runtime and architecture whatever machine runs it.

commands:
  install    install requirements for a Lambda runtime and write a reproducible zip

'pip-lambda install --help' lists the options.  pip-lambda {__version__}
"""


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        return message if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {message}"


def configure_logging(verbosity: int) -> None:
    """-v shows debug lines, -q hides progress, -qq hides warnings too."""
    level = {1: logging.DEBUG, 0: logging.INFO, -1: logging.WARNING}.get(
        verbosity, logging.DEBUG if verbosity > 0 else logging.ERROR
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def run_install(argv: Sequence[str]) -> int:
    parser = build_parser(
        "pip-lambda install",
        usage="%(prog)s [options] [pip install arguments...]",
        epilog=INSTALL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    before_separator = argv[: argv.index("--")] if "--" in argv else argv
    if "-h" in before_separator or "--help" in before_separator:
        print(parser.format_help(), end="")
        return 0
    ours, pips = split_argv(argv)
    options = parser.parse_args(ours)
    verbosity = options.verbose - options.quiet
    configure_logging(verbosity)
    runtime = get_runtime(options.runtime) if options.runtime else default_runtime()
    arch = Arch.parse(options.arch or "x86_64")
    if str(arch) not in runtime.architectures:
        raise UsageError(
            f"{runtime.name} does not run on {arch}", hint=f"choose one of: {', '.join(runtime.architectures)}"
        )
    target = Target(runtime, arch)
    notice = runtime.deprecation_notice(datetime.date.today())
    if notice:
        log.warning(notice)
    target_dir = Path(options.target or ("build/layer" if options.layer else "build/lambda"))
    request = BuildRequest(
        target=target,
        pip_args=parse_pip_args(pips, target),
        target_dir=target_dir,
        output=None if options.no_zip else Path(options.output or f"{target_dir}.zip"),
        layer=options.layer,
        code=tuple(Path(path) for path in options.code),
        verbosity=verbosity,
    )
    result = build(request)
    for warning in result.warnings:
        log.warning(warning)
    if verbosity >= 0:
        print("\n".join(summary_lines(result)))
    return 0


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {"install": run_install}


def report_error(error: PipLambdaError) -> None:
    if error.detail:
        print(error.detail.rstrip(), file=sys.stderr)
    line = f"error: {error.message}"
    if error.hint:
        line += f"; {error.hint}"
    print(line, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run pip-lambda with ``argv`` (default: the process arguments) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(TOP_HELP, end="")
        return 0 if args else 2
    if args[0] == "--version":
        print(f"pip-lambda {__version__} from {Path(__file__).parent} (Python {sys.version.split()[0]})")
        return 0
    command = COMMANDS.get(args[0])
    try:
        if command is None:
            raise UsageError(f"unknown command {args[0]!r}", hint=f"choose one of: {', '.join(COMMANDS)}")
        return command(args[1:])
    except PipLambdaError as error:
        report_error(error)
        return error.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; the previous package was left as it was", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the last line of defence against a traceback
        if log.isEnabledFor(logging.DEBUG):
            traceback.print_exc()
        print(
            f"error: unexpected {type(error).__name__}: {error}; rerun with -v for the traceback and report it",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED


def entrypoint() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
