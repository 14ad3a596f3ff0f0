"""Cold-start benchmark: package size and import time of pip-lambda builds, default against --slim and --compile.

For each workload and variant this script runs ``pip-lambda install`` (the
checkout it lives in, with packages from PyPI) into a temporary folder,
unzips the zip into a read-only folder and reports:

- the unzipped size (the number Lambda's 262,144,000-byte limit counts) and the zip size;
- the time the workload's import statement takes in a fresh interpreter of the
  runtime's Python version (``-I -B``, ``PYTHONDONTWRITEBYTECODE=1``, the folder
  first on ``sys.path``), median of ``--repeat`` runs, each a new process: wall
  time, and CPU time of the process, which stays meaningful on a busy machine.

Usage (from the repository root)::

    python benchmarks/coldstart.py                                   # all workloads, python3.12 x86_64
    python benchmarks/coldstart.py --workload data --repeat 5
    python benchmarks/coldstart.py --variant default --variant slim+compile --json results.json

Variants are option sets: ``default`` (no option), ``slim``, ``compile``,
``slim+compile``, ``slim+compile+strip``.  The interpreter is found as
``pip-lambda install --compile`` finds it (PATH, pyenv, py launcher); pass
``--python PATH`` to choose one.  pip's configuration files are ignored
(``PIP_CONFIG_FILE=/dev/null``) so every run resolves against PyPI; give
``--keep-pip-config`` to use this machine's configuration instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pip_lambda.plan.runtimes import get_runtime  # noqa: E402
from pip_lambda.plan.target import Arch, Target  # noqa: E402
from pip_lambda.system.interpreters import find_interpreter  # noqa: E402

WORKLOADS: dict[str, tuple[list[str], str]] = {
    "data": (["pandas", "numpy"], "import pandas, numpy"),
    "api": (
        ["fastapi", "mangum", "pydantic", "requests", "orjson"],
        "import fastapi, mangum, pydantic, requests, orjson",
    ),
    "native": (
        ["cryptography", "psycopg2-binary", "pydantic-core", "orjson", "lxml"],
        "import cryptography.fernet, psycopg2, pydantic_core, orjson, lxml.etree",
    ),
}
VARIANTS: dict[str, list[str]] = {
    "default": [],
    "slim": ["--slim"],
    "compile": ["--compile"],
    "slim+compile": ["--slim", "--compile"],
    "slim+compile+strip": ["--slim", "--compile", "--strip"],
}
# Wall time and CPU time of the import alone; CPU time barely moves when other processes share the machine.
TIMER = (
    "import sys, time\nsys.path.insert(0, {folder!r})\n"
    "wall, cpu = time.perf_counter(), time.process_time()\n{statement}\n"
    "print(time.perf_counter() - wall, time.process_time() - cpu)\n"
)


@dataclass
class Measurement:
    workload: str
    variant: str
    unzipped: int
    zipped: int
    files: int
    import_median: float
    """Seconds of wall time, median of the runs."""
    import_cpu_median: float
    """Seconds of CPU time (user + system) of the importing process, median of the runs."""
    import_runs: list[tuple[float, float]]


def build(
    workdir: Path,
    requirements: list[str],
    options: list[str],
    runtime: str,
    arch: str,
    python: str | None,
    keep_pip_config: bool,
) -> Path:
    env = dict(os.environ)
    if not keep_pip_config:
        env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    command = [sys.executable, "-m", "pip_lambda", "install", "-q", "--runtime", runtime, "--arch", arch, *options]
    if python and "--compile" in options:
        command += ["--python", python]
    workdir.mkdir(parents=True)
    subprocess.run([*command, *requirements], cwd=workdir, env={**env, "PYTHONPATH": str(ROOT)}, check=True)
    return workdir / "build/lambda.zip"


def unzip_read_only(archive: Path, destination: Path) -> tuple[int, int]:
    """Extract, make everything read-only; (unzipped bytes, files)."""
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(destination)
        infos = [info for info in zipped.infolist() if not info.is_dir()]
    for path in sorted(destination.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    return sum(info.file_size for info in infos), len(infos)


def time_imports(python: list[str], folder: Path, statement: str, repeat: int) -> list[tuple[float, float]]:
    code = TIMER.format(folder=str(folder), statement=statement)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    runs = []
    for _ in range(repeat):
        done = subprocess.run([*python, "-I", "-B", "-c", code], capture_output=True, text=True, env=env, check=True)
        wall, cpu = done.stdout.split()[-2:]
        runs.append((float(wall), float(cpu)))
    return runs


def writable(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def measure(args: argparse.Namespace) -> list[Measurement]:
    target = Target(get_runtime(args.runtime), Arch.parse(args.arch))
    python = find_interpreter(target, args.python)
    if python is None:
        sys.exit(f"no Python {target.runtime.python_version} for {target.arch} found; pass --python PATH")
    results = []
    with tempfile.TemporaryDirectory(prefix="coldstart-") as scratch:
        for workload in args.workload or list(WORKLOADS):
            requirements, statement = WORKLOADS[workload]
            for variant in args.variant or ["default", "slim", "compile"]:
                work = Path(scratch) / f"{workload}-{variant}"
                archive = build(
                    work, requirements, VARIANTS[variant], args.runtime, args.arch, args.python, args.keep_pip_config
                )
                folder = work / "task"
                unzipped, files = unzip_read_only(archive, folder)
                runs = time_imports(python, folder, statement, args.repeat)
                wall = statistics.median(run[0] for run in runs)
                cpu = statistics.median(run[1] for run in runs)
                results.append(Measurement(workload, variant, unzipped, archive.stat().st_size, files, wall, cpu, runs))
                print(report_line(results[-1], results), flush=True)
                writable(folder)
                shutil.rmtree(work)
    return results


def report_line(row: Measurement, results: list[Measurement]) -> str:
    base = next((other for other in results if other.workload == row.workload and other.variant == "default"), None)
    line = (
        f"{row.workload:<7} {row.variant:<20} unzipped {row.unzipped:>12,}  zip {row.zipped:>11,}  files {row.files:>6,}"
        f"  import {row.import_median:6.3f} s wall {row.import_cpu_median:6.3f} s cpu"
    )
    if base is not None and base is not row:
        line += (
            f"  size {row.unzipped / base.unzipped - 1:+.1%}"
            f"  import x{base.import_median / row.import_median:.2f} (wall) x{base.import_cpu_median / row.import_cpu_median:.2f} (cpu)"
        )
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", default="python3.12")
    parser.add_argument("--arch", default="x86_64")
    parser.add_argument("--workload", action="append", choices=list(WORKLOADS), help="repeatable (default: all)")
    parser.add_argument(
        "--variant", action="append", choices=list(VARIANTS), help="repeatable (default: default, slim, compile)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="import runs per build (default 5)")
    parser.add_argument("--python", help="interpreter of the runtime's version (default: found on this machine)")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--keep-pip-config", action="store_true", help="use this machine's pip configuration")
    args = parser.parse_args()
    results = measure(args)
    if args.json:
        args.json.write_text(json.dumps([asdict(row) for row in results], indent=2) + "\n")


if __name__ == "__main__":
    main()
