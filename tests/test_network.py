"""Real packages from PyPI, imported by a real interpreter of the target's Python from a read-only tree."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from conftest import interpreter_for, unzip_read_only

pytestmark = pytest.mark.network


def highest_glibc(path: Path) -> tuple[int, ...]:
    """The newest GLIBC_x.y symbol version an ELF file needs (pyelftools, independent of pip-lambda)."""
    versions = [(0,)]
    with path.open("rb") as handle:
        for section in ELFFile(handle).iter_sections():
            if isinstance(section, GNUVerNeedSection):
                for _, needed in section.iter_versions():
                    names = [aux.name for aux in needed]
                    versions += [
                        tuple(int(part) for part in name[6:].split("."))
                        for name in names
                        if re.fullmatch(r"GLIBC_[0-9.]+", name)
                    ]
    return max(versions)


def build_and_import(project: Path, run, runtime: str, packages: list[str], statement: str) -> str:
    python = interpreter_for(runtime)
    result = run("install", "--runtime", runtime, *packages)
    assert result.exit_code == 0, result.err
    tree = unzip_read_only(project / "build/lambda.zip", project / "unzipped")
    done = subprocess.run(
        [*python, "-I", "-B", "-c", f"import sys; sys.path.insert(0, {str(tree)!r}); {statement}"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tree,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_python312_gets_a_manylinux_2_28_numpy_that_imports(network, project, run):
    out = build_and_import(
        project,
        run,
        "python3.12",
        ["numpy", "pydantic", "requests"],
        "import numpy, pydantic, requests; print(numpy.__version__); print(numpy.__file__)",
    )
    version, location = out.split()
    assert tuple(int(part) for part in version.split(".")[:2]) >= (2, 3)
    assert location.startswith(str(project / "unzipped"))
    wheel = (project / "build/lambda").glob("numpy-*.dist-info/WHEEL")
    assert re.search(r"Tag: cp312-cp312-manylinux_2_(2[8-9]|3[0-4])_x86_64", next(wheel).read_text())


def test_python311_numpy_needs_no_glibc_newer_than_226(network, project, run):
    build_and_import(project, run, "python3.11", ["numpy"], "import numpy; numpy.ones(3).sum()")
    objects = [path for path in (project / "build/lambda").rglob("*.so*") if path.is_file()]
    assert objects
    assert max(highest_glibc(path) for path in objects) <= (2, 26)
