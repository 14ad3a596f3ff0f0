"""The command line: entry points, help, and one clear line for every usage error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pip_lambda import __version__
from pip_lambda.errors import EXIT_USAGE


def test_python_dash_m_runs_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "pip_lambda", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert done.stdout.startswith(f"pip-lambda {__version__} from ")


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "pip-lambda"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "usage: pip-lambda install" in done.stdout


def test_install_help_has_worked_examples(run):
    result = run("install", "--help")
    assert result.exit_code == 0
    assert "--runtime NAME" in result.out
    assert "pip-lambda install --layer" in result.out
    assert "--arch arm64" in result.out


def test_no_arguments_prints_usage_and_fails(run):
    result = run()
    assert result.exit_code == EXIT_USAGE
    assert "usage:" in result.out


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["frobnicate"], "error: unknown command 'frobnicate'; choose one of: install"),
        (["install", "--runtime", "python2.7", "x"], "error: unknown runtime 'python2.7'; choose one of: python3.8, "),
        (["install", "--runtime", "python3.12", "--arch", "sparc", "x"], "error: unknown architecture 'sparc'"),
        (
            ["install", "--runtime", "python3.12"],
            "error: nothing to install; give requirements, -r requirements.txt, or --code PATH",
        ),
        (
            ["install", "--runtime", "python3.12", "--user", "x"],
            "error: pip option --user cannot make a Lambda package",
        ),
        (["install", "--runtime", "python3.12", "-e", ".", "x"], "error: pip option -e cannot make a Lambda package"),
        (
            ["install", "--runtime", "python3.12", "--code", "missing.py"],
            "error: --code missing.py: no such file or folder",
        ),
        (["install", "--runtime"], "error: argument --runtime: expected one argument"),
    ],
)
def test_usage_errors_are_one_line_without_traceback(project, run, args, line):
    result = run(*args)
    assert result.exit_code == EXIT_USAGE
    assert result.err.strip().splitlines()[-1].startswith(line)
    assert "Traceback" not in result.err
    assert not (project / "build").exists()
