"""Real lock files from PyPI: real uv and Poetry lock a project, pip-lambda builds it, a real interpreter imports it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from conftest import interpreter_for, unzip_read_only

pytestmark = pytest.mark.network

# orjson is compiled (arm64 wheels show), its version is pinned per Python version, tomli exists only below 3.11.
DEPENDENCIES = [
    "orjson<3.11; python_version < '3.11'",
    "orjson>=3.11; python_version >= '3.11'",
    "tomli; python_version < '3.11'",
    "six",
]
PYPROJECT = f"""\
[project]
name = "fn"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = {DEPENDENCIES!r}

[dependency-groups]
dev = ["pytest"]
"""
IMPORTS = "import orjson, six; print(orjson.__version__); print(orjson.__file__)"


@pytest.fixture
def tools_on_path(monkeypatch, tmp_path):
    """The test extras' uv and poetry (installed beside this interpreter) on PATH, their caches in the test's folder."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("POETRY_CACHE_DIR", str(tmp_path / "poetry-cache"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (it is in the test extras)")
    return found


def built_and_imported(project: Path, run, runtime: str, arch: str = "x86_64") -> tuple[str, list[str], Path]:
    """Build the project for ``runtime``, import it from the zip with a real interpreter; (version, distributions, tree)."""
    result = run("install", "--runtime", runtime, "--arch", arch, "-t", f"build/{runtime}-{arch}")
    assert result.exit_code == 0, result.err
    tree = Path(f"build/{runtime}-{arch}").absolute()
    distributions = sorted(path.name.split("-")[0] for path in tree.glob("*.dist-info"))
    if arch != "x86_64":
        return "", distributions, tree
    python = interpreter_for(runtime, arch)
    unzipped = unzip_read_only(project / f"build/{runtime}-{arch}.zip", project / f"unzipped-{runtime}")
    done = subprocess.run(
        [*python, "-I", "-B", "-c", f"import sys; sys.path.insert(0, {str(unzipped)!r}); {IMPORTS}"],
        capture_output=True, text=True, check=False, cwd=unzipped,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    version, location = done.stdout.split()
    assert location.startswith(str(unzipped))
    return version, distributions, tree


def minor(version: str) -> tuple[int, int]:
    major, second = version.split(".")[:2]
    return int(major), int(second)


def test_one_uv_lock_gives_each_python_its_own_versions_and_arm64_its_wheels(network, project, run, tools_on_path):
    uv = tool("uv")
    (project / "pyproject.toml").write_text(PYPROJECT)
    subprocess.run([uv, "lock", "--quiet"], cwd=project, check=True, capture_output=True)

    old, old_dists, _ = built_and_imported(project, run, "python3.10")
    new, new_dists, _ = built_and_imported(project, run, "python3.12")
    assert minor(old) < (3, 11) <= minor(new)
    assert old_dists == ["orjson", "six", "tomli"]
    assert new_dists == ["orjson", "six"]  # no tomli, no pytest (a dev group), no fn (the project)

    _, arm_dists, arm = built_and_imported(project, run, "python3.12", "arm64")
    assert arm_dists == ["orjson", "six"]
    assert re.search(
        r"Tag: cp312-cp312-manylinux_2_\d+_aarch64", next(arm.glob("orjson-*.dist-info/WHEEL")).read_text()
    )
    (library,) = arm.glob("orjson/*.so")
    with library.open("rb") as handle:
        assert ELFFile(handle)["e_machine"] == "EM_AARCH64"


def test_a_poetry_lock_builds_through_poetry_export(network, project, run, tools_on_path):
    poetry = tool("poetry")
    (project / "pyproject.toml").write_text(
        PYPROJECT.replace(
            "[dependency-groups]",
            '[tool.poetry]\npackage-mode = false\n\n[tool.poetry.group.dev.dependencies]\npytest = "*"\n\n[dependency-groups]',
        )
    )
    locked = subprocess.run(
        [poetry, "lock", "--no-interaction"], cwd=project, capture_output=True, text=True, check=False
    )
    assert locked.returncode == 0, locked.stdout + locked.stderr
    version, distributions, _ = built_and_imported(project, run, "python3.12")
    assert distributions == ["orjson", "six"]
    assert minor(version) >= (3, 11)


def test_pip_lambda_lock_is_read_by_install_uv_and_pip_26(network, project, run, tools_on_path, tmp_path):
    python = interpreter_for("python3.12")
    (project / "pyproject.toml").write_text(PYPROJECT)
    result = run("lock", "--runtime", "python3.12")
    assert result.exit_code == 0, result.err
    assert re.search(r"orjson==3\.\d+", result.out)
    assert "tomli" not in result.out

    _, distributions, _ = built_and_imported(project, run, "python3.12")
    assert distributions == ["orjson", "six"]

    uv_target = tmp_path / "uv-target"
    installed = subprocess.run(
        [tool("uv"), "pip", "install", "-r", "pylock.toml", "--target", str(uv_target),
         "--python-platform", "x86_64-manylinux_2_34", "--python-version", "3.12", "--python", python[0]],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert sorted(path.name.split("-")[0] for path in uv_target.glob("*.dist-info")) == ["orjson", "six"]

    environment = tmp_path / "pip26"
    subprocess.run([*python, "-m", "venv", str(environment)], check=True, capture_output=True)
    pip = [str(environment / "bin" / "python"), "-m", "pip"]
    subprocess.run([*pip, "install", "-q", "pip>=26"], check=True, capture_output=True)
    pip_target = tmp_path / "pip-target"
    installed = subprocess.run(
        [*pip, "install", "-r", "pylock.toml", "--target", str(pip_target)],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout + installed.stderr
    done = subprocess.run(
        [*python, "-I", "-c", f"import sys; sys.path.insert(0, {str(pip_target)!r}); {IMPORTS}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
