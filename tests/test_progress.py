"""A long pip step in a CI log says what it is doing at least every 30 seconds, from pip's own (masked) lines.

Time is a fake clock the tests move, so nothing sleeps: pip's lines come from
a runner at the pip seam that moves the clock between them.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence

import pytest

from pip_lambda.cli.terminal import TerminalHandler
from pip_lambda.errors import EXIT_OK
from pip_lambda.pip import run as piprun
from pip_lambda.pip.progress import EVERY_SECONDS, Progress
from pip_lambda.pip.run import run_pip, using_runner
from pip_lambda.system.redact import remember

from conftest import FakePip

NUMPY = "numpy-2.1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
PIP_LINES = [
    "Collecting numpy==2.1.0 (from -r requirements.txt (line 1))",
    f"  Downloading {NUMPY}.metadata (60 kB)",
    f"Downloading {NUMPY} (16.0 MB)",
    "Collecting six",
    "  Using cached six-1.16.0-py2.py3-none-any.whl (11 kB)",
    "Installing collected packages: six, numpy",
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(piprun, "_clock", fake)
    return fake


@pytest.fixture
def said() -> Iterator[list[str]]:
    """The progress lines pip/run.py logs."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if getattr(record, "progress", False):
                lines.append(record.getMessage())

    handler = Keep()
    logger = logging.getLogger("pip_lambda.pip.run")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def slow_pip(clock: Clock, lines: Sequence[str], seconds: float) -> Callable[..., int]:
    """A runner printing ``lines``, ``seconds`` apart on the clock."""

    def runner(command: Sequence[str], environment: Mapping[str, str], line: Callable[[str], None]) -> int:
        for text in lines:
            clock.now += seconds
            line(text)
        return 0

    return runner


def test_nothing_is_said_before_thirty_seconds_then_what_pip_is_on_and_how_far():
    progress = Progress(0.0)
    for line in PIP_LINES[:3]:
        progress.feed(line)
    assert progress.due(EVERY_SECONDS - 0.1) is None
    assert progress.due(EVERY_SECONDS) == (
        f"pip, 30s in: downloading {NUMPY} (16.0 MB); 1 requirements collected, 1 files fetched (16.0 MB)"
    )
    assert progress.due(EVERY_SECONDS + 10) is None
    for line in PIP_LINES[3:]:
        progress.feed(line)
    assert progress.due(2 * EVERY_SECONDS + 5) == (
        "pip, 1m05s in: installing 2 distributions; 2 requirements collected, 2 files fetched (16.0 MB)"
    )


def test_a_silent_pip_still_gets_a_line_every_thirty_seconds():
    progress = Progress(0.0)
    progress.feed(f"Downloading {NUMPY} (160.0 MB)")
    times = [step * 10.0 for step in range(1, 19)]  # three minutes, no new line from pip
    lines = [line for line in (progress.due(now) for now in times) if line is not None]
    assert len(lines) == 6
    assert all(f"downloading {NUMPY} (160.0 MB)" in line for line in lines)


def test_run_pip_says_it_while_pip_runs_with_credentials_masked(clock, said):
    remember(["https://alice:s3cret@pypi.example/simple"])
    lines = ["Downloading x-1.0-py3-none-any.whl (900 bytes)", "Collecting https://alice:s3cret@pypi.example/y.whl"]
    with using_runner(slow_pip(clock, lines * 6, 11.0)):  # 12 lines, 11 s apart: 132 s
        run_pip(["pip", "install", "x"], {})
    assert [line.split(":", 1)[0] for line in said] == [
        "pip, 33s in",
        "pip, 1m06s in",
        "pip, 1m39s in",
        "pip, 2m12s in",
    ]
    assert "s3cret" not in "".join(said)
    assert said[-1].startswith("pip, 2m12s in: collecting https://alice:*")
    assert said[-1].endswith("@pypi.example/y.whl; 6 requirements collected, 6 files fetched (0.0 MB)")


def test_with_pips_own_output_shown_there_is_no_progress_line(clock, said):
    with using_runner(slow_pip(clock, PIP_LINES * 3, 20.0)):
        run_pip(["pip", "install", "x"], {}, stream=True)
    assert said == []


def test_the_line_comes_even_when_pip_prints_nothing(clock, said, monkeypatch):
    monkeypatch.setattr(piprun, "_TICK_SECONDS", 0.01)
    arrived = threading.Event()

    class Notice(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            arrived.set()

    notice = Notice()
    logging.getLogger("pip_lambda.pip.run").addHandler(notice)

    def silent(command: Sequence[str], environment: Mapping[str, str], line: Callable[[str], None]) -> int:
        line(f"Downloading {NUMPY} (16.0 MB)")
        clock.now += 31
        arrived.wait(timeout=60)  # a bound for a loaded machine, not a measurement
        return 0

    try:
        with using_runner(silent):
            run_pip(["pip", "install", "x"], {})
    finally:
        logging.getLogger("pip_lambda.pip.run").removeHandler(notice)
    assert said == [f"pip, 31s in: downloading {NUMPY} (16.0 MB); 0 requirements collected, 1 files fetched (16.0 MB)"]


def test_on_a_live_terminal_the_spinner_shows_it_and_in_a_log_it_is_a_line():
    record = logging.LogRecord("pip_lambda.pip.run", logging.INFO, __file__, 1, "pip, 30s in: x", None, None)
    record.progress = True
    for live, expected in ((True, ""), (False, "pip, 30s in: x\n")):
        stream = io.StringIO()
        TerminalHandler(stream, colour=False, live=live).emit(record)
        assert stream.getvalue() == expected


def test_a_long_install_in_a_ci_log_prints_progress_lines(project, run, wheelhouse, clock, monkeypatch):
    fake = FakePip()

    def slow(command: Sequence[str], environment: Mapping[str, str], line: Callable[[str], None]) -> int:
        for text in ("Collecting purepkg", "Processing ./wheels/purepkg-1.0-py3-none-any.whl"):
            clock.now += 20
            line(text)
        return fake(command, environment, line)

    with using_runner(slow):
        result = run("install", "--runtime", "python3.12", "--no-index", "--find-links", str(wheelhouse), "purepkg")
    assert result.exit_code == EXIT_OK, result.err
    assert (
        "pip, 40s in: processing purepkg-1.0-py3-none-any.whl; 1 requirements collected, 0 files fetched (0.0 MB)"
        in result.err.splitlines()
    )
