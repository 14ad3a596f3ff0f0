"""The terminal: colour only where wanted, a status line only on a terminal, aligned tables."""

from __future__ import annotations

import io
import logging
import os
import pty
import subprocess
import sys
import time

import pytest

from pip_lambda.cli.terminal import TerminalHandler, live_status, paint, use_colour
from pip_lambda.report.text import table


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("terminal", "environ", "expected"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"NO_COLOR": "1"}, False),
        (True, {"NO_COLOR": ""}, True),
        (False, {"FORCE_COLOR": "1"}, True),
        (True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
        (True, {"TERM": "dumb"}, False),
    ],
)
def test_colour_follows_terminal_no_color_and_force_color(terminal, environ, expected):
    stream = FakeTerminal() if terminal else io.StringIO()
    assert use_colour(stream, environ) is expected


def test_no_status_line_in_ci_or_pipes():
    assert live_status(FakeTerminal(), {}) is True
    assert live_status(FakeTerminal(), {"CI": "true"}) is False
    assert live_status(io.StringIO(), {}) is False


def test_table_aligns_columns_and_right_aligns_numbers():
    assert table([["name", "size"], ["numpy", "12"], ["a", "1,234"]], right=(1,)) == [
        "  name    size",
        "  numpy     12",
        "  a      1,234",
    ]


def test_paint_only_when_enabled():
    assert paint("x", "red", False) == "x"
    assert paint("x", "red", True) == "\x1b[31mx\x1b[0m"


def record(level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord("pip_lambda", level, __file__, 1, message, None, None)


def test_status_line_redraws_on_a_terminal_and_ends_with_the_duration():
    stream = FakeTerminal()
    handler = TerminalHandler(stream, colour=False, live=True, interval=0.01)
    handler.emit(record(logging.INFO, "installing with pip"))
    time.sleep(0.1)
    handler.emit(record(logging.WARNING, "careful"))
    text = stream.getvalue()
    assert text.count("\r") > 2
    assert "| installing with pip (0s)" in text
    assert "\x1b" not in text
    lines = text.replace("\r", "\n").splitlines()
    assert lines[-2].startswith("installing with pip (0.") and lines[-1] == "warning: careful"


def test_plain_lines_when_not_live():
    stream = io.StringIO()
    handler = TerminalHandler(stream, colour=False, live=False)
    handler.emit(record(logging.INFO, "installing with pip"))
    handler.emit(record(logging.WARNING, "careful"))
    assert stream.getvalue() == "installing with pip\nwarning: careful\n"


def test_non_terminal_output_has_no_escape_codes_or_carriage_returns(project, run, offline):
    failed = run("install", "--runtime", "python3.12", *offline, "cp313only")
    assert failed.exit_code != 0 and "error:" in failed.err
    result = run("install", "--runtime", "python3.12", *offline, "purepkg")
    assert result.exit_code == 0
    for text in (failed.out, failed.err, result.out, result.err):
        assert "\x1b" not in text and "\r" not in text
    assert "installing for python3.12 x86_64 with pip\n" in result.err


def run_on_a_terminal(arguments: list[str], environ: dict[str, str], cwd) -> str:
    """Run pip-lambda with stdout and stderr on a pseudo-terminal and return what it drew."""
    main, secondary = pty.openpty()
    environment = {key: value for key, value in os.environ.items() if key not in ("CI", "NO_COLOR", "FORCE_COLOR")}
    environment.update(environ, TERM="xterm")
    process = subprocess.Popen(
        [sys.executable, "-m", "pip_lambda", *arguments],
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
        env=environment,
        cwd=cwd,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=300)
    os.close(main)
    return b"".join(chunks).decode("utf-8", "replace")


def test_terminal_gets_colour_and_a_status_line(project, offline):
    drawn = run_on_a_terminal(["install", "--runtime", "python3.12", *offline, "purepkg"], {}, project)
    assert "\x1b[1mBuilt a function package" in drawn
    assert "\r| installing for python3.12 x86_64 with pip" in drawn


@pytest.mark.parametrize(("package", "words"), [("purepkg", "Built a function package"), ("cp313only", "error:")])
def test_no_color_on_a_terminal_draws_no_escape_codes(project, offline, package, words):
    drawn = run_on_a_terminal(["install", "--runtime", "python3.12", *offline, package], {"NO_COLOR": "1"}, project)
    assert words in drawn
    assert "\x1b" not in drawn


def test_errors_are_red_on_a_terminal(project, offline):
    drawn = run_on_a_terminal(["install", "--runtime", "python3.12", *offline, "cp313only"], {}, project)
    assert "\x1b[31merror:\x1b[0m" in drawn


def test_ci_on_a_terminal_draws_no_status_line(project, offline):
    drawn = run_on_a_terminal(["install", "--runtime", "python3.12", *offline, "purepkg"], {"CI": "true"}, project)
    assert "| installing" not in drawn
    assert "installing for python3.12 x86_64 with pip\r\n" in drawn


def test_install_help_has_worked_examples(run):
    result = run("install", "--help")
    assert result.exit_code == 0
    for example in (
        "pip-lambda install -r requirements.txt --code app.py",
        "pip-lambda install --layer --runtime python3.13 -r requirements.txt",
        "--arch arm64",
        "pip-lambda install --no-deps --require-hashes -r requirements.lock",
        "pip-lambda install --name api --report build/api.json",
    ):
        assert example in result.out
    assert "--report FILE" in result.out and "PIP_LAMBDA_<OPTION>" in result.out
