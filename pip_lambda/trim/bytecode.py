"""``--compile``: bytecode for the target's Python, PEP 552 unchecked-hash, in ``__pycache__``.

Lambda's ``/var/task`` and ``/opt`` are read-only, so a module without usable
bytecode is compiled again on every cold start.  Timestamp-based ``.pyc``
files go stale once the zip normalises mtimes; unchecked-hash ones are
trusted as they are, which suits a package that never changes after the
build.  The magic number changes with each Python minor version, so an
interpreter of the runtime's version writes them (bytecode does not depend on
the architecture, so one for either architecture will do).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pip_lambda.errors import EnvironmentProblem
from pip_lambda.plan.target import Target
from pip_lambda.system.interpreters import find_python

log = logging.getLogger(__name__)

# Runs in the target interpreter.  Files are compiled one by one in sorted order, in one process
# with a fixed hash seed: set and frozenset constants are marshalled in hash order.
_COMPILER = """\
import sys
del sys.path[0]
import compileall, json, py_compile
site, origin = sys.argv[1], sys.argv[2]
ok = compileall.compile_dir(
    site, ddir=origin, quiet=2, workers=1,
    rx=__import__("re").compile(r"[/\\\\][^/\\\\]+\\.(?:dist-info|data)[/\\\\]"),
    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
)
print(json.dumps({"ok": bool(ok), "tag": sys.implementation.cache_tag}))
"""


@dataclass(frozen=True)
class CompileResult:
    interpreter: tuple[str, ...]
    files: int
    """``.pyc`` files written."""
    complete: bool
    """False when some source did not compile (Python 2 files, templates); those stay source only."""


def compile_interpreter(target: Target, explicit: str | None = None) -> list[str]:
    """A command running the runtime's Python X.Y, of either architecture, or a clear error.

    Each candidate is probed once per process (system.interpreters), however often a build asks.
    """
    version = target.runtime.python_version
    found = find_python(version, None, explicit)
    if found is not None:
        return found
    if explicit:
        raise EnvironmentProblem(
            f"--python {explicit} is not a working Python {version}",
            hint=f"--compile needs Python {version} to write bytecode {target.runtime.name} can load",
        )
    raise EnvironmentProblem(
        f"--compile needs a Python {version} interpreter to write bytecode {target.runtime.name} can load, and none was found",
        hint=f"install one (pyenv install {version}, uv python install {version}, or your system's python{version} package) and put python{version} on PATH, or pass --python PATH",
    )


def compile_tree(site: Path, interpreter: list[str], origin: str) -> CompileResult:
    """Write ``__pycache__/*.cpython-3XY.pyc`` next to every ``.py`` file under ``site``.

    ``origin`` is the folder Lambda sees the tree at (``/var/task``, ``/opt/python``);
    it becomes the recorded source path, so no build folder leaks into the bytecode.
    """
    environment = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}
    environment.update(PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1", PYTHONNOUSERSITE="1")
    try:
        done = subprocess.run(
            [*interpreter, "-s", "-c", _COMPILER, str(site.resolve()), origin],
            capture_output=True,
            text=True,
            env=environment,
            cwd=site,
            check=False,
        )
    except OSError as error:
        raise EnvironmentProblem(f"cannot run {interpreter[0]}: {error.strerror}", hint="pass --python PATH") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise EnvironmentProblem(
            f"compiling bytecode with {' '.join(interpreter)} failed",
            hint="rerun with -v for its output",
            detail=done.stderr,
        )
    report = json.loads(lines[-1])
    tag = report["tag"]
    files = sum(1 for _ in site.rglob(f"__pycache__/*.{tag}.pyc"))
    if not report["ok"]:
        log.info("some files did not compile (not valid Python %s); they ship as source only", tag)
    return CompileResult(tuple(interpreter), files, bool(report["ok"]))
