"""Issue 13's lock-file benchmark: pip-lambda from a pylock.toml against uv's recipe and the manual pip method.

Every tool builds the same lock from the same local wheelhouse (standing in for a warm download cache), for
python3.12 x86_64, into ``build/lambda`` and ``build/lambda.zip``:

- pip-lambda: ``pip-lambda install --runtime python3.12 --arch x86_64 -r pylock.toml --no-index --find-links WH``
  (``-r requirements.txt`` with the lock's hashes while this pip-lambda cannot read pylock.toml);
- uv: ``uv pip install --target build/lambda --python-platform x86_64-manylinux_2_34 --python-version 3.12
  --python PY312 --no-index -r pylock.toml && zip -r -q`` (uv wants an interpreter the lock's requires-python
  admits; without one it installs the hashed requirements with ``--no-deps``);
- manual: ``pip install --target build/lambda --platform manylinux_2_34_x86_64 --platform manylinux_2_33_x86_64 …
  (every manylinux tag of the target) --implementation cp --python-version 3.12 --only-binary=:all: --no-deps
  --no-index --find-links WH -r requirements.txt && zip -r -q``.

Cases, each the median of ``runs`` interleaved runs (every tool's run 1, then every tool's run 2...), each run
starting from a copy of the state one build of the base lock left (caches and project; pip-lambda's target is
then put back by an untimed build from its cache, since a copy loses the folder identity pip-lambda knows its
targets by, see common.settle_copied_target):

- warm: a full build with every wheel in the tool's cache and no previous output (pip-lambda keeps its wheel
  store but not its recorded results, which would turn the build into a copy);
- no-op: the same lock again, the output in place;
- change: one pin moved to a version no cache has seen (its wheel is in the wheelhouse), the output in place;
- zip: the zip step alone on pip-lambda's data tree, its writer (benchmarks/zipstep.py) against ``zip -r -q``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from common import PIP_PLATFORMS, UV_PLATFORM, Measure, fresh, settle_copied_target, shell, timed
from locks import Lock, pip_lambda_reads_pylock

TOOLS = ("manual", "uv", "pip-lambda")
KINDS = ("warm", "no-op", "change")
HERE = Path(__file__).resolve().parent


class Tools:
    """The command line of each tool for one lock."""

    def __init__(self, uv: list[str] | None, python312: list[str] | None, wheelhouse: Path) -> None:
        self.uv = uv
        self.python312 = python312
        self.wheelhouse = wheelhouse

    @property
    def names(self) -> tuple[str, ...]:
        return TOOLS if self.uv is not None else tuple(tool for tool in TOOLS if tool != "uv")

    def command(self, tool: str, lock: Lock) -> list[str]:
        local = f"--no-index --find-links {self.wheelhouse}"
        zipping = "cd build/lambda && zip -r -q ../lambda.zip ."
        if tool == "pip-lambda":
            source = lock.pylock if pip_lambda_reads_pylock() else lock.hashed
            ours = [sys.executable, "-m", "pip_lambda", "install", "--runtime", "python3.12", "--arch", "x86_64"]
            return [*ours, "-r", str(source), *local.split(), "-q"]
        if tool == "uv":
            assert self.uv is not None
            uv = " ".join(self.uv)
            flags = f"--target build/lambda --python-platform {UV_PLATFORM} --python-version 3.12"
            if self.python312 is not None:
                source = f"--python {' '.join(self.python312)} --no-index -r {lock.pylock}"
            else:
                source = f"{local} --no-deps -r {lock.hashed}"
            return shell(f"rm -rf build && {uv} pip install -q {flags} {source} && {zipping}")
        flags = f"{' '.join(PIP_PLATFORMS)} --implementation cp --python-version 3.12 --only-binary=:all: --no-deps"
        return shell(
            f"rm -rf build && {sys.executable} -m pip install -q --target build/lambda {flags} {local} "
            f"-r {lock.hashed} && {zipping}"
        )


class State:
    """One tool's caches and project, as one build of the base lock left them; each run starts from a copy."""

    def __init__(self, work: Path, tool: str, env: dict[str, str]) -> None:
        self.tool = tool
        self.live = work / "live" / tool
        self.saved = work / "saved" / tool
        caches = self.live / "caches"
        self.env = dict(
            env,
            PIP_CACHE_DIR=str(caches / "pip"),
            PIP_LAMBDA_CACHE_DIR=str(caches / "pl"),
            UV_CACHE_DIR=str(caches / "uv"),
        )
        self.project = self.live / "project"

    def prepare(self, command: list[str]) -> None:
        fresh(self.live)
        self.project.mkdir()
        timed(command, self.env, self.project)
        shutil.rmtree(self.saved, ignore_errors=True)
        shutil.copytree(self.live, self.saved, symlinks=True)

    def restore(self, kind: str, base: list[str] | None = None) -> None:
        """The state the build of ``base`` left; for a warm build without its output and recorded results."""
        shutil.rmtree(self.live)
        shutil.copytree(self.saved, self.live, symlinks=True)
        if kind == "warm":
            shutil.rmtree(self.project / "build")
            for section in ("results", "stamps"):  # pip-lambda's recorded builds; its wheel store stays
                shutil.rmtree(self.live / "caches/pl" / section, ignore_errors=True)
        elif base is not None:
            settle_copied_target(self.tool, base, self.env, self.project)


def lock_case(
    work: Path, env: dict[str, str], tools: Tools, base: Lock, changed: Lock, runs: int, zip_tree: bool
) -> dict[str, Measure]:
    """``{"<tool> <kind>": Measure}`` for every tool and kind, and ``"zip <tool>"`` when ``zip_tree``."""
    states = {tool: State(work, tool, env) for tool in tools.names}
    for tool, state in states.items():
        state.prepare(tools.command(tool, base))
    results = {f"{tool} {kind}": Measure() for tool in tools.names for kind in KINDS}
    for run in range(runs):
        for kind in KINDS:
            for tool, state in states.items():
                state.restore(kind, tools.command(tool, base))
                seconds, peak = timed(
                    tools.command(tool, changed if kind == "change" else base), state.env, state.project
                )
                measure = results[f"{tool} {kind}"]
                measure.seconds.append(seconds)
                measure.peak_mb.append(peak)
                measure.zip_bytes = (state.project / "build/lambda.zip").stat().st_size
                print(f"    run {run + 1} {kind:6} {tool:10} {seconds:7.2f} s  {peak:6.0f} MB", flush=True)
    if zip_tree:
        results.update(zip_step(work, states["pip-lambda"], tools.wheelhouse, env, runs))
    return results


def zip_step(work: Path, state: State, wheelhouse: Path, env: dict[str, str], runs: int) -> dict[str, Measure]:
    """The zip step alone on pip-lambda's tree of the base lock, interleaved: ``zip -r -q`` and pip-lambda's writer."""
    state.restore("no-op")
    tree = work / "zip-tree"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(state.project / "build/lambda", tree, symlinks=True)
    theirs, ours = Measure(), Measure()
    script = [sys.executable, str(HERE / "zipstep.py"), str(tree), str(work / "ours.zip"), "--wheels", str(wheelhouse)]
    for _ in range(runs):
        (work / "theirs.zip").unlink(missing_ok=True)
        seconds, peak = timed(shell(f"cd {tree} && zip -r -q {work}/theirs.zip ."), env, work)
        theirs.seconds.append(seconds)
        theirs.peak_mb.append(peak)
        theirs.zip_bytes = (work / "theirs.zip").stat().st_size
        output = json.loads(subprocess.run(script, env=env, cwd=work, check=True, capture_output=True).stdout)
        ours.seconds.append(output["seconds"])
        ours.zip_bytes = output["bytes"]
        ours.copied = (output["copied_files"], output["files"], output["copied_bytes"])
        print(f"    zip step: zip -r -q {seconds:.2f} s, pip-lambda {output['seconds']:.2f} s", flush=True)
    return {"zip zip -r -q": theirs, "zip pip-lambda": ours}
