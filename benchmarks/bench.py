"""pip-lambda's benchmark: pip-lambda against the manual method (and uv when it can be installed).

Three workloads are built for python3.12 x86_64, each fully pinned (pip resolves
them once at the start, so every tool installs the same distributions):

- cold: empty caches (pip's, pip-lambda's and uv's), empty output folder;
- warm: caches filled by a build of the workload, then one package added;
- no-op: nothing changed since the last build;
- zip: the zip step alone, pip-lambda's writer against ``zip -r -q`` on the same tree.

Each case runs ``--runs`` times (median reported), once with packages from the
network (PyPI as this machine reaches it) and once from a local ``--find-links``
wheelhouse, which stands in for a warm download cache.  Peak memory is the
largest resident set of the build's process tree.  Results are printed and
written to benchmarks/results.md.

    python benchmarks/bench.py                    # everything, 3 runs each (about 40 minutes on 2 cores)
    python benchmarks/bench.py --runs 1 --workloads api --sources wheelhouse
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pip_lambda
from pip_lambda.pip.run import install_command
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target

WORKLOADS = {
    "api": ["fastapi", "mangum", "pydantic", "requests", "orjson"],
    "data": ["pandas", "numpy"],
    "native": ["cryptography", "psycopg2-binary", "pydantic-core", "orjson", "lxml"],
}
ONE_MORE = {"api": "PyJWT", "data": "tabulate", "native": "attrs"}
TARGET = Target(get_runtime("python3.12"), Arch.X86_64)
MANUAL_FLAGS = [
    "--platform", "manylinux2014_x86_64", "--implementation", "cp", "--python-version", "3.12", "--only-binary=:all:",
]  # fmt: skip
HERE = Path(__file__).resolve().parent


@dataclass
class Measure:
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    zip_bytes: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def peak(self) -> float:
        return max(self.peak_mb) if self.peak_mb else float("nan")


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run ``command``; (wall seconds, peak RSS in MB of the process tree)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.stderr.write(output.decode(errors="replace")[-3000:])
        raise SystemExit(f"failed ({process.returncode}): {' '.join(command)}")
    return elapsed, usage.ru_maxrss / 1024


def shell(script: str) -> list[str]:
    return ["bash", "-c", f"set -e; {script}"]


class Bench:
    def __init__(self, work: Path, runs: int, uv: list[str] | None) -> None:
        self.work = work
        self.runs = runs
        self.uv = uv
        self.env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "UV_"))}
        self.env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a developer's machine: bytecode caches are written
        self.ours = [sys.executable, "-m", "pip_lambda", "install", "--runtime", "python3.12", "--arch", "x86_64"]

    def fresh(self, name: str) -> Path:
        path = self.work / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def caches(self, name: str) -> dict[str, str]:
        base = self.fresh(f"caches/{name}")
        return dict(
            self.env,
            PIP_CACHE_DIR=str(base / "pip"),
            PIP_LAMBDA_CACHE_DIR=str(base / "pl"),
            UV_CACHE_DIR=str(base / "uv"),
        )

    # --- inputs -------------------------------------------------------------------------------

    def lock(self, packages: list[str], source: list[str], name: str) -> Path:
        """Pin the whole resolution for the target, as a lock file would."""
        folder = self.fresh(f"locks/{name}")
        report = folder / "report.json"
        extra = ["--dry-run", "--ignore-installed", "--report", str(report), "-q", *source, *packages]
        # The manual method's one platform tag, so every tool can install the same pins.
        command = install_command(TARGET, folder / "site", extra, ["manylinux2014_x86_64"])
        subprocess.run(
            command, env=dict(self.env, PIP_LAMBDA_MARKERS=json.dumps(TARGET.marker_environment)), check=True
        )
        pins = sorted(
            f"{item['metadata']['name']}=={item['metadata']['version']}"
            for item in json.loads(report.read_text())["install"]
        )
        lock = folder / "requirements.txt"
        lock.write_text("\n".join(pins) + "\n")
        return lock

    def wheelhouse(self, locks: list[Path]) -> Path:
        house = self.fresh("wheelhouse")
        # The wheels each tool picks: the manual method's manylinux2014 ones and pip-lambda's best ones.
        for tags in (["manylinux2014_x86_64"], list(TARGET.platform_tags)):
            platforms = [arg for tag in tags for arg in ("--platform", tag)]
            for lock in locks:
                command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(house), *platforms]
                command += [
                    "--implementation",
                    "cp",
                    "--python-version",
                    "3.12",
                    "--only-binary=:all:",
                    "-r",
                    str(lock),
                ]
                subprocess.run(command, env=self.env, check=True)
        return house

    # --- one build of each kind ----------------------------------------------------------------

    def manual(self, lock: Path, source: list[str]) -> list[str]:
        flags = " ".join([*MANUAL_FLAGS, *source])
        return shell(
            f"rm -rf build && {sys.executable} -m pip install -q --target build/lambda {flags} -r {lock} "
            f"&& cd build/lambda && zip -r -q ../lambda.zip ."
        )

    def uv_build(self, lock: Path, source: list[str]) -> list[str]:
        assert self.uv is not None
        flags = " ".join(source)
        return shell(
            f"rm -rf build && {' '.join(self.uv)} pip install -q --target build/lambda --python-platform "
            f"x86_64-manylinux_2_17 --python-version 3.12 --only-binary :all: --no-compile-bytecode {flags} -r {lock} "
            f"&& cd build/lambda && zip -r -q ../lambda.zip ."
        )

    def pip_lambda(self, lock: Path, source: list[str]) -> list[str]:
        return [*self.ours, *source, "-r", str(lock), "-q"]

    # --- cases ---------------------------------------------------------------------------------

    def command(self, tool: str, lock: Path, source: list[str]) -> list[str]:
        if tool == "manual":
            return self.manual(lock, source)
        if tool == "uv":
            return self.uv_build(lock, source)
        return self.pip_lambda(lock, source)

    def run(
        self, measure: Measure, tool: str, kind: str, command: list[str], env: dict[str, str], project: Path
    ) -> None:
        seconds, peak = timed(command, env, project)
        measure.seconds.append(seconds)
        measure.peak_mb.append(peak)
        measure.zip_bytes = (project / "build/lambda.zip").stat().st_size
        print(f"    {tool:10} {kind:5} {seconds:7.2f} s  {peak:6.0f} MB", flush=True)

    def cold(self, tool: str, lock: Path, source: list[str]) -> Measure:
        measure = Measure()
        for _ in range(self.runs):
            project = self.fresh("project")
            self.run(measure, tool, "cold", self.command(tool, lock, source), self.caches("run"), project)
        return measure

    def warm_and_no_op(self, tool: str, base: Path, changed: Path, source: list[str]) -> tuple[Measure, Measure]:
        """One build of ``base`` fills the caches; each run starts from a copy of that state."""
        project = self.fresh("project")
        env = self.caches("run")
        timed(self.command(tool, base, source), env, project)
        snapshot = self.fresh("snapshot")
        shutil.copytree(project, snapshot / "project", symlinks=True)
        shutil.copytree(self.work / "caches/run", snapshot / "caches", symlinks=True)
        results = []
        for kind, lock in (("warm", changed), ("no-op", base)):
            measure = Measure()
            for _ in range(self.runs):
                for copy, live in ((snapshot / "project", project), (snapshot / "caches", self.work / "caches/run")):
                    shutil.rmtree(live)
                    shutil.copytree(copy, live, symlinks=True)
                self.run(measure, tool, kind, self.command(tool, lock, source), env, project)
            results.append(measure)
        return results[0], results[1]

    def zip_step(self, lock: Path, source: list[str]) -> dict[str, Measure]:
        project = self.fresh("zipstep")
        timed([*self.pip_lambda(lock, source), "--no-cache"], self.caches("zip"), project)
        tree = project / "build/lambda"
        results = {"zip -r -q": Measure(), "pip-lambda": Measure()}
        writer = (
            "import sys; from pathlib import Path; from pip_lambda.archive.writer import collect_entries, write_zip;"
            "from pip_lambda.tree.staging import MARKER;"
            "write_zip(collect_entries(Path(sys.argv[1]), exclude=(MARKER,)), Path(sys.argv[2]))"
        )
        for _ in range(self.runs):
            for name, command, output in (
                ("zip -r -q", shell(f"rm -f ../z.zip && cd {tree} && zip -r -q {project}/z.zip ."), project / "z.zip"),
                ("pip-lambda", [sys.executable, "-c", writer, str(tree), str(project / "p.zip")], project / "p.zip"),
            ):
                output.unlink(missing_ok=True)
                seconds, peak = timed(command, self.env, project)
                results[name].seconds.append(seconds)
                results[name].peak_mb.append(peak)
                results[name].zip_bytes = output.stat().st_size
        return results

    def levels(self, lock: Path, source: list[str]) -> list[tuple[int, float, int]]:
        """Each compression level of pip-lambda's writer on the workload's tree: (level, seconds, bytes)."""
        tree = self.work / "zipstep/build/lambda"
        rows = []
        for level in range(1, 10):
            script = (
                "import sys; from pathlib import Path; from pip_lambda.archive.writer import collect_entries, write_zip;"
                "from pip_lambda.tree.staging import MARKER;"
                f"write_zip(collect_entries(Path(sys.argv[1]), exclude=(MARKER,)), Path(sys.argv[2]), level={level})"
            )
            output = self.work / "zipstep/level.zip"
            seconds = statistics.median(
                timed([sys.executable, "-c", script, str(tree), str(output)], self.env, self.work)[0]
                for _ in range(self.runs)
            )
            rows.append((level, seconds, output.stat().st_size))
            print(f"    level {level}: {seconds:.2f} s, {output.stat().st_size:,} bytes", flush=True)
        return rows


def machine() -> str:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") if Path("/proc/cpuinfo").exists() else open(os.devnull) as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    load = os.getloadavg()[0]
    return f"{cpu}, {cores} cores, {memory:.0f} GiB, {platform.system()} {platform.release()}, load {load:.1f} at start"


def find_uv(work: Path) -> list[str] | None:
    if shutil.which("uv"):
        return [str(shutil.which("uv"))]
    venv = work / "uv-venv"
    if not (venv / "bin/uv").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        installed = subprocess.run([str(venv / "bin/pip"), "install", "-q", "uv"], check=False)
        if installed.returncode != 0:
            return None
    return [str(venv / "bin/uv")]


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def report(results: dict, meta: dict) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Measured {meta['date']} with `python benchmarks/bench.py --runs {meta['runs']}` on {meta['machine']}.",
        f"pip-lambda {meta['pip_lambda']}, pip {meta['pip']}, {meta['uv']}, Python {meta['python']}; target python3.12 x86_64.",
        "Times are medians of the runs, in seconds; peak memory is the largest resident set of a build's process tree.",
        "`manual` is `pip install --target … --platform manylinux2014_x86_64 --implementation cp --python-version 3.12 --only-binary=:all: -r … && zip -r -q`.",
        "",
    ]
    for source, workloads in results.items():
        what = {
            "network": "packages from the network (this network strips caching headers, so pip downloads every wheel again on every run)",
            "wheelhouse": "packages from a local `--find-links` wheelhouse, standing in for a warm download cache",
        }[source]
        lines += [f"## {source}: {what}", ""]
        lines += [
            "| workload | case | manual | pip-lambda | pip-lambda / manual | uv | zip MB manual / pip-lambda | pip-lambda peak MB |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for workload, cases in workloads.items():
            for kind in ("cold", "warm", "no-op"):
                manual, ours, uv = (cases.get(f"{tool} {kind}") for tool in ("manual", "pip-lambda", "uv"))
                if manual is None or ours is None:
                    continue
                uv_text = f"{uv.median:.2f}" if uv else "-"
                lines.append(
                    f"| {workload} | {kind} | {manual.median:.2f} | {ours.median:.3f} | {ratio(ours.median, manual.median)} "
                    f"({ratio(manual.median, ours.median)}x faster) | {uv_text} | "
                    f"{manual.zip_bytes / 1e6:.1f} / {ours.zip_bytes / 1e6:.1f} | {ours.peak:.0f} |"
                )
            zipping = cases.get("zip")
            if zipping:
                theirs, ours = zipping["zip -r -q"], zipping["pip-lambda"]
                grow = (ours.zip_bytes / theirs.zip_bytes - 1) * 100
                lines.append(
                    f"| {workload} | zip step | {theirs.median:.2f} (`zip -r -q`) | {ours.median:.2f} | "
                    f"{ratio(ours.median, theirs.median)} ({ratio(theirs.median, ours.median)}x faster) | - | "
                    f"{theirs.zip_bytes / 1e6:.1f} / {ours.zip_bytes / 1e6:.1f} ({grow:+.1f}%) | {ours.peak:.0f} |"
                )
        lines.append("")
    if meta.get("levels"):
        lines += ["## Compression level (pip-lambda's writer on the data tree, all cores)", ""]
        lines += ["| level | seconds | zip bytes |", "|---|---|---|"]
        lines += [f"| {level} | {seconds:.2f} | {size:,} |" for level, seconds, size in meta["levels"]]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--sources", default="network,wheelhouse")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pip-lambda-bench")
    parser.add_argument("--output", type=Path, default=HERE / "results.md")
    parser.add_argument("--no-uv", action="store_true")
    parser.add_argument("--cases", default="cold,warm,zip", help="cold, warm (with no-op), zip")
    parser.add_argument("--levels", action="store_true", help="also time every compression level on the data tree")
    options = parser.parse_args()
    options.work.mkdir(parents=True, exist_ok=True)
    uv = None if options.no_uv else find_uv(options.work)
    bench = Bench(options.work, options.runs, uv)
    workloads = options.workloads.split(",")
    kinds = options.cases.split(",")
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "runs": options.runs,
        "machine": machine(),
        "pip_lambda": pip_lambda.__version__,
        "pip": subprocess.run(
            [sys.executable, "-m", "pip", "--version"], capture_output=True, text=True
        ).stdout.split()[1],
        "uv": subprocess.run([*uv, "--version"], capture_output=True, text=True).stdout.strip()
        if uv
        else "uv not installed",
        "python": platform.python_version(),
    }
    print(f"machine: {meta['machine']}", flush=True)
    locks = {name: bench.lock(WORKLOADS[name], [], name) for name in workloads}
    changed = {name: bench.lock([*WORKLOADS[name], ONE_MORE[name]], [], f"{name}-plus") for name in workloads}
    results: dict = {}
    for source_name in options.sources.split(","):
        source = (
            []
            if source_name == "network"
            else ["--no-index", "--find-links", str(bench.wheelhouse([*locks.values(), *changed.values()]))]
        )
        results[source_name] = {}
        for name in workloads:
            print(f"{source_name} / {name}", flush=True)
            cases: dict = {}
            tools = ["manual", "pip-lambda"] + (["uv"] if uv else [])
            for tool in tools:
                if tool != "uv" and "cold" in kinds:
                    cases[f"{tool} cold"] = bench.cold(tool, locks[name], source)
                if "warm" in kinds:
                    warm, no_op = bench.warm_and_no_op(tool, locks[name], changed[name], source)
                    cases[f"{tool} warm"], cases[f"{tool} no-op"] = warm, no_op
            if "zip" in kinds and (source_name == "wheelhouse" or "wheelhouse" not in options.sources):
                cases["zip"] = bench.zip_step(locks[name], source)
                if options.levels and name == "data":
                    meta["levels"] = bench.levels(locks[name], source)
            results[source_name][name] = cases
            options.output.write_text(report(results, meta) + "\n")  # after each workload: partial results survive
    print(report(results, meta))


if __name__ == "__main__":
    main()
