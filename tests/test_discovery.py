"""No requirements given: the project folder's lock or requirements.txt is used, and the build says which."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pip_lambda.config.files import ProjectConfig
from pip_lambda.config.request import request_for
from pip_lambda.config.sources import Setting, command_line_source, environment_source, settings_for
from pip_lambda.errors import EXIT_USAGE
from pip_lambda.lock.decide import DISCOVERED, discover
from pip_lambda.plan.source import SourceKind
from pip_lambda.report.document import schema

from conftest import lock_package, lock_wheel, write_pylock

ORDER = [name for name, _ in DISCOVERED]


def test_the_order_is_pep_751s_advice_for_services_then_requirements_txt():
    assert ORDER == ["pylock.lambda.toml", "pylock.toml", "uv.lock", "poetry.lock", "requirements.txt"]


@pytest.mark.parametrize("first", range(len(ORDER)))
def test_the_first_file_found_in_the_order_wins(tmp_path, monkeypatch, first):
    monkeypatch.chdir(tmp_path)
    for name in ORDER[first:]:
        (tmp_path / name).write_text("")
    assert discover(tmp_path) == (ORDER[first], DISCOVERED[first][1])


def test_nothing_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "requirements-dev.txt").write_text("")
    assert discover(tmp_path) is None


def request(*pips: str, name: str | None = None, **values: object):
    settings = settings_for(command_line_source(values), environment_source({}), ProjectConfig(), None)
    settings["runtime"] = Setting("python3.12", "test")
    return request_for(settings, list(pips), name)


@pytest.fixture
def pylock_project(project, wheelhouse):
    write_pylock(
        project, [lock_package("purepkg", "1.0", lock_wheel(wheelhouse / "purepkg-1.0-py3-none-any.whl", project))]
    )
    (project / "requirements.txt").write_text("dep-new\n")
    return project


def test_a_lock_found_in_the_project_folder_decides_the_build(pylock_project, run, fake_pip):
    result = run("install", "--runtime", "python3.12", "--report", "report.json")
    assert result.exit_code == 0, result.err
    assert "using pylock.toml (found in the project folder)" in result.err
    assert "from:          pylock.toml (found in the project folder)" in result.out
    assert "distributions: purepkg==1.0" in result.out
    report = json.loads((pylock_project / "report.json").read_text())
    jsonschema.validate(report, schema(), cls=jsonschema.Draft202012Validator)
    source = report["builds"][0]["source"]
    assert source == {"kind": "pylock.toml", "path": "pylock.toml", "converted_by": None, "discovered": True}


def test_requirements_txt_is_used_as_sam_does_and_said(project, run, fake_pip, wheelhouse):
    (project / "requirements.txt").write_text(f"--find-links {wheelhouse}\ndep-new\n")
    result = run("install", "--runtime", "python3.12", "--no-index", "--report", "report.json")
    assert result.exit_code == 0, result.err
    assert "using requirements.txt: no requirements were given" in result.err
    assert "from:          requirements.txt (found in the project folder)" in result.out
    assert "distributions: dep-new==1.0" in result.out
    report = json.loads((project / "report.json").read_text())
    jsonschema.validate(report, schema(), cls=jsonschema.Draft202012Validator)
    source = report["builds"][0]["source"]
    assert source == {"kind": "requirements.txt", "path": "requirements.txt", "converted_by": None, "discovered": True}


def test_the_project_folder_is_found_from_a_subfolder(pylock_project, monkeypatch):
    (pylock_project / "pyproject.toml").write_text('[project]\nname = "fn"\nversion = "1"\n')
    (pylock_project / "src" / "fn").mkdir(parents=True)
    monkeypatch.chdir(pylock_project / "src" / "fn")
    built = request()
    assert built.source is not None
    assert (built.source.kind, built.source.path) == (SourceKind.PYLOCK, str(Path("../../pylock.toml")))
    assert [wheel.name for wheel in built.selection.wheels] == ["purepkg"]


@pytest.mark.parametrize(
    ("pips", "values"),
    [(["-r", "requirements.txt"], {}), (["dep-new"], {}), (["--group", "lambda"], {}), ([], {"lock": "pylock.toml"})],
)
def test_requirements_given_turn_discovery_off(pylock_project, pips, values):
    (pylock_project / "pylock.lambda.toml").write_text("not even toml")
    built = request(*pips, **values)
    assert built.source is None or not built.source.discovered


def test_a_named_target_says_what_it_installs_and_nothing_is_looked_for(pylock_project):
    built = request(name="api", code=["app.py"])
    assert (built.selection, built.source, built.pip_args.has_requirements) == (None, None, False)


def test_without_a_lock_group_is_pips_group_of_pyproject_toml(project):
    built = request("-r", "requirements.txt", group=["lambda"])
    assert built.pip_args.passthrough[-2:] == ("--group", "lambda")
    assert built.selection is None


def test_an_extra_without_a_lock_is_refused(project, run):
    (project / "requirements.txt").write_text("purepkg\n")
    result = run("install", "--runtime", "python3.12", "-r", "requirements.txt", "--extra", "aws")
    assert result.exit_code == EXIT_USAGE
    assert "error: --extra aws selects an extra of a lock file, and no lock file is given" in result.err
