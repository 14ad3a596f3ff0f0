"""pip-lambda's benchmark: pip-lambda against the manual pip method and uv (installed from PyPI when it can be).

Three workloads are built for python3.12 x86_64: api (fastapi, mangum, pydantic, requests, orjson), data
(pandas, numpy), native (cryptography, psycopg2-binary, pydantic-core, orjson, lxml). Cases (``--cases``):

From requirements (reqcase.py), each fully pinned by pip at the start, with packages from the network and
from a local ``--find-links`` wheelhouse (``--sources``), ``--runs`` runs of each tool in turn:

- cold: empty caches (pip's, pip-lambda's and uv's), empty output folder;
- warm: caches filled by a build of the workload, then one package added;
- no-op: nothing changed since the last build;
- zip: the zip step alone, pip-lambda's writer (copying what the wheels deflated) against ``zip -r -q``.

From a lock file (lockcase.py, monorepo.py; issue 13), every wheel in a local wheelhouse downloaded at the
start (or ``--wheelhouse DIR``, used as it is, offline), medians of ``--runs`` interleaved runs:

- lock: pip-lambda from pylock.toml against uv's recipe and the manual pip method: warm full build, no-op,
  one-package change (one pin moved to a version no cache has seen, MOVED below), the zip step alone;
- monorepo: 20 functions (api + one extra each), first builds and a one-pin bump across all 20, against uv.

Peak memory is the largest resident set of a build's process tree. Results are printed and written to
benchmarks/results.md (after each workload, so partial results survive).

    python benchmarks/bench.py                                   # everything, 3 runs (about 25 minutes on 2 cores)
    python benchmarks/bench.py --cases lock,monorepo             # issue 13's lock-file benchmark
    python benchmarks/bench.py --cases lock --workloads data --runs 5 --wheelhouse /path/to/wheels
    python benchmarks/bench.py --cases cold,warm,zip --runs 1 --workloads api --sources wheelhouse
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from common import HERE, clean_env, fresh, machine
from common import find_uv as install_uv
from lockcase import Tools, lock_case
from locks import Locker, pip_lambda_locks, pip_lambda_reads_pylock
from monorepo import monorepo_case, monorepo_locks
from reqcase import Bench
from tables import header, lock_tables, monorepo_tables, requirements_tables

import pip_lambda
from pip_lambda.system.interpreters import find_python

WORKLOADS = {
    "api": ["fastapi", "mangum", "pydantic", "requests", "orjson"],
    "data": ["pandas", "numpy"],
    "native": ["cryptography", "psycopg2-binary", "pydantic-core", "orjson", "lxml"],
}
ONE_MORE = {"api": "PyJWT", "data": "tabulate", "native": "attrs"}
MOVED = {"api": ("idna", "3.10"), "data": ("python-dateutil", "2.9.0.post0"), "native": ("orjson", "3.10.18")}
"""The pin each workload's one-package change moves: from this version to the one a fresh lock picks."""


def requirement_cases(bench: Bench, options: argparse.Namespace, kinds: list[str], meta: dict) -> dict:
    workloads = options.workloads.split(",")
    locks = {name: bench.lock(WORKLOADS[name], [], name) for name in workloads}
    changed = {name: bench.lock([*WORKLOADS[name], ONE_MORE[name]], [], f"{name}-plus") for name in workloads}
    results: dict = {}
    for source_name in options.sources.split(","):
        house = None if source_name == "network" else bench.wheelhouse([*locks.values(), *changed.values()])
        source = [] if house is None else ["--no-index", "--find-links", str(house)]
        results[source_name] = {}
        for name in workloads:
            print(f"{source_name} / {name}", flush=True)
            cases: dict = {}
            for tool in ["manual", "pip-lambda"] + (["uv"] if bench.uv else []):
                if tool != "uv" and "cold" in kinds:
                    cases[f"{tool} cold"] = bench.cold(tool, locks[name], source)
                if "warm" in kinds:
                    warm, no_op = bench.warm_and_no_op(tool, locks[name], changed[name], source)
                    cases[f"{tool} warm"], cases[f"{tool} no-op"] = warm, no_op
            if "zip" in kinds and (source_name == "wheelhouse" or "wheelhouse" not in options.sources):
                cases["zip"] = bench.zip_step(locks[name], source)
                if options.levels and name == "data":
                    meta["levels"] = bench.levels()
            results[source_name][name] = cases
            yield_results(options.output, meta, requirements=results)
    return results


def lock_cases(work: Path, options: argparse.Namespace, kinds: list[str], uv: list[str] | None, meta: dict) -> None:
    env = clean_env()
    house = options.wheelhouse or fresh(work / "lock-wheelhouse")
    locker = Locker(work, env, uv, house.resolve(), offline=options.wheelhouse is not None)
    python312 = find_python("3.12")
    tools = Tools(uv, python312, house.resolve())
    meta["moved"] = {name: f"{package} {old} → fresh lock's" for name, (package, old) in MOVED.items()}
    meta["lock_how"] = lock_how(uv, python312)
    results: dict = {}
    if "lock" in kinds:
        for name in options.workloads.split(","):
            print(f"lock / {name}", flush=True)
            package, old = MOVED[name]
            base, changed = locker.moved(name, WORKLOADS[name], package, old)
            meta["moved"][name] = f"{package} {old} → {changed.version(package)}"
            results[name] = lock_case(work / "lockcase", env, tools, base, changed, options.runs, name == "data")
            yield_results(options.output, meta, locks=results)
    if "monorepo" in kinds:
        print("monorepo", flush=True)
        package, old = MOVED["api"]
        functions = monorepo_locks(locker, WORKLOADS["api"], package, old, options.functions)
        meta["moved"]["api"] = f"{package} {old} → {functions[0][1].version(package)}"
        monorepo = monorepo_case(work / "monorepo-work", env, tools, functions, options.runs)
        yield_results(options.output, meta, locks=results, monorepo=monorepo)


def lock_how(uv: list[str] | None, python312: list[str] | None) -> str:
    writer = "`pip-lambda lock`" if pip_lambda_locks() else "`uv pip compile --format pylock.toml`"
    reader = "`-r pylock.toml`" if pip_lambda_reads_pylock() else "`-r requirements.txt` with the lock's hashes"
    uv_reads = "`-r pylock.toml`" if python312 else "the hashed requirements with `--no-deps`"
    return (
        f"Locks written by {writer} for the target against the wheelhouse alone. pip-lambda reads {reader}; "
        f"uv (`uv pip install --target … --python-platform x86_64-manylinux_2_34 --python-version 3.12 && zip -r -q`) "
        f"reads {uv_reads}; manual is `pip install --target … --platform manylinux_2_34_x86_64 … (every manylinux tag up to 2_34) --implementation cp "
        "--python-version 3.12 --only-binary=:all: --no-deps -r requirements.txt && zip -r -q` (pip refuses "
        "--platform with a pylock.toml)." + ("" if uv else " uv could not be installed: its columns are empty.")
    )


_SECTIONS: dict = {}


def yield_results(output: Path, meta: dict, **sections: object) -> None:
    """Write results.md with every section measured so far."""
    _SECTIONS.update(sections)
    lines = header(meta)
    if _SECTIONS.get("requirements"):
        lines += requirements_tables(_SECTIONS["requirements"], meta)
    if _SECTIONS.get("locks"):
        lines += lock_tables(_SECTIONS["locks"], meta)
    if _SECTIONS.get("monorepo"):
        lines += monorepo_tables(_SECTIONS["monorepo"], meta)
    text = "\n".join(lines) + "\n"
    output.write_text(text)
    print(text, flush=True)


def installed_as() -> str:
    """How this pip-lambda is installed: an editable install adds its import hook to every command's start-up."""
    direct = importlib.metadata.distribution("pip-lambda").read_text("direct_url.json")
    editable = direct is not None and json.loads(direct).get("dir_info", {}).get("editable", False)
    return "an editable install" if editable else "installed from its wheel"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--sources", default="network,wheelhouse", help="for the requirement cases")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pip-lambda-bench")
    parser.add_argument("--output", type=Path, default=HERE / "results.md")
    parser.add_argument("--no-uv", action="store_true")
    parser.add_argument("--cases", default="cold,warm,zip,lock,monorepo")
    parser.add_argument("--levels", action="store_true", help="also time every compression level on the data tree")
    parser.add_argument("--wheelhouse", type=Path, help="for lock and monorepo: wheels to use as they are, offline")
    parser.add_argument(
        "--functions", type=int, default=20, help="functions in the monorepo (20; fewer for a quick look)"
    )
    options = parser.parse_args()
    options.work.mkdir(parents=True, exist_ok=True)
    uv = None if options.no_uv else install_uv(options.work)
    kinds = options.cases.split(",")
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python benchmarks/bench.py " + " ".join(sys.argv[1:]),
        "runs": options.runs,
        "functions": options.functions,
        "machine": machine(),
        "pip_lambda": f"{pip_lambda.__version__} ({installed_as()})",
        "pip": subprocess.run(
            [sys.executable, "-m", "pip", "--version"], capture_output=True, text=True
        ).stdout.split()[1],
        "uv": subprocess.run([*uv, "--version"], capture_output=True, text=True).stdout.strip()
        if uv
        else "uv not installed",
        "python": platform.python_version(),
    }
    print(f"machine: {meta['machine']}", flush=True)
    if {"cold", "warm", "zip"} & set(kinds):
        requirement_cases(Bench(options.work, options.runs, uv), options, kinds, meta)
    if {"lock", "monorepo"} & set(kinds):
        lock_cases(options.work, options, kinds, uv, meta)


if __name__ == "__main__":
    main()
