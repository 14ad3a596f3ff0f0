"""Named targets: several packages from one configuration, one by --name or all with 'pip-lambda build'."""

from __future__ import annotations

import json

from pip_lambda.config.files import find_config
from pip_lambda.config.sources import command_line_source, environment_source, settings_for
from pip_lambda.errors import EXIT_USAGE

from conftest import zip_names

PYPROJECT = """\
[tool.pip-lambda]
runtime = "python3.12"

[tool.pip-lambda.targets.api]
requirements = ["requirements.txt"]
code = ["app.py"]

[tool.pip-lambda.targets.shared-layer]
layer = true
pip-args = ["dep-new"]
runtime = "python3.13"
"""


def setup_project(project):
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "requirements.txt").write_text("purepkg\n")
    (project / "app.py").write_text("def handler(event, context):\n    return 1\n")


def test_install_name_builds_one_target_into_its_own_folder(project, run, offline):
    setup_project(project)
    result = run("install", "--name", "api", *offline)
    assert result.exit_code == 0, result.err
    assert result.out.startswith("api: Built a function package for python3.12")
    assert {"app.py", "purepkg/__init__.py"} <= set(zip_names(project / "build/api.zip"))
    assert not (project / "build/shared-layer.zip").exists()


def test_build_builds_every_target_with_its_own_settings(project, run, offline):
    setup_project(project)
    result = run("build", *offline, "--report", "build/report.json")
    assert result.exit_code == 0, result.err
    assert "api: Built a function package for python3.12" in result.out
    assert "shared-layer: Built a layer package for python3.13" in result.out
    assert "python/dep_new/__init__.py" in zip_names(project / "build/shared-layer.zip")
    assert "app.py" not in zip_names(project / "build/shared-layer.zip")
    report = json.loads((project / "build/report.json").read_text())
    assert [(build["name"], build["kind"]) for build in report["builds"]] == [
        ("api", "function"),
        ("shared-layer", "layer"),
    ]


def test_setup_cfg_targets_and_command_line_options_apply_to_every_target(project, run, offline):
    (project / "setup.cfg").write_text(
        "[pip-lambda]\nruntime = python3.12\n\n[pip-lambda.targets.one]\npip-args = purepkg\n\n"
        "[pip-lambda.targets.two]\npip-args = dep-new\n"
    )
    result = run("build", "--arch", "arm64", *offline)
    assert result.exit_code == 0, result.err
    assert result.out.count("python3.12 on arm64") == 2
    assert "purepkg/__init__.py" in zip_names(project / "build/one.zip")
    assert "dep_new/__init__.py" in zip_names(project / "build/two.zip")


def test_pyproject_target_table_beats_setup_cfg(project):

    (project / "pyproject.toml").write_text('[tool.pip-lambda.targets.api]\narch = "arm64"\n')
    (project / "setup.cfg").write_text("[pip-lambda]\narch = x86_64\nlayer = true\n")
    settings = settings_for(command_line_source({}), environment_source({}), find_config(), "api")
    assert settings["arch"].value == "arm64"
    assert settings["layer"].value is True


def test_two_targets_writing_the_same_zip_are_refused_before_building(project, run, offline):
    (project / "pyproject.toml").write_text(
        '[tool.pip-lambda.targets.a]\npip-args = ["purepkg"]\n[tool.pip-lambda.targets.b]\npip-args = ["dep-new"]\n'
    )
    result = run("build", "-o", "same.zip", "--runtime", "python3.12", *offline)
    assert result.exit_code == EXIT_USAGE
    assert "error: targets a and b both write same.zip" in result.err
    assert not (project / "build").exists()


def test_build_without_targets_says_how_to_define_them(project, run):
    result = run("build")
    assert result.exit_code == EXIT_USAGE
    assert "no named targets to build" in result.err and "[tool.pip-lambda.targets.NAME]" in result.err


def test_build_help_lists_examples(project, run):
    result = run("build", "--help")
    assert result.exit_code == 0
    assert "pip-lambda build --report build/report.json" in result.out
