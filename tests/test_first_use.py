"""Where a user first meets pip-lambda: help that shows real command lines, and a first line that says the runtime."""

from __future__ import annotations

import shlex
import sys

import pytest

from pip_lambda.cli.help import TOP_HELP
from pip_lambda.cli.main import COMMANDS
from pip_lambda.config.options import build_parser, split_argv
from pip_lambda.errors import EXIT_OK

HOST = f"python{sys.version_info[0]}.{sys.version_info[1]}"


def examples(text: str) -> list[str]:
    """The command lines under a help text's ``examples:`` heading, comments left out."""
    _, found, after = text.partition("\nexamples:\n")
    assert found, f"no examples section in:\n{text}"
    lines = (line.split("#", 1)[0].strip() for line in after.splitlines())
    return [line for line in lines if line.startswith("pip-lambda ")]


def test_the_top_level_help_ends_with_real_command_lines(run):
    result = run("--help")
    assert result.exit_code == EXIT_OK
    tail = [line.split("#", 1)[0].strip() for line in result.out.rstrip().splitlines()[-5:]]
    assert all(line.startswith("pip-lambda ") for line in tail), tail
    assert tail == examples(TOP_HELP)
    joined = "\n".join(tail)
    for kind in ("--code app.py", "--layer", "--arch arm64", "--lock pylock.toml", "verify "):
        assert kind in joined


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_an_example_in_its_help(run, command):
    result = run(command, "--help")
    assert result.exit_code == EXIT_OK, result.err
    assert any(line.startswith(f"pip-lambda {command}") for line in examples(result.out)), result.out


@pytest.mark.parametrize("command", ["install", "build"])
def test_the_examples_of_install_and_build_use_only_real_options(run, command):
    lines = examples(TOP_HELP) + examples(run(command, "--help").out)
    for line in lines:
        words = shlex.split(line)
        if words[1] != command:
            continue
        ours, _ = split_argv(words[2:])
        build_parser(f"pip-lambda {command}").parse_args(ours)  # raises on an unknown option or a missing value


def test_without_a_runtime_the_first_line_says_which_one_and_why(project, run):
    (project / "app.py").write_text("x = 1\n")
    result = run("install", "--code", "app.py")
    assert result.exit_code == EXIT_OK, result.err
    assert result.err.splitlines()[0] == (
        f"building for {HOST}, the Python running pip-lambda; pass --runtime to choose"
    )
    checked = run("verify", "build/lambda.zip")
    assert (
        checked.err.splitlines()[0] == f"checking for {HOST}, the Python running pip-lambda; pass --runtime to choose"
    )


@pytest.mark.parametrize("how", ["option", "variable", "pyproject"])
def test_a_runtime_given_anywhere_needs_no_such_line(project, run, monkeypatch, how):
    (project / "app.py").write_text("x = 1\n")
    arguments = ["install", "--code", "app.py"]
    if how == "option":
        arguments += ["--runtime", HOST]
    elif how == "variable":
        monkeypatch.setenv("PIP_LAMBDA_RUNTIME", HOST)
    else:
        (project / "pyproject.toml").write_text(f'[tool.pip-lambda]\nruntime = "{HOST}"\n')
    result = run(*arguments)
    assert result.exit_code == EXIT_OK, result.err
    assert "the Python running pip-lambda" not in result.err
