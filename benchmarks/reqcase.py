"""pip-lambda against the manual method and uv from requirements (cold, warm, no-op), and the zip step alone.

Each workload is fully pinned first (pip resolves it once for the manual method's manylinux2014 tag, so every
tool installs the same distributions); bench.py describes the cases.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from common import HERE, TARGET, Measure, clean_env, fresh, settle_copied_target, shell, timed

from pip_lambda.pip.run import install_command

MANUAL_FLAGS = [
    "--platform", "manylinux2014_x86_64", "--implementation", "cp", "--python-version", "3.12", "--only-binary=:all:",
]  # fmt: skip


class Bench:
    def __init__(self, work: Path, runs: int, uv: list[str] | None) -> None:
        self.work = work
        self.runs = runs
        self.uv = uv
        self.env = clean_env()
        self.ours = [sys.executable, "-m", "pip_lambda", "install", "--runtime", "python3.12", "--arch", "x86_64"]

    def fresh(self, name: str) -> Path:
        return fresh(self.work / name)

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
                settle_copied_target(tool, self.command(tool, base, source), env, project)
                self.run(measure, tool, kind, self.command(tool, lock, source), env, project)
            results.append(measure)
        return results[0], results[1]

    def zip_step(self, lock: Path, source: list[str]) -> dict[str, Measure]:
        """pip-lambda's writer (benchmarks/zipstep.py, copying what the wheels deflated) against ``zip -r -q``."""
        project = self.fresh("zipstep")
        timed([*self.pip_lambda(lock, source), "--no-cache"], self.caches("zip"), project)
        tree = project / "build/lambda"
        wheels = source[source.index("--find-links") + 1] if "--find-links" in source else None
        script = [sys.executable, str(HERE / "zipstep.py"), str(tree), str(project / "p.zip")]
        script += ["--wheels", wheels] if wheels else []
        results = {"zip -r -q": Measure(), "pip-lambda": Measure()}
        for _ in range(self.runs):
            (project / "z.zip").unlink(missing_ok=True)
            seconds, peak = timed(shell(f"cd {tree} && zip -r -q {project}/z.zip ."), self.env, project)
            results["zip -r -q"].seconds.append(seconds)
            results["zip -r -q"].peak_mb.append(peak)
            results["zip -r -q"].zip_bytes = (project / "z.zip").stat().st_size
            output = json.loads(subprocess.run(script, env=self.env, check=True, capture_output=True).stdout)
            ours = results["pip-lambda"]
            ours.seconds.append(output["seconds"])
            ours.zip_bytes = output["bytes"]
            ours.copied = (output["copied_files"], output["files"], output["copied_bytes"])
        return results

    def levels(self) -> list[tuple[int, float, int]]:
        """Each compression level of pip-lambda's writer on the workload's tree, nothing copied: (level, seconds, bytes)."""
        tree = self.work / "zipstep/build/lambda"
        output = self.work / "zipstep/level.zip"
        rows = []
        for level in range(1, 10):
            script = [sys.executable, str(HERE / "zipstep.py"), str(tree), str(output), "--level", str(level)]
            script += ["--runs", str(self.runs)]
            seconds = json.loads(subprocess.run(script, env=self.env, check=True, capture_output=True).stdout)[
                "seconds"
            ]
            rows.append((level, seconds, output.stat().st_size))
            print(f"    level {level}: {seconds:.2f} s, {output.stat().st_size:,} bytes", flush=True)
        return rows
