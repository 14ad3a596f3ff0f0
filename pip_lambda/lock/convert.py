"""uv.lock and poetry.lock turned into a pylock.toml by their own tools, never parsed by pip-lambda.

uv.lock is uv's private format and poetry.lock Poetry's: each tool exports the
standard pylock.toml itself (``uv export --format pylock.toml``, ``poetry
export -f pylock.toml`` with the export plugin), leaving out development groups
and the project itself; extras and groups asked for are passed to the tool,
which writes them into the export.  The tool runs in the lock's folder as a
child process of its own (stopped with everything it started on an interrupt),
its messages masked and shown with ``-v``; the pylock text it prints is read
from a file, never a pipe that could fill up.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pip_lambda.errors import EnvironmentProblem, UsageError
from pip_lambda.plan.source import SourceKind
from pip_lambda.system.redact import redact
from pip_lambda.system.signals import run_child

log = logging.getLogger(__name__)

_MISSING_PLUGIN = "command export does not exist"
_UNKNOWN_FORMAT = ("pylock.toml", "pylock")
_TAIL = 15


@dataclass(frozen=True)
class Converter:
    """How one tool exports its lock as a pylock.toml."""

    tool: str
    command: tuple[str, ...]
    """The export command after the tool's name, writing the pylock.toml to stdout."""
    extra_option: str
    group_option: str
    install: str
    """How to get the tool, for the error when it is missing."""

    @property
    def name(self) -> str:
        """``uv export``: what the summary says converted the lock."""
        return f"{self.tool} {self.command[0]}"


CONVERTERS: dict[SourceKind, Converter] = {
    SourceKind.UV_LOCK: Converter(
        "uv",
        ("export", "--format", "pylock.toml", "--frozen", "--no-dev", "--no-emit-project"),
        "--extra",
        "--group",
        "install uv (pipx install uv, or pip install uv)",
    ),
    SourceKind.POETRY_LOCK: Converter(
        "poetry",
        # Poetry exports the main group alone unless --with names others.
        ("export", "--format", "pylock.toml", "--no-interaction", "--no-ansi"),
        "--extras",
        "--with",
        "install Poetry (pipx install poetry) and its export plugin (poetry self add poetry-plugin-export)",
    ),
}


def convert(
    kind: SourceKind, lock: Path, *, extras: Sequence[str] = (), groups: Sequence[str] = (), verbose: bool = False
) -> str:
    """The pylock.toml text the tool of ``kind`` exports from ``lock`` (run in the lock's folder)."""
    converter = CONVERTERS[kind]
    executable = shutil.which(converter.tool)
    if executable is None:
        raise EnvironmentProblem(
            f"{lock.name} is converted with '{converter.name}', but {converter.tool} is not on PATH",
            hint=f"{converter.install}, or export a pylock.toml yourself and pass it with --lock",
        )
    command = [executable, *converter.command]
    for extra in extras:
        command += [converter.extra_option, extra]
    for group in groups:
        command += [converter.group_option, group]
    log.info("converting %s to a pylock.toml with %s", lock, converter.name)
    code, text, lines = _run(command, lock.parent, verbose)
    if code != 0:
        raise _failed(converter, lock, code, lines)
    log.debug("%s wrote:\n%s", converter.name, text.rstrip())
    return text


def _run(command: Sequence[str], folder: Path, verbose: bool) -> tuple[int, str, list[str]]:
    """Run the tool: its exit code, what it printed on stdout, its other lines (masked, logged as they come with -v)."""
    log.debug("running %s in %s", redact(" ".join(command)), folder)
    lines: list[str] = []

    def said(raw: str) -> None:
        line = redact(raw)
        lines.append(line)
        if verbose:
            log.info("%s", line)

    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as output:
        code = run_child(command, {**os.environ, "NO_COLOR": "1"}, said, cwd=folder, stdout=output)
        output.seek(0)
        return code, output.read(), lines


def _failed(converter: Converter, lock: Path, code: int, lines: list[str]) -> Exception:
    detail = "\n".join(lines[-_TAIL:])
    said = detail.lower()
    if _MISSING_PLUGIN in said:
        return EnvironmentProblem(
            f"{lock.name} is converted with '{converter.name}', but Poetry has no export command",
            hint="add the export plugin: poetry self add poetry-plugin-export",
            detail=detail,
        )
    if any(word in said for word in _UNKNOWN_FORMAT) and ("invalid" in said or "unknown" in said):
        return EnvironmentProblem(
            f"this {converter.tool} cannot export a pylock.toml (needed for {lock.name})",
            hint=f"upgrade {converter.tool} (uv 0.8 or newer; poetry-plugin-export 1.9 or newer)",
            detail=detail,
        )
    return UsageError(
        f"'{converter.name}' could not convert {lock} (exit code {code})",
        hint=f"fix what {converter.tool} says above, or export a pylock.toml yourself and pass it with --lock",
        detail=detail,
    )
