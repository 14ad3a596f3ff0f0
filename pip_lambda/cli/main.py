"""The command line: dispatches to a command, prints errors and turns them into exit codes."""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from pip_lambda import __version__
from pip_lambda.cli.help import TOP_HELP
from pip_lambda.cli.terminal import end_status, paint, use_colour
from pip_lambda.errors import PipLambdaError, UsageError
from pip_lambda.system.redact import redact, remember, remember_environment
from pip_lambda.system.signals import Terminated, forget_replacements, signals_raise, stop_outcome

log = logging.getLogger("pip_lambda")

EXIT_INTERRUPTED = 130
EXIT_UNEXPECTED = 70


COMMANDS: dict[str, tuple[str, str]] = {
    "install": ("install", "run_install"),
    "build": ("install", "run_build"),
    "verify": ("verify", "run_verify"),
    "size": ("size", "run_size"),
    "cache": ("cache", "run_cache"),
    "diff": ("diff", "run_diff"),
    "sbom": ("sbom", "run_sbom"),
    "lock": ("lock", "run_lock"),
}
"""Each command's module in pip_lambda.cli and its function: imported when the command runs, so a command
loads only what it uses (a no-op rebuild never imports the size report, the SBOM or the zip reader)."""


def command_for(name: str) -> Callable[[Sequence[str]], int] | None:
    """The function that runs command ``name``, or None for an unknown command."""
    if name not in COMMANDS:
        return None
    module, function = COMMANDS[name]
    run: Callable[[Sequence[str]], int] = getattr(importlib.import_module(f"pip_lambda.cli.{module}"), function)
    return run


def report_error(error: PipLambdaError) -> None:
    end_status()
    if error.detail:
        print(redact(error.detail.rstrip()), file=sys.stderr)
    text = f"{error.message}; {error.hint}" if error.hint else error.message
    print(f"{paint('error:', 'red', use_colour(sys.stderr))} {redact(one_line(text))}", file=sys.stderr)


def one_line(text: str) -> str:
    """Control characters (a newline in a file name) escaped, so that an error stays one line."""
    return "".join(
        char if char.isprintable() or char == " " else char.encode("unicode_escape").decode() for char in text
    )


class _QuietStdout(io.TextIOWrapper):
    """The standard output, gone quiet once its reader has left (``pip-lambda … | head``).

    The command runs to its end (its report written, its exit code kept) and
    what it still prints goes to the null device, as ``diff`` does.
    """

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except BrokenPipeError:
            _discard_stdout(self)
            return len(text)

    def flush(self) -> None:
        try:
            super().flush()
        except BrokenPipeError:
            _discard_stdout(self)


def _discard_stdout(stream: io.TextIOWrapper) -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, stream.fileno())
    os.close(null)


@contextlib.contextmanager
def _reader_may_leave() -> Iterator[None]:
    """sys.stdout as a _QuietStdout over the same buffer while a command runs."""
    original = sys.stdout
    if not isinstance(original, io.TextIOWrapper):  # replaced by a caller that handles its own output
        yield
        return
    original.flush()
    quiet = _QuietStdout(
        original.buffer, encoding=original.encoding, errors=original.errors, line_buffering=original.line_buffering
    )
    sys.stdout = quiet
    try:
        yield
    finally:
        quiet.flush()
        quiet.detach()  # the buffer stays open: it is the original stream's
        sys.stdout = original


def main(argv: Sequence[str] | None = None) -> int:
    """Run pip-lambda with ``argv`` (default: the process arguments) and return the exit code."""
    with _reader_may_leave():
        return _run(list(sys.argv[1:] if argv is None else argv))


def _run(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help"):
        print(TOP_HELP, end="")
        return 0 if args else 2
    if args[0] == "--version":
        print(f"pip-lambda {__version__} from {Path(__file__).parent} (Python {sys.version.split()[0]})")
        return 0
    remember_environment(os.environ)
    remember(args)
    forget_replacements()
    try:
        with signals_raise():
            command = command_for(args[0])
            if command is None:
                raise UsageError(f"unknown command {args[0]!r}", hint=f"choose one of: {', '.join(COMMANDS)}")
            return command(args[1:])
    except PipLambdaError as error:
        report_error(error)
        return error.exit_code
    except KeyboardInterrupt:
        end_status()
        print(f"error: interrupted; {stop_outcome()}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated as stopped:
        end_status()
        print(f"error: stopped by {stopped.name}; {stop_outcome()}", file=sys.stderr)
        return stopped.exit_code
    except Exception as error:  # noqa: BLE001 - the last line of defence against a traceback
        end_status()
        if log.isEnabledFor(logging.DEBUG):
            print(redact(traceback.format_exc()), end="", file=sys.stderr)
        what = one_line(f"unexpected {type(error).__name__}: {error}; {stop_outcome()}")
        print(redact(f"error: {what}; rerun with -v for the traceback and report it"), file=sys.stderr)
        return EXIT_UNEXPECTED
