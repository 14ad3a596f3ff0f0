"""Build pip's command line for a target and run it: every pip process starts here, through one runner.

The runner is injected the way pypa/build injects its subprocess runner: a
callable that runs a command with an environment and hands each output line
back.  The default starts a real subprocess; ``using_runner`` puts another in
place for the code it wraps (the tests' in-process pip, a counting wrapper).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pip_lambda.errors import PipFailedError
from pip_lambda.pip.progress import Progress
from pip_lambda.pip.seam import MARKERS_VARIABLE
from pip_lambda.plan.target import Target
from pip_lambda.system.redact import redact
from pip_lambda.system.signals import run_child

log = logging.getLogger(__name__)

# Settings that would send pip's output elsewhere or change what "install" means.
_DROPPED_VARIABLES = (
    "PIP_TARGET",
    "PIP_PREFIX",
    "PIP_ROOT",
    "PIP_USER",
    "PIP_EDITABLE",
    "PIP_SRC",
    "PIP_PYTHON",
    "PIP_REQUIRE_VIRTUALENV",
)


@dataclass(frozen=True)
class PipRun:
    """What pip printed, for the log and for explaining failures."""

    command: tuple[str, ...]
    output: str
    returncode: int = 0


class PipRunner(Protocol):
    """Runs one pip command line with ``environment``, passing each output line to ``line``; returns the exit code."""

    def __call__(self, command: Sequence[str], environment: Mapping[str, str], line: Callable[[str], None]) -> int: ...


def subprocess_runner(command: Sequence[str], environment: Mapping[str, str], line: Callable[[str], None]) -> int:
    """The real runner: pip in a subprocess, stdout and stderr merged; an interrupt stops pip and its children."""
    return run_child(command, environment, line)


_runner: ContextVar[PipRunner] = ContextVar("pip_runner", default=subprocess_runner)


@contextlib.contextmanager
def using_runner(runner: PipRunner) -> Iterator[PipRunner]:
    """Start every pip process through ``runner`` inside the ``with`` block."""
    token = _runner.set(runner)
    try:
        yield runner
    finally:
        _runner.reset(token)


def install_command(
    target: Target, destination: Path, pip_args: Sequence[str], platforms: Sequence[str] = ()
) -> list[str]:
    """``python -m pip install`` with the target's flags, through the marker seam."""
    command = [sys.executable, "-m", "pip_lambda.pip.seam", "install", "--target", str(destination)]
    return command + _target_options(target, platforms, "--no-compile") + list(pip_args)


def download_command(
    target: Target, destination: Path, pip_args: Sequence[str], platforms: Sequence[str] = ()
) -> list[str]:
    """``python -m pip download`` of wheels for the target into ``destination``, through the marker seam."""
    command = [sys.executable, "-m", "pip_lambda.pip.seam", "download", "--dest", str(destination)]
    return command + _target_options(target, platforms) + list(pip_args)


def _target_options(target: Target, platforms: Sequence[str], *extra: str) -> list[str]:
    options = []
    for tag in platforms or target.platform_tags:
        options += ["--platform", tag]
    options += [
        "--implementation", "cp",
        "--python-version", target.runtime.python_version,
        "--only-binary=:all:",
        *extra,
        "--no-input",
        "--disable-pip-version-check",
    ]  # fmt: skip
    return options


def pip_environment(target: Target, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment (pip.conf and PIP_* reach pip), less what conflicts with --target."""
    environment = {
        key: value for key, value in (os.environ if base is None else base).items() if key not in _DROPPED_VARIABLES
    }
    environment[MARKERS_VARIABLE] = json.dumps(target.marker_environment, sort_keys=True)
    environment["PYTHONIOENCODING"] = "utf-8"
    return environment


def run_pip(
    command: Sequence[str], environment: Mapping[str, str], *, stream: bool = False, check: bool = True
) -> PipRun:
    """Run pip through the runner; with ``check``, raise PipFailedError carrying pip's own error lines when it fails.

    pip's output always passes through pip-lambda, credentials masked: with
    ``stream`` each line is logged as it comes; without, a progress line
    (pip/progress.py) is logged at least every 30 seconds while pip runs.
    """
    log.debug("running %s", redact(" ".join(command)))
    lines: list[str] = []
    progress = None if stream else Progress(_clock())

    def take(raw: str) -> None:
        line = redact(raw)
        lines.append(line)
        if progress is None:
            log.info("%s", line)
            return
        progress.feed(line)
        _say(progress.due(_clock()))

    with _ticking(progress):
        returncode = _runner.get()(command, environment, take)
    output = "\n".join(lines)
    if check and returncode != 0:
        raise PipFailedError(f"pip failed (exit code {returncode})", detail=pip_error_lines(output))
    return PipRun(tuple(command), output, returncode)


_clock: Callable[[], float] = time.monotonic
"""Where a pip step's time comes from (a test puts a clock of its own here)."""
_TICK_SECONDS = 1.0
"""How often a silent pip is checked for a progress line that is due."""


def _say(line: str | None) -> None:
    if line is not None:
        log.info("%s", line, extra={"progress": True})


@contextlib.contextmanager
def _ticking(progress: Progress | None) -> Iterator[None]:
    """While inside, a thread gives the progress line when one is due even if pip prints nothing."""
    if progress is None:
        yield
        return
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(_TICK_SECONDS):
            _say(progress.due(_clock()))

    thread = threading.Thread(target=tick, name="pip-lambda-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def pip_error_lines(output: str) -> str:
    """pip's own error lines (from the first ``ERROR:``), or the tail of its output."""
    lines = output.rstrip().splitlines()
    for index, line in enumerate(lines):
        if line.startswith("ERROR:"):
            return "\n".join(lines[index:])
    return "\n".join(lines[-15:])
