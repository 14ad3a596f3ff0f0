"""Find an interpreter of the target's Python version and architecture on this machine."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from pip_lambda.plan.target import Target

log = logging.getLogger(__name__)

_PROBE = "import platform, sys; print('%d.%d %s' % (sys.version_info[0], sys.version_info[1], platform.machine()))"


def _pyenv_versions() -> Path | None:
    root = os.environ.get("PYENV_ROOT")
    if root:
        return Path(root) / "versions"
    if shutil.which("pyenv"):
        try:
            found = subprocess.run(
                ["pyenv", "root"], capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            found = ""
        if found:
            return Path(found) / "versions"
    default = Path.home() / ".pyenv" / "versions"
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


def probe(command: list[str]) -> tuple[str, str] | None:
    """(``X.Y``, machine) of the interpreter, or None when it does not run."""
    try:
        result = subprocess.run([*command, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    fields = result.stdout.split()
    return (fields[0], fields[1]) if result.returncode == 0 and len(fields) == 2 else None


def find_interpreter(target: Target, explicit: str | None = None) -> list[str] | None:
    """A command running the target's Python X.Y on its architecture, or None."""
    wanted = (target.runtime.python_version, target.arch.machine)
    for command in [[explicit]] if explicit else candidates(target.runtime.python_version):
        found = probe(command)
        if (
            found is not None
            and (found[0], found[1].replace("arm64", "aarch64").replace("AMD64", "x86_64").lower()) == wanted
        ):
            return command
        log.debug("%s is %s, not %s", " ".join(command), found, wanted)
    return None
