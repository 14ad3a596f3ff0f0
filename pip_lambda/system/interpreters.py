"""Find an interpreter of the target's Python version and architecture on this machine.

Each candidate command is started once per process to ask its version and
machine; the answer is kept, so the smoke test, ``--compile`` (for either
architecture) and the checks before a build share one probe per candidate.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from collections.abc import Collection, Iterator
from pathlib import Path

from pip_lambda.plan.target import Target

log = logging.getLogger(__name__)

_PROBE = "import platform, sys; print('%d.%d %s' % (sys.version_info[0], sys.version_info[1], platform.machine()))"
_MACHINE_NAMES = {"arm64": "aarch64", "amd64": "x86_64"}


def _pyenv_versions() -> Path | None:
    return _pyenv_versions_for(os.environ.get("PYENV_ROOT", ""), os.environ.get("PATH", ""), str(Path.home()))


@functools.cache
def _pyenv_versions_for(root: str, path: str, home: str) -> Path | None:
    """pyenv's versions folder; ``pyenv root`` runs once per process for the same environment."""
    if root:
        return Path(root) / "versions"
    if shutil.which("pyenv", path=path):
        try:
            found = subprocess.run(
                ["pyenv", "root"], capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            found = ""
        if found:
            return Path(found) / "versions"
    default = Path(home) / ".pyenv" / "versions"
    return default if default.is_dir() else None


def candidates(version: str) -> Iterator[list[str]]:
    """Commands that may run Python ``version``: PATH, pyenv's versions folder, the py launcher."""
    on_path = shutil.which(f"python{version}")
    if on_path:
        yield [on_path]
    versions = _pyenv_versions()
    if versions and versions.is_dir():
        for folder in sorted(versions.glob(f"{version}.*"), reverse=True):
            executable = folder / "bin" / f"python{version}"
            if executable.is_file():
                yield [str(executable)]
    launcher = shutil.which("py")
    if launcher:
        yield [launcher, f"-{version}"]


def _ask(command: tuple[str, ...]) -> str | None:
    """What the probe prints, or None when the command does not run."""
    try:
        result = subprocess.run([*command, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


@functools.cache
def probe(command: tuple[str, ...]) -> tuple[str, str] | None:
    """(``X.Y``, machine as ``x86_64``/``aarch64``) of the interpreter, or None when it does not run; once per process."""
    fields = (_ask(command) or "").split()
    if len(fields) != 2:
        return None
    machine = fields[1].lower()
    return fields[0], _MACHINE_NAMES.get(machine, machine)


def find_python(version: str, machines: Collection[str] | None = None, explicit: str | None = None) -> list[str] | None:
    """A command running Python ``version`` on one of ``machines`` (any when None), or None.

    ``explicit`` (``--python``) is the only candidate when given.
    """
    for command in [[explicit]] if explicit else candidates(version):
        found = probe(tuple(command))
        if found is not None and found[0] == version and (machines is None or found[1] in machines):
            return command
        log.debug("%s is %s, not Python %s on %s", " ".join(command), found, version, machines or "any machine")
    return None


def find_interpreter(target: Target, explicit: str | None = None) -> list[str] | None:
    """A command running the target's Python X.Y on its architecture, or None."""
    return find_python(target.runtime.python_version, (target.arch.machine,), explicit)
