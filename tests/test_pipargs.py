"""Which arguments reach pip, which are refused, and which manual-command flags are honoured."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from pip_lambda.config.options import split_argv
from pip_lambda.config.sources import _names_requirements
from pip_lambda.errors import UsageError
from pip_lambda.pip.args import FIND_LINKS, PIP_TABLE, REQUIREMENT, PipArgs, parse_pip_args, tokenize
from pip_lambda.pip.run import install_command, pip_environment
from pip_lambda.pip.seam import MARKERS_VARIABLE
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target

PY312 = Target(get_runtime("python3.12"), Arch.X86_64)
PY311 = Target(get_runtime("python3.11"), Arch.X86_64)


PASSTHROUGH = [
    ["-r", "requirements.txt"],
    ["-rrequirements.txt"],
    ["--requirement=requirements.txt"],
    ["-c", "constraints.txt"],
    ["-i", "https://example.org/simple"],
    ["--index-url", "https://example.org/simple"],
    ["--extra-index-url", "https://example.org/extra"],
    ["--find-links", "wheels/"],
    ["--no-index"],
    ["--require-hashes"],
    ["--pre"],
    ["--no-deps"],
    ["numpy>=2", "pydantic==2.9.0"],
    ["requests[socks]; python_version >= '3.8'"],
]


@pytest.mark.parametrize("tokens", PASSTHROUGH)
def test_pip_options_pass_through_unchanged(tokens):
    assert parse_pip_args(tokens, PY312).passthrough == tuple(tokens)


def test_the_option_table_knows_every_option_of_the_installed_pip():
    """The one table, checked against ``pip install --help``: each spelling, and whether it takes a value."""
    shown = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--help"], capture_output=True, text=True, check=True
    ).stdout
    options = re.findall(r"^  ((?:-{1,2}[\w-]+)(?:, -{1,2}[\w-]+)*)( <[^>]+>)?(?:\s|$)", shown, re.MULTILINE)
    assert len(options) > 60
    for spellings, metavar in options:
        for spelling in spellings.split(", "):
            option = PIP_TABLE.find(spelling)
            assert option is not None, spelling
            assert option.takes_value == bool(metavar), spelling


@pytest.mark.parametrize(
    ("arguments", "option", "value"),
    [
        (["--find-links", "wh"], FIND_LINKS, "wh"),
        (["--find-links=wh"], FIND_LINKS, "wh"),
        (["-f", "wh"], FIND_LINKS, "wh"),
        (["-fwh"], FIND_LINKS, "wh"),
        (["--find", "wh"], FIND_LINKS, "wh"),
        (["--find-l=wh"], FIND_LINKS, "wh"),
        (["-qUr", "req.txt"], REQUIREMENT, "req.txt"),
        (["-qUrreq.txt"], REQUIREMENT, "req.txt"),
    ],
)
def test_one_tokenizer_reads_every_spelling_as_pip_does(arguments, option, value):
    tokens = [token for token in tokenize(arguments) if token.option is option]
    assert [token.value for token in tokens] == [value]


def test_a_bundle_keeps_its_tokens_and_each_option_can_stand_alone():
    args = PipArgs(("-qUr", "req.txt", "--pre", "numpy"))
    assert parse_pip_args(args.passthrough, PY312).passthrough == args.passthrough
    assert args.without_requirements() == ("-q", "-U", "--pre")
    assert args.looks == ("--pre",)


def test_abbreviated_and_bundled_options_are_checked_like_full_ones():
    assert parse_pip_args(["-qUr", "req.txt"], PY312).requirement_files == ("req.txt",)
    with pytest.raises(UsageError, match=r"pip option --prefi \(--prefix\) cannot make a Lambda package"):
        parse_pip_args(["--prefi", "/usr"], PY312)
    with pytest.raises(UsageError, match=r"pip option --comp \(--compile\) cannot make a Lambda package"):
        parse_pip_args(["--comp"], PY312)
    with pytest.raises(UsageError, match=r"--targ \(--target\) given twice"):
        parse_pip_args(["--targ", "elsewhere"], PY312)
    with pytest.raises(UsageError, match=r"-Ue cannot make|pip option -e cannot make a Lambda package"):
        parse_pip_args(["-Ue", "."], PY312)


def test_an_ambiguous_abbreviation_is_left_for_pip_to_name():
    assert [token.option for token in tokenize(["--use", "x"])] == [None, None]


def test_a_flag_given_a_value_is_refused():
    with pytest.raises(UsageError, match="--no-deps takes no value"):
        parse_pip_args(["--no-deps=1", "numpy"], PY312)


def test_files_pip_reads_itself_count_as_requirements():
    args = parse_pip_args(
        ["--group", "lambda", "--requirements-from-script", "app.py", "--group=libs/pyproject.toml:x"], PY312
    )
    assert args.read_by_pip == ("pyproject.toml", "app.py", "libs/pyproject.toml")
    assert args.has_requirements


@pytest.mark.parametrize(
    ("tokens", "names"),
    [
        (["-r", "req.txt"], True),
        (["-qr", "req.txt"], True),
        (["--requirement=req.txt"], True),
        (["--group", "lambda"], True),
        (["--no-deps", "numpy"], True),
        (["--", "numpy"], True),
        (["-c", "pins.txt"], False),
        (["--find-links", "numpy"], False),
    ],
)
def test_the_command_line_names_requirements(tokens, names):
    assert _names_requirements(tokens) is names


@pytest.mark.parametrize("verbosity", ["-q", "-qq", "-v", "-vvv"])
def test_quiet_and_verbose_go_to_pip_and_to_pip_lambda(verbosity):
    ours, pips = split_argv([verbosity, "-r", "req.txt"])
    assert ours == [verbosity]
    assert pips == [verbosity, "-r", "req.txt"]


def test_split_keeps_order_and_takes_only_our_options():
    ours, pips = split_argv(
        ["-r", "a.txt", "--runtime", "python3.12", "numpy", "-t", "out", "--layer", "--pre", "-o=x.zip"]
    )
    assert ours == ["--runtime", "python3.12", "-t", "out", "--layer", "-o=x.zip"]
    assert pips == ["-r", "a.txt", "numpy", "--pre"]


def test_a_pip_option_value_is_never_taken_for_ours():
    ours, pips = split_argv(["-r", "--layer", "numpy"])
    assert ours == []
    assert pips == ["-r", "--layer", "numpy"]


def test_everything_after_double_dash_goes_to_pip():
    ours, pips = split_argv(["--layer", "--", "--runtime", "x"])
    assert ours == ["--layer"]
    assert pips == ["--runtime", "x"]


@pytest.mark.parametrize(
    ("tokens", "words"),
    [
        (["--user", "numpy"], "pip option --user cannot make a Lambda package"),
        (["--prefix", "/usr"], "pip option --prefix cannot make a Lambda package"),
        (["--root", "/"], "pip option --root cannot make a Lambda package"),
        (["-e", "."], "pip option -e cannot make a Lambda package: an editable install"),
        (["--editable=."], "pip option --editable cannot make a Lambda package"),
        (["--src", "src"], "pip option --src cannot make a Lambda package"),
        (["--no-binary", ":all:"], "pip option --no-binary cannot make a Lambda package"),
        (["--compile"], "pip option --compile cannot make a Lambda package"),
        (["--python", "/usr/bin/python3"], "pip option --python cannot make a Lambda package"),
    ],
)
def test_options_that_cannot_make_a_lambda_package_are_refused(tokens, words):
    with pytest.raises(UsageError, match=words):
        parse_pip_args(tokens, PY312)


@pytest.mark.parametrize(
    "tokens",
    [
        ["--platform", "manylinux2014_x86_64"],
        ["--platform=manylinux_2_28_x86_64"],
        ["--python-version", "3.12"],
        ["--python-version", "312"],
        ["--implementation", "cp"],
        ["--only-binary=:all:"],
        ["--abi", "cp312"],
        ["--abi", "abi3"],
    ],
)
def test_manual_command_flags_that_agree_are_honoured(tokens):
    parse_pip_args(tokens, PY312)


def test_agreeing_platforms_narrow_the_tag_set():
    args = parse_pip_args(["--platform", "manylinux2014_x86_64"], PY312)
    command = install_command(PY312, "site", args.passthrough, args.platforms)
    assert [command[index + 1] for index, token in enumerate(command) if token == "--platform"] == [
        "manylinux2014_x86_64"
    ]


@pytest.mark.parametrize(
    ("tokens", "target", "words"),
    [
        (
            ["--platform", "manylinux_2_28_x86_64"],
            PY311,
            "contradicts the target python3.11 x86_64: python3.11 runs glibc 2.26",
        ),
        (["--platform", "manylinux2014_aarch64"], PY312, "it is for aarch64 but the target architecture is x86_64"),
        (["--platform", "macosx_11_0_arm64"], PY312, "Lambda runs glibc-based Linux only"),
        (["--platform", "musllinux_1_2_x86_64"], PY312, "Lambda runs glibc-based Linux only"),
        (["--python-version", "3.11"], PY312, r"--python-version 3.11 contradicts --runtime python3.12"),
        (["--implementation", "pp"], PY312, "Lambda runs CPython"),
        (["--only-binary=:none:"], PY312, "contradicts pip-lambda's wheels-only build"),
        (["--abi", "cp311"], PY312, "--abi cp311 contradicts the target"),
    ],
)
def test_manual_command_flags_that_contradict_are_errors(tokens, target, words):
    with pytest.raises(UsageError, match=words):
        parse_pip_args(tokens, target)


def test_install_command_injects_the_target_flags():
    command = install_command(PY312, "site", ["-r", "requirements.txt"])
    assert command[:6] == [sys.executable, "-m", "pip_lambda.pip.seam", "install", "--target", "site"]
    assert command.count("--platform") == len(PY312.platform_tags)
    for flag in ("--only-binary=:all:", "--no-compile", "--no-input"):
        assert flag in command
    assert command[command.index("--python-version") + 1] == "3.12"
    assert command[command.index("--implementation") + 1] == "cp"
    assert command[-2:] == ["-r", "requirements.txt"]


def test_python314_gets_its_pip_arguments():
    python314 = Target(get_runtime("python3.14"), Arch.ARM64)
    command = install_command(python314, "site", [])
    assert command[command.index("--python-version") + 1] == "3.14"
    assert "manylinux_2_34_aarch64" in command and "manylinux_2_35_aarch64" not in command


def test_pip_environment_keeps_pip_settings_and_drops_conflicts():
    environment = pip_environment(
        PY312, {"PIP_INDEX_URL": "https://example.org/simple", "PIP_TARGET": "/tmp/x", "PIP_USER": "1"}
    )
    assert environment["PIP_INDEX_URL"] == "https://example.org/simple"
    assert "PIP_TARGET" not in environment and "PIP_USER" not in environment
    assert '"platform_machine": "x86_64"' in environment[MARKERS_VARIABLE]


def test_pip_configuration_from_the_environment_reaches_pip(project, run, wheelhouse, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    result = run("install", "--runtime", "python3.12", "purepkg")
    assert result.exit_code == 0, result.err


def test_python314_builds_pure_wheels(project, run, offline):
    result = run("install", "--runtime", "python3.14", *offline, "markerpkg")
    assert result.exit_code == 0, result.err
    assert "dep-new==1.0" in result.out
