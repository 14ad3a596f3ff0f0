"""verify against real packages from PyPI and real interpreters (marked network; they skip without either)."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pip_lambda.errors import EXIT_NO_WHEEL, EXIT_VERIFY_FAILED

from conftest import interpreter_for

pytestmark = pytest.mark.network


def pip(*args: str, python: list[str] | None = None) -> None:
    subprocess.run([*(python or [sys.executable]), "-m", "pip", "--disable-pip-version-check", *args], check=True)


def test_a_host_install_of_numpy_fails_for_python311_naming_the_glibc(network, tmp_path, run):
    libc, version = platform.libc_ver()
    if libc != "glibc" or tuple(map(int, version.split("."))) < (2, 27):
        pytest.skip("this machine's glibc is old enough for numpy's manylinux2014 wheels")
    pip("install", "--quiet", "--target", str(tmp_path / "host"), "numpy", python=interpreter_for("python3.11"))
    result = run("verify", str(tmp_path / "host"), "--runtime", "python3.11")
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "numpy==" in result.out
    assert "newer than python3.11's glibc 2.26" in result.out
    assert "GLIBC_2.2" in result.out


def test_a_macos_orjson_wheel_fails_naming_the_mach_o_file(network, tmp_path, run):
    download = tmp_path / "download"
    pip("download", "--quiet", "--no-deps", "--only-binary=:all:", "--platform", "macosx_11_0_arm64",
        "--python-version", "3.12", "--implementation", "cp", "-d", str(download), "orjson")  # fmt: skip
    (wheel,) = download.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path / "tree")
    result = run("verify", str(tmp_path / "tree"), "--runtime", "python3.12")
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "orjson/orjson.cpython-312-darwin.so" in result.out
    assert "a Mach-O (macOS) binary, not ELF" in result.out


def test_an_arm64_build_verified_as_x86_64_fails(network, project, run):
    assert run("install", "--runtime", "python3.12", "--arch", "arm64", "orjson").exit_code == 0
    result = run("verify", "build/lambda.zip", "--runtime", "python3.12", "--arch", "x86_64")
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "built for aarch64 (64-bit), not x86_64" in result.out
    assert run("verify", "build/lambda.zip", "--runtime", "python3.12", "--arch", "arm64").exit_code == 0


def test_a_good_python312_build_imports_and_a_corrupted_one_does_not(network, project, run):
    interpreter_for("python3.12")
    result = run("install", "--runtime", "python3.12", "pydantic", "--verify-import")
    assert result.exit_code == 0, result.err
    assert run("verify", "build/lambda.zip", "--runtime", "python3.12", "--import").exit_code == 0
    (module,) = Path("build/lambda/pydantic_core").glob("_pydantic_core.cpython-312-*.so")
    module.write_bytes(module.read_bytes()[:4096])
    result = run("verify", "build/lambda", "--runtime", "python3.12", "--import", "--json")
    assert result.exit_code == EXIT_VERIFY_FAILED
    document = json.loads(result.out)
    assert document["import_test"]["ran"] is True
    failed = [finding for finding in document["findings"] if finding["check"] == "import"]
    assert any(finding["path"] == "pydantic_core" for finding in failed), failed


def test_docopt_sdist_fails_clearly_and_installs_with_allow_sdist(network, project, run):
    result = run("install", "--runtime", "python3.12", "docopt")
    assert result.exit_code == EXIT_NO_WHEEL
    assert "docopt: only a source distribution (sdist) matches docopt (docopt-0.6.2.tar.gz)" in result.err
    assert "--allow-sdist docopt" in result.err
    result = run("install", "--runtime", "python3.12", "docopt", "--allow-sdist", "docopt")
    assert result.exit_code == 0, result.err
    assert "docopt==0.6.2" in result.out
