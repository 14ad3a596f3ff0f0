"""The one seam into pip: markers evaluated for the target, with the oldest and newest pip supported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pip
import pytest

from pip_lambda.pip.run import install_command, pip_environment
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target

OLDEST_PIP = "23.0.1"


def oldest_pip_wheel() -> Path:
    """pip 23.0.1 as bundled by ensurepip with the Pythons of this machine (no download needed)."""
    if sys.version_info >= (3, 12):
        pytest.skip("pip 23.0.1 does not run on Python 3.12+")
    roots = [Path(os.__file__).parent]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    roots += sorted(pyenv.glob("*/lib/python3*"))
    for root in roots:
        for wheel in (root / "ensurepip" / "_bundled").glob(f"pip-{OLDEST_PIP}-*.whl"):
            return wheel
    pytest.skip(f"no pip {OLDEST_PIP} wheel on this machine")


def pips() -> list[pytest.param]:
    return [
        pytest.param(None, id=f"newest-pip-{pip.__version__}"),
        pytest.param("oldest", id=f"oldest-pip-{OLDEST_PIP}"),
    ]


def seam_environment(target: Target, which: str | None) -> dict[str, str]:
    environment = pip_environment(target)
    if which == "oldest":
        environment["PYTHONPATH"] = str(oldest_pip_wheel())
    return environment


@pytest.mark.parametrize("which", pips())
def test_the_seam_runs_the_intended_pip(which):
    target = Target(get_runtime("python3.12"), Arch.X86_64)
    output = subprocess.run(
        [sys.executable, "-m", "pip_lambda.pip.seam", "--version"],
        env=seam_environment(target, which),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"pip {OLDEST_PIP if which else pip.__version__} " in output


@pytest.mark.parametrize("which", pips())
@pytest.mark.parametrize(
    ("runtime", "arch", "expected"),
    [
        ("python3.9", Arch.ARM64, {"markerpkg", "dep_old", "dep_arm", "dep_linux"}),
        ("python3.13", Arch.X86_64, {"markerpkg", "dep_new", "dep_x86", "dep_linux"}),
    ],
)
def test_markers_follow_the_target_with_each_pip(tmp_path, wheelhouse, which, runtime, arch, expected):
    target = Target(get_runtime(runtime), arch)
    report = tmp_path / "report.json"
    command = install_command(
        target, tmp_path / "site", ["--no-index", "--find-links", str(wheelhouse), "--report", str(report), "markerpkg"]
    )
    subprocess.run(command, env=seam_environment(target, which), capture_output=True, text=True, check=True)
    installed = {item["metadata"]["name"].replace("-", "_") for item in json.loads(report.read_text())["install"]}
    assert installed == expected


def test_without_the_seam_pip_uses_the_host_markers(tmp_path, wheelhouse):
    """The reason the seam exists: plain pip with --platform/--python-version keeps the host's markers."""
    target = Target(get_runtime("python3.9"), Arch.ARM64)
    command = install_command(target, tmp_path / "site", ["--no-index", "--find-links", str(wheelhouse), "markerpkg"])
    command[1:3] = ["-m", "pip"]
    subprocess.run(command, env=pip_environment(target), capture_output=True, text=True, check=True)
    names = {path.name.split("-")[0] for path in (tmp_path / "site").glob("*.dist-info")}
    assert ("dep_old" in names) == (sys.version_info[:2] < (3, 12))
    assert "dep_arm" not in names or os.uname().machine == "aarch64"
