"""The wheel of pip-lambda itself holds the package, its data and nothing else."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contents(tmp_path):
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is needed to build the wheel")
    source = tmp_path / "source"
    shutil.copytree(ROOT / "pip_lambda", source / "pip_lambda", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-w",
        str(tmp_path),
    ]
    subprocess.run([*command, str(source)], capture_output=True, check=True)
    (wheel,) = tmp_path.glob("pip_lambda-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    package = sorted(name for name in names if not name.startswith("pip_lambda-"))
    expected = sorted(
        f"pip_lambda/{path.relative_to(ROOT / 'pip_lambda').as_posix()}"
        for path in (ROOT / "pip_lambda").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )
    assert package == expected
    assert "pip_lambda/py.typed" in names
    assert "pip_lambda/data/runtimes.json" in names
    assert not [name for name in names if name.startswith("tests/")]
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "pip-lambda = pip_lambda.__main__:entrypoint" in zipfile.ZipFile(wheel).read(entry_points).decode()
