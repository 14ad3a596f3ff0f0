"""The import smoke test: import every top-level module in a real interpreter of the target, laid out as Lambda.

Importing runs the packages' top-level code on this machine.  So the package
is copied into a temporary tree with Lambda's paths (the function in
``var/task``, a layer in ``opt``, the layers it is deployed with unpacked into
``opt`` before it, each over the one before, as Lambda merges them), made
read-only, and imported by an
interpreter run with ``-I -B -S`` (no user site, no bytecode writes, no host
site-packages) in an environment of its own: ``PATH``, ``LANG``,
``LD_LIBRARY_PATH`` as on Lambda, and an empty temporary ``HOME`` and
``TMPDIR``; nothing else of this machine's environment (no credentials).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pip_lambda.archive.reader import open_zip
from pip_lambda.checks.findings import NO_DISTRIBUTION, Finding, Level
from pip_lambda.errors import UsageError
from pip_lambda.plan.layers import Layer
from pip_lambda.plan.layout import LAYER, layout_of
from pip_lambda.plan.runtimes import runtime_provided
from pip_lambda.plan.target import Target
from pip_lambda.system.interpreters import find_interpreter
from pip_lambda.tree.distributions import Distribution

log = logging.getLogger(__name__)

TIMEOUT = 600
_NOT_MODULES = (".dist-info", ".data", ".libs", ".egg-info")

_SCRIPT = r"""
import importlib, json, site, sys
paths, modules, handler = json.loads(sys.argv[1])
sys.path[0:0] = paths
for path in paths:
    site.addsitedir(path)
def report(**event):
    print(json.dumps(event), flush=True)
def attempt(name, check=None):
    report(event="start", module=name)
    try:
        module = importlib.import_module(name)
        if check is not None and not callable(getattr(module, check, None)):
            raise AttributeError("module %r has no function %r" % (name, check))
    except BaseException as error:
        missing = getattr(error, "name", None) if isinstance(error, ImportError) else None
        report(event="fail", module=name, error="%s: %s" % (type(error).__name__, error), missing=missing)
    else:
        report(event="ok", module=name)
for name in modules:
    attempt(name)
if handler:
    module, _, function = handler.rpartition(".")
    attempt(module.replace("/", "."), function)
"""


@dataclass(frozen=True)
class ImportStatus:
    """Whether the smoke test ran, with which interpreter, and which modules it imported."""

    ran: bool
    interpreter: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    note: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "ran": self.ran,
            "interpreter": list(self.interpreter),
            "modules": list(self.modules),
            "note": self.note,
        }


def _present(site: Path, name: str) -> bool:
    return (site / name).is_dir() or (site / f"{name}.py").is_file() or any(site.glob(f"{name}.*so"))


def _module_name(entry: str) -> str | None:
    """The module a top-level entry of a site imports as: ``pkg/…`` → pkg, ``mod.py`` → mod, ``ext.cpython-312-….so`` → ext."""
    first, separator, _ = entry.partition("/")
    if separator:
        return None if first.endswith(_NOT_MODULES) or first == "bin" else first
    if first.endswith(".py"):
        return first[:-3]
    if first.endswith(".so"):
        return first.split(".")[0]
    return None


def _importable(site: Path, names: list[str]) -> list[str]:
    return sorted(
        {name for name in names if name.isidentifier() and not name.startswith("__") and _present(site, name)}
    )


def top_level_modules(site: Path, distribution: Distribution) -> list[str]:
    """The importable top-level modules of a distribution: ``top_level.txt``, or the top of its file list.

    ``distribution.files`` is the list read while RECORD existed (``--slim``
    removes RECORD), so the modules do not depend on what a trim step left.
    """
    listed = site / distribution.dist_info / "top_level.txt"
    if listed.is_file():
        return _importable(site, listed.read_text("utf-8", errors="replace").split())
    return _importable(site, [name for path in distribution.files for name in [_module_name(path)] if name])


def site_modules(site: Path) -> list[str]:
    """The modules of a site without any metadata (a zip built by another tool): its top-level packages and modules."""
    names = []
    for entry in site.iterdir() if site.is_dir() else []:
        if entry.is_dir() and not entry.is_symlink():
            if any(entry.glob("__init__.*")):
                names.append(entry.name)
        elif entry.is_file():
            names.append(_module_name(entry.name) or "")
    return _importable(site, names)


def _handler_problem(handler: str) -> str | None:
    module, _, function = handler.rpartition(".")
    if not module or not function.isidentifier():
        return f"--handler {handler!r} is not module.function"
    return None


def interpreter_for(target: Target, explicit: str | None) -> list[str] | None:
    """The interpreter to import with; an explicit ``--python`` that does not fit is a usage error."""
    command = find_interpreter(target, explicit)
    if command is None and explicit:
        raise UsageError(
            f"--python {explicit} is not a Python {target.runtime.python_version} interpreter for {target.arch.machine}",
            hint=f"give an interpreter of {target.runtime.name}'s version and architecture",
        )
    return command


def _make_read_only(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        executable = path.is_dir() or mode & stat.S_IXUSR
        path.chmod(0o555 if executable else 0o444)


def _make_writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def run_import_test(
    root: Path,
    target: Target,
    layer: bool,
    sites: Sequence[str],
    modules: Sequence[tuple[str, str]],
    *,
    handler: str | None = None,
    python: str | None = None,
    layers: Sequence[Layer] = (),
) -> tuple[ImportStatus, list[Finding]]:
    """Import ``modules`` ((module, distribution) pairs) and the handler; findings for each failure.

    ``layers`` are unpacked into ``opt`` first; a layer being tested goes over them, last.
    """
    if handler and _handler_problem(handler):
        raise UsageError(str(_handler_problem(handler)), hint="give the handler as Lambda does, e.g. app.handler")
    command = interpreter_for(target, python)
    if command is None:
        note = (
            f"no Python {target.runtime.python_version} interpreter for {target.arch.machine} on this machine, "
            "so the import test was skipped (give one with --python PATH)"
        )
        log.warning(note)
        return ImportStatus(False, note=note), []
    owners = dict(modules)
    names = [name for name, _ in modules]
    scratch = Path(tempfile.mkdtemp(prefix="pip-lambda-import-"))
    try:
        tree = scratch / "tree"
        opt = tree / "opt"
        for index, each in enumerate(layers):
            _unpack(each, scratch / f"layer-{index}", opt)
        layout = layout_of(layer)
        base = tree / layout.mount.lstrip("/")
        shutil.copytree(root, base, symlinks=True, dirs_exist_ok=True)
        paths = [str(base / site) if site else str(base) for site in sites]
        library_path = [base / folder for folder in layout.library_dirs]
        if layers and not layer:
            paths += [str(opt / site) for site in LAYER.sys_path(target) if (opt / site).is_dir()]
            library_path.append(opt / "lib")
        _make_read_only(tree)
        log.info("importing %d modules with %s", len(names), " ".join(command))
        environment = _environment(scratch, library_path)
        findings = _run(command, paths, names, handler, owners, target, base, environment)
    finally:
        _make_writable(scratch)
        shutil.rmtree(scratch, ignore_errors=True)
    return ImportStatus(True, tuple(command), tuple(names)), findings


def _unpack(layer: Layer, scratch: Path, opt: Path) -> None:
    """Unpack a layer zip over what ``opt`` holds, as Lambda does (a file of a later layer replaces an earlier one's)."""
    scratch.mkdir()
    with open_zip(layer.path) as archive:
        archive.extract(scratch)
    shutil.copytree(scratch, opt, symlinks=True, dirs_exist_ok=True)
    shutil.rmtree(scratch)


def _environment(scratch: Path, library_path: Sequence[Path]) -> dict[str, str]:
    """What the interpreter sees: Lambda's library path, an empty HOME and TMPDIR, and nothing of this machine's."""
    home, temporary = scratch / "home", scratch / "tmp"
    home.mkdir()
    temporary.mkdir()
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "LD_LIBRARY_PATH": ":".join(str(folder) for folder in library_path),
        "HOME": str(home),
        "TMPDIR": str(temporary),
    }


def _run(
    command: Sequence[str],
    paths: list[str],
    names: list[str],
    handler: str | None,
    owners: dict[str, str],
    target: Target,
    cwd: Path,
    environment: dict[str, str],
) -> list[Finding]:
    """Import in one interpreter; after a crash (a damaged binary can kill it), go on in a new one."""
    findings: list[Finding] = []
    remaining = list(names)
    while True:
        try:
            done = subprocess.run(
                [*command, "-I", "-B", "-S", "-c", _SCRIPT, json.dumps([paths, remaining, handler])],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
                cwd=cwd,
                env=environment,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return [*findings, _failure(NO_DISTRIBUTION, "-", f"the imports did not finish within {TIMEOUT} s", target)]
        failed, pending = _read_events(done.stdout, owners, target, handler)
        findings.extend(failed)
        if pending is None and (done.returncode == 0 or failed):
            return findings
        what = f"importing {pending}" if pending else "running the imports"
        stopped = _signal_name(-done.returncode) if done.returncode < 0 else f"exit code {done.returncode}"
        message = done.stderr.strip()[-300:] or "no message"
        findings.append(
            _failure(
                owners.get(pending or "", NO_DISTRIBUTION),
                pending or "-",
                f"the interpreter crashed {what} ({stopped}): {message}",
                target,
            )
        )
        if pending not in remaining:
            return findings
        remaining = remaining[remaining.index(pending) + 1 :]


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _read_events(
    output: str, owners: dict[str, str], target: Target, handler: str | None
) -> tuple[list[Finding], str | None]:
    """Findings for the failed imports, and the module being imported when the output stopped."""
    findings: list[Finding] = []
    pending: str | None = None
    for line in output.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a module printed something while importing
        if not isinstance(event, dict) or "event" not in event:
            continue
        module = str(event.get("module"))
        pending = module if event["event"] == "start" else None
        if event["event"] == "fail":
            findings.append(
                _import_finding(module, owners, str(event.get("error")), event.get("missing"), target, handler)
            )
    return findings, pending


def _failure(distribution: str, module: str, reason: str, target: Target) -> Finding:
    return Finding(
        Level.ERROR,
        "import",
        distribution,
        module,
        reason,
        f"see the other findings; reinstall with 'pip-lambda install --runtime {target.runtime.name} --arch {target.arch}'",
    )


def _import_finding(
    module: str, owners: dict[str, str], error: str, missing: object, target: Target, handler: str | None
) -> Finding:
    distribution = owners.get(module, NO_DISTRIBUTION)
    what = "the handler" if handler and module not in owners else module
    if isinstance(missing, str) and missing.split(".")[0] in runtime_provided().modules:
        return Finding(
            Level.WARNING,
            "import",
            distribution,
            module,
            f"import {what} needs {missing}, which the Lambda runtime provides but the import test does not",
            f"nothing to do if the runtime's {missing.split('.')[0]} suits you; bundle it to fix its version",
        )
    if "No module named" in error and isinstance(missing, str) and missing.split(".")[0] not in owners:
        fix = "add the missing distribution to the requirements (or --code for your own modules)"
        return Finding(Level.ERROR, "import", distribution, module, f"import {what} failed: {error}", fix)
    return _failure(distribution, module, f"import {what} failed: {error}", target)
