"""What every benchmark script shares: timing a process tree, the machine's description, uv, the target."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target

TARGET = Target(get_runtime("python3.12"), Arch.X86_64)
HERE = Path(__file__).resolve().parent
UV_PLATFORM = "x86_64-manylinux_2_34"
"""uv's name for the target's platform: Lambda's python3.12 runs on Amazon Linux 2023, glibc 2.34."""
PIP_PLATFORMS = tuple(arg for tag in TARGET.platform_tags for arg in ("--platform", tag))
"""The same for pip: every manylinux tag up to 2_34 (pip widens only the legacy manylinux2014/2010 tags itself)."""


@dataclass
class Measure:
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    zip_bytes: int = 0
    copied: tuple[int, int, int] | None = None
    """For pip-lambda's zip step: files copied from wheels, files, bytes copied."""

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


def settle_copied_target(tool: str, base: list[str], env: dict[str, str], project: Path) -> None:
    """Put pip-lambda's target back after the project was restored from a copy, untimed.

    pip-lambda knows the target folders it made by their identity (device and inode), which a copy does not keep;
    in a copied project it would prove every run that the folder holds nothing but its zip's files (a walk a
    user's edit-rebuild loop never pays). Building ``base`` again into an empty ``build`` restores the target
    from pip-lambda's cache as it stood after the user's last build, and records it.
    """
    if tool == "pip-lambda" and (project / "build").is_dir():
        shutil.rmtree(project / "build")
        timed(base, env, project)


def shell(script: str) -> list[str]:
    return ["bash", "-c", f"set -e; {script}"]


def clean_env() -> dict[str, str]:
    """This process's environment without pip's or uv's settings: every tool sees only what the benchmark passes."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", UV_NO_CONFIG="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a developer's machine: bytecode caches are written
    return env


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


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
    """uv from PATH, else installed from PyPI into a venv of its own; None when neither works."""
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
