"""Configuration: pyproject.toml, setup.cfg and PIP_LAMBDA_* variables, their precedence and their errors."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from pip_lambda.config.files import find_config
from pip_lambda.config.options import INSTALL_OPTIONS, Option, build_parser, split_argv
from pip_lambda.config.sources import COMMAND_LINE, environment_source, pip_arguments, settings_for
from pip_lambda.config.values import ConfigError, configurable_options, variable_name
from pip_lambda.errors import EXIT_USAGE


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def command_line(*argv: str):
    from pip_lambda.config.sources import command_line_source

    ours, _pips = split_argv(list(argv))
    return command_line_source(vars(build_parser("pip-lambda install").parse_args(ours)))


def resolved(*argv: str, environ: dict[str, str] | None = None, name: str | None = None):
    return settings_for(command_line(*argv), environment_source(environ or {}), find_config(), name)


# --- precedence ------------------------------------------------------------------------------


def test_precedence_command_line_environment_pyproject_setup_cfg_default(project):
    write(
        project,
        "pyproject.toml",
        '[tool.pip-lambda]\nruntime = "python3.11"\narch = "arm64"\ntarget = "from-pyproject"\n',
    )
    write(
        project,
        "setup.cfg",
        "[pip-lambda]\nruntime = python3.10\narch = x86_64\ntarget = from-setup-cfg\noutput = cfg.zip\nlayer = true\n",
    )
    settings = resolved(
        "--runtime", "python3.13", environ={"PIP_LAMBDA_RUNTIME": "python3.12", "PIP_LAMBDA_ARCH": "x86_64"}
    )
    assert (settings["runtime"].value, settings["runtime"].source) == ("python3.13", COMMAND_LINE)
    assert (settings["arch"].value, settings["arch"].source) == ("x86_64", "environment")
    assert settings["target"].value == "from-pyproject"
    assert settings["target"].source == f"[tool.pip-lambda] in {project / 'pyproject.toml'}"
    assert settings["output"].value == "cfg.zip"
    assert settings["output"].source == f"[pip-lambda] in {project / 'setup.cfg'}"
    assert settings["layer"].value is True
    assert (settings["code"].value, settings["code"].source) == ((), "default")


def test_environment_beats_pyproject_and_a_false_boolean_counts(project):
    write(project, "pyproject.toml", "[tool.pip-lambda]\nlayer = true\n")
    assert resolved(environ={"PIP_LAMBDA_LAYER": "0"})["layer"].value is False
    assert resolved()["layer"].value is True


def test_verbose_run_names_the_source_of_each_setting(project, run, offline, monkeypatch):
    write(project, "pyproject.toml", '[tool.pip-lambda]\narch = "arm64"\n')
    write(project, "setup.cfg", "[pip-lambda]\noutput = out/fn.zip\n")
    monkeypatch.setenv("PIP_LAMBDA_RUNTIME", "python3.12")
    result = run("install", "-v", "--no-zip", *offline, "purepkg")
    assert result.exit_code == 0, result.err
    assert "runtime " in result.err and "'python3.12'  (environment)" in result.err
    assert f"'arm64'  ([tool.pip-lambda] in {project / 'pyproject.toml'})" in result.err
    assert f"'out/fn.zip'  ([pip-lambda] in {project / 'setup.cfg'})" in result.err
    assert "no_zip" not in result.err and "no-zip" in result.err and "(command line)" in result.err


def test_configured_build_uses_every_source(project, run, offline, monkeypatch):
    write(project, "requirements.txt", "purepkg\n")
    write(project, "app.py", "def handler(event, context):\n    return 1\n")
    write(
        project,
        "pyproject.toml",
        '[tool.pip-lambda]\nruntime = "python3.12"\nrequirements = ["requirements.txt"]\ncode = ["app.py"]\n',
    )
    write(project, "setup.cfg", "[pip-lambda]\noutput = dist/fn.zip\narch = x86_64\n")
    monkeypatch.setenv("PIP_LAMBDA_ARCH", "arm64")
    result = run("install", *offline)
    assert result.exit_code == 0, result.err
    assert "python3.12 on arm64" in result.out
    with zipfile.ZipFile(project / "dist/fn.zip") as archive:
        assert {"app.py", "purepkg/__init__.py"} <= set(archive.namelist())


def test_requirements_on_the_command_line_replace_the_configured_ones(project, run, offline):
    write(project, "pyproject.toml", '[tool.pip-lambda]\nruntime = "python3.12"\nrequirements = ["missing.txt"]\n')
    result = run("install", *offline, "dep-new")
    assert result.exit_code == 0, result.err
    assert "dep-new==1.0" in result.out


def test_pip_args_come_before_the_command_lines(project):
    write(
        project,
        "pyproject.toml",
        '[tool.pip-lambda]\npip-args = ["--no-deps"]\nrequirements = ["req.txt"]\nverbose = 1\n',
    )
    settings = resolved()
    assert pip_arguments(settings, ["--pre"]) == ["--no-deps", "-r", "req.txt", "-v", "--pre"]
    assert pip_arguments(settings, ["-r", "other.txt"]) == ["--no-deps", "-v", "-r", "other.txt"]


def test_config_is_found_walking_up_and_paths_are_relative_to_its_file(project, monkeypatch):
    write(project, "pyproject.toml", '[tool.pip-lambda]\ntarget = "build/fn"\ncode = ["src/app.py"]\n')
    write(project.parent, "pyproject.toml", '[tool.pip-lambda]\nruntime = "python3.9"\n')
    nested = project / "deep" / "er"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    settings = resolved()
    assert settings["target"].value == "../../build/fn"
    assert settings["code"].value == ("../../src/app.py",)
    assert settings["runtime"].source == "default"  # the folder above the first config is not read


def test_a_file_without_our_section_does_not_stop_the_walk(project, monkeypatch):
    write(project, "pyproject.toml", "[tool.black]\nline-length = 100\n# pip-lambda is mentioned here\n")
    write(project, "setup.cfg", "[metadata]\nname = pip-lambda-user\n")
    write(project.parent, "setup.cfg", "[pip-lambda]\nruntime = python3.13\n")
    assert resolved()["runtime"].value == "python3.13"


def test_every_option_of_the_table_has_a_key_and_a_variable():
    names = {option.name for option in configurable_options()}
    assert {option.name for option in INSTALL_OPTIONS if option.configurable} | {"requirements", "pip-args"} == names
    assert {"runtime", "arch", "target", "output", "layer", "code", "no-zip", "report"} <= names
    assert "name" not in names
    assert variable_name(next(o for o in INSTALL_OPTIONS if o.name == "no-zip")) == "PIP_LAMBDA_NO_ZIP"


def test_an_option_appended_to_the_table_gets_a_key_for_free(project):
    table = (*INSTALL_OPTIONS, Option("compile-level", "count", "a future option"))
    write(project, "pyproject.toml", "[tool.pip-lambda]\ncompile-level = 2\n")
    project_config = find_config(options=configurable_options(table))
    settings = settings_for(
        command_line(), environment_source({}, configurable_options(table)), project_config, None, table
    )
    assert settings["compile-level"].value == 2


@pytest.mark.parametrize(
    ("key", "toml", "expected"),
    [
        ("runtime", '"python3.12"', "python3.12"),
        ("layer", "true", True),
        ("code", '["a.py", "lib"]', ("a.py", "lib")),
        ("code", '"a.py"', ("a.py",)),
        ("quiet", "2", 2),
    ],
)
def test_toml_values_of_each_kind(project, key, toml, expected):
    write(project, "pyproject.toml", f"[tool.pip-lambda]\n{key} = {toml}\n")
    assert resolved()[key].value == expected


@pytest.mark.parametrize(
    ("variable", "raw", "key", "expected"),
    [
        ("PIP_LAMBDA_NO_ZIP", "yes", "no-zip", True),
        ("PIP_LAMBDA_CODE", "app.py 'my lib'", "code", ("app.py", "my lib")),
        ("PIP_LAMBDA_PIP_ARGS", "--no-deps --require-hashes", "pip-args", ("--no-deps", "--require-hashes")),
        ("PIP_LAMBDA_VERBOSE", "2", "verbose", 2),
    ],
)
def test_environment_values_of_each_kind(project, variable, raw, key, expected):
    assert resolved(environ={variable: raw})[key].value == expected


# --- errors ----------------------------------------------------------------------------------


def error_of(project: Path, run, *argv: str) -> str:
    result = run("install", *argv)
    assert result.exit_code == EXIT_USAGE, result.err
    assert "Traceback" not in result.err
    return result.err.strip().splitlines()[-1]


def test_unknown_key_in_pyproject_names_file_key_and_choices(project, run):
    write(project, "pyproject.toml", '[tool.pip-lambda]\nruntme = "python3.12"\n')
    line = error_of(project, run)
    assert line.startswith(f"error: [tool.pip-lambda] in {project / 'pyproject.toml'}: unknown key 'runtme'")
    assert "did you mean 'runtime'?" in line
    assert (
        "valid keys: allow-outside-project, allow-sdist, arch, code," in line
        and "pip-args" in line
        and "targets" in line
    )


def test_unknown_key_in_setup_cfg_names_file_key_and_choices(project, run):
    write(project, "setup.cfg", "[pip-lambda]\nlayers = true\n")
    line = error_of(project, run)
    assert f"[pip-lambda] in {project / 'setup.cfg'}: unknown key 'layers'" in line
    assert "did you mean 'layer'?" in line and "valid keys:" in line


def test_unknown_key_in_a_named_target(project, run):
    write(project, "pyproject.toml", "[tool.pip-lambda.targets.api]\noutpt = 'x.zip'\n")
    line = error_of(project, run)
    assert f"[tool.pip-lambda.targets.api] in {project / 'pyproject.toml'}: unknown key 'outpt'" in line
    assert "did you mean 'output'?" in line


def test_pip_settings_are_refused_with_a_pointer_to_pips_configuration(project, run):
    write(project, "pyproject.toml", '[tool.pip-lambda]\nindex-url = "https://example.invalid/simple"\n')
    line = error_of(project, run)
    assert "unknown key 'index-url'" in line
    assert "pip's own settings belong in pip's configuration" in line


@pytest.mark.parametrize(
    ("toml", "words", "choices"),
    [
        ('layer = "yes"', "layer must be true or false, not 'yes'", "true or false"),
        ("runtime = 3.12", "runtime must be a string, not 3.12", "choose one of: python3.8"),
        ("code = [1, 2]", "code must be a list of strings, not [1, 2]", "a list of strings"),
        ("verbose = true", "verbose must be a whole number (0 or more), not true", "whole number"),
        ("target = { a = 1 }", "target must be a string, not a table", "a string"),
    ],
)
def test_wrong_type_in_pyproject_names_file_key_and_choices(project, run, toml, words, choices):
    write(project, "pyproject.toml", f"[tool.pip-lambda]\n{toml}\n")
    line = error_of(project, run)
    assert f"[tool.pip-lambda] in {project / 'pyproject.toml'}: {words}" in line
    assert choices in line


def test_wrong_type_in_setup_cfg(project, run):
    write(project, "setup.cfg", "[pip-lambda]\nno-zip = perhaps\n")
    line = error_of(project, run)
    assert f"[pip-lambda] in {project / 'setup.cfg'}: no-zip must be true or false, not 'perhaps'" in line


@pytest.mark.parametrize(
    ("toml", "words", "choices"),
    [
        ('runtime = "python2.7"', "runtime = 'python2.7': unknown runtime 'python2.7'", "choose one of: python3.8"),
        ('arch = "sparc"', "arch = 'sparc': unknown architecture 'sparc'", "choose x86_64 (alias amd64) or arm64"),
    ],
)
def test_wrong_value_in_pyproject_names_file_key_and_choices(project, run, toml, words, choices):
    write(project, "pyproject.toml", f"[tool.pip-lambda]\n{toml}\n")
    line = error_of(project, run)
    assert f"[tool.pip-lambda] in {project / 'pyproject.toml'}: {words}" in line
    assert choices in line


def test_wrong_value_in_a_variable_names_the_variable(project, run, monkeypatch):
    monkeypatch.setenv("PIP_LAMBDA_LAYER", "sometimes")
    line = error_of(project, run)
    assert "environment variable PIP_LAMBDA_LAYER: layer must be true or false, not 'sometimes'" in line


def test_unknown_variable_is_a_warning_with_a_suggestion(project, run, offline, monkeypatch):
    monkeypatch.setenv("PIP_LAMBDA_RUNTIM", "python3.12")
    result = run("install", "--runtime", "python3.12", "--no-zip", *offline, "purepkg")
    assert result.exit_code == 0, result.err
    assert "warning: ignoring unknown variable PIP_LAMBDA_RUNTIM; did you mean PIP_LAMBDA_RUNTIME?" in result.err


def test_broken_toml_is_an_error_naming_the_file(project, run):
    write(project, "pyproject.toml", "[tool.pip-lambda\nruntime = 1\n")
    line = error_of(project, run)
    assert f"cannot read {project / 'pyproject.toml'}" in line


def test_unknown_named_target_suggests_the_close_one(project, run):
    write(project, "pyproject.toml", "[tool.pip-lambda.targets.api]\n[tool.pip-lambda.targets.worker]\n")
    line = error_of(project, run, "--name", "apy")
    assert "no named target 'apy'; did you mean 'api'? valid targets: api, worker" in line


def test_target_name_must_be_usable_as_a_folder(project):
    write(project, "pyproject.toml", '[tool.pip-lambda.targets."../up"]\nlayer = true\n')
    with pytest.raises(ConfigError, match="is not usable as a folder name"):
        find_config()
