"""`pip-lambda … | head`: a reader that leaves early ends no command with an error, and the exit code stays."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EM_AARCH64, elf_header


def with_reader_gone(*args: str, cwd: Path) -> tuple[int, str]:
    """Run pip-lambda with its standard output a pipe whose reader is gone before anything is written."""
    command = [sys.executable, "-m", "pip_lambda", *args]
    with subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # like `| head -0`
        errors = process.stderr.read().decode()
        return process.wait(timeout=120), errors


def test_install_finishes_its_work_and_exits_0(project, wheelhouse):
    args = ("install", "--runtime", "python3.12", "--no-index", "--find-links", str(wheelhouse), "purepkg")
    code, errors = with_reader_gone(*args, "--report", "report.json", cwd=project)
    assert (code, "error" in errors.lower()) == (0, False), errors
    assert (project / "report.json").is_file() and (project / "build/lambda.zip").is_file()


@pytest.mark.parametrize(("args", "expected"), [(("--help",), 0), (("verify", "--runtime", "python3.12", "bad"), 4)])
def test_other_commands_keep_their_exit_code(project, args, expected):
    (project / "bad").mkdir()
    (project / "bad/_native.so").write_bytes(elf_header(EM_AARCH64))  # the wrong machine: verify exits 4
    code, errors = with_reader_gone(*args, cwd=project)
    assert (code, errors) == (expected, "")
