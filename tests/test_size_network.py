"""The data workload (pandas, numpy) from PyPI for python3.12: each distribution's share and why it is there."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.network

DIRECT = {"pandas", "numpy"}


def parts(document: dict) -> dict[str, dict]:
    (package,) = document["packages"]
    return {part["name"]: part for part in package["parts"]}


def check_data_workload(found: dict[str, dict], requested: set[str]) -> None:
    """numpy's and pandas' shares of the zip, and a chain from pandas for everything else."""
    assert found["numpy"]["share"] > 0.2 and found["pandas"]["share"] > 0.2
    assert found["numpy"]["share"] + found["pandas"]["share"] < 1
    transitive = set(found) - DIRECT
    assert {"python-dateutil", "tzdata"} <= transitive
    for name in transitive:
        chain = found[name]["chain"]
        assert chain[0] == "pandas" and chain[-1] == name, (name, chain)
    for name in DIRECT:
        assert found[name]["requested"] == (name in requested)


def test_size_of_the_data_workload_names_shares_and_chains(network, project, run):
    built = run("install", "--runtime", "python3.12", "pandas", "numpy", "--report", "build/report.json")
    assert built.exit_code == 0, built.err
    from_zip = run("size", "--runtime", "python3.12", "--json", "build/lambda.zip")
    assert from_zip.exit_code == 0, from_zip.err
    check_data_workload(parts(json.loads(from_zip.out)), requested=set())
    from_report = run("size", "--json", "build/report.json")
    assert from_report.exit_code == 0, from_report.err
    check_data_workload(parts(json.loads(from_report.out)), requested=DIRECT)
    text = run("size", "--runtime", "python3.12", "build/lambda.zip").out
    tzdata = next(line for line in text.splitlines() if line.split()[:1] == ["tzdata"])
    assert tzdata.rstrip().endswith("← pandas")


def test_size_of_a_zip_made_the_manual_way(network, project, run, tmp_path):
    """``pip install --target`` with the platform flags, then ``zip -r``: chains start at what nothing requires."""
    tree = tmp_path / "tree"
    platform = ["--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64"]
    target = ["--implementation", "cp", "--python-version", "3.12", "--only-binary=:all:"]
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(tree), *platform, *target]
    subprocess.run([*pip, "pandas"], check=True)
    archive = tmp_path / "manual.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(Path(tree).rglob("*")):
            out.write(path, path.relative_to(tree).as_posix())
    result = run("size", "--runtime", "python3.12", "--json", str(archive))
    assert result.exit_code == 0, result.err
    found = parts(json.loads(result.out))
    check_data_workload(found, requested=set())
    assert found["pandas"]["chain"] == ["pandas"]
