"""build --shared-layer end to end, offline: fabricated wheels, pip carried out in-process (FakePip), real imports."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import jsonschema
import pytest

from pip_lambda.errors import EXIT_OK
from pip_lambda.report.document import schema

from conftest import lock_package, lock_wheel, make_wheel, write_pylock, zip_names

HOST = f"python{sys.version_info[0]}.{sys.version_info[1]}"
"""The runtime of the Python running the tests, so the import test can use it."""
FUNCTIONS = {"api": "apionly", "jobs": None, "worker": "workeronly"}
"""Each function target and the one distribution only it installs."""

pytestmark = pytest.mark.usefixtures("fake_pip")


@pytest.fixture
def house(tmp_path: Path) -> Path:
    """fastlib (which needs corelib) for every function, and each function's own wheel."""
    folder = tmp_path / "house"
    folder.mkdir()
    make_wheel(folder, "corelib", files={"corelib/__init__.py": b"CORE = 41\n"})
    make_wheel(folder, "fastlib", requires=["corelib"], files={"fastlib/__init__.py": b"import corelib\n"})
    for own in ("apionly", "workeronly", "later"):
        make_wheel(folder, own)
    return folder


def write_project(project: Path, house: Path, extra: str = "") -> None:
    """Three function targets that import fastlib through their handler, which the import test calls up."""
    tables = ""
    for name, own in FUNCTIONS.items():
        (project / name).mkdir()
        (project / name / "requirements.txt").write_text(f"fastlib\n{own or ''}\n")
        imports = ", ".join(["fastlib", *([own] if own else [])])
        (project / name / "app.py").write_text(
            f"import {imports}\n\ndef handler(event, context):\n    return fastlib.corelib.CORE + 1\n"
        )
        tables += (
            f'[tool.pip-lambda.targets.{name}]\nrequirements = ["{name}/requirements.txt"]\n'
            f'code = ["{name}/app.py"]\nhandler = "app.handler"\n'
        )
    (project / "pyproject.toml").write_text(
        f'[tool.pip-lambda]\nruntime = "{HOST}"\nshared-layer = "shared"\npython = {json.dumps(sys.executable)}\n'
        f'pip-args = ["--no-index", "--find-links", {json.dumps(str(house))}]\n{tables}{extra}'
    )


def test_the_layer_holds_what_every_function_installs_and_each_function_only_the_rest(project, run, house):
    write_project(project, house)
    result = run("build", "--report", "build/report.json")
    assert result.exit_code == EXIT_OK, result.err

    layer = zip_names(project / "build/shared.zip")
    assert {"python/fastlib/__init__.py", "python/corelib/__init__.py"} <= set(layer)
    assert not [name for name in layer if "apionly" in name or "workeronly" in name or "app.py" in name]
    for name, own in FUNCTIONS.items():
        names = zip_names(project / f"build/{name}.zip")
        assert "app.py" in names
        assert not [member for member in names if member.startswith(("fastlib", "corelib"))], name
        assert bool(own) == (f"{own}/__init__.py" in names)
    # Each handler imports fastlib, which only the layer holds: the import tests passed with the layer on sys.path.
    assert "Shared layer shared: 2 distributions shared by api, jobs, worker" in result.out
    assert "  distributions: corelib==1.0, fastlib==1.0" in result.out
    assert "  saved:         about " in result.out

    report = json.loads((project / "build/report.json").read_text())
    jsonschema.validate(report, schema())
    layer_sha256 = hashlib.sha256((project / "build/shared.zip").read_bytes()).hexdigest()
    assert report["shared_layer"]["zip"] == {"path": "build/shared.zip", "sha256": layer_sha256}
    assert [(build["name"], build["kind"]) for build in report["builds"]] == [
        ("shared", "layer"),
        ("api", "function"),
        ("jobs", "function"),
        ("worker", "function"),
    ]
    for build in report["builds"][1:]:
        assert [layer["path"] for layer in build["layers"]] == ["build/shared.zip"]


def test_the_layers_files_are_not_imported_from_the_function_alone(project, run, house):
    """The counterpart of the test above: without the layer, the functions built against it do not import."""
    write_project(project, house)
    assert run("build").exit_code == EXIT_OK
    alone = run("verify", "build/api.zip", "--runtime", HOST, "--handler", "app.handler", "--python", sys.executable)
    assert alone.exit_code != EXIT_OK
    assert "No module named 'fastlib'" in alone.out
    with_layer = run(
        "verify", "build/api.zip", "--runtime", HOST, "--handler", "app.handler", "--python", sys.executable,
        "--with-layer", "build/shared.zip",
    )  # fmt: skip
    assert with_layer.exit_code == EXIT_OK, with_layer.err


def test_a_change_to_one_functions_own_requirement_leaves_the_layer_zip_byte_identical(project, run, house, fake_pip):
    write_project(project, house)
    assert run("build").exit_code == EXIT_OK
    # One resolution per function, nothing else: the wheels are local files, copied into the store.
    assert ["--dry-run" in command for command in fake_pip.commands] == [True, True, True]
    layer = project / "build/shared.zip"
    before, written = layer.read_bytes(), layer.stat().st_mtime_ns

    (project / "api/requirements.txt").write_text("fastlib\napionly\nlater\n")
    fake_pip.commands.clear()
    result = run("build")
    assert result.exit_code == EXIT_OK, result.err
    assert layer.read_bytes() == before
    assert layer.stat().st_mtime_ns == written  # not even rewritten: the layer's cache key is its wheels
    assert "later/__init__.py" in zip_names(project / "build/api.zip")
    summaries = result.out.split("\n\n")
    up_to_date = "nothing changed since the last build"
    assert [up_to_date in summary for summary in summaries if "Built a" in summary] == [True, False, True, True]
    # pip only resolved each function again; the new wheel is a local file, copied into the store.
    assert ["--dry-run" in command for command in fake_pip.commands] == [True, True, True]


def test_with_name_every_function_is_resolved_and_the_layer_and_that_function_built(project, run, house, fake_pip):
    write_project(project, house)
    result = run("build", "--name", "worker")
    assert result.exit_code == EXIT_OK, result.err
    assert sorted(path.name for path in (project / "build").glob("*.zip")) == ["shared.zip", "worker.zip"]
    assert sum("--dry-run" in command for command in fake_pip.commands) == 3
    assert "Shared layer shared: 2 distributions shared by api, jobs, worker" in result.out
    assert "saved:" not in result.out  # not every function was built


def test_a_function_with_a_lock_file_shares_with_those_pip_resolves(project, run, house, fake_pip):
    """worker installs what its lock file lists (no resolution); api and jobs what pip resolves."""
    write_project(project, house, extra='lock = "worker/pylock.worker.toml"\n')
    wheels = {path.name.split("-")[0]: path for path in house.glob("*.whl")}
    packages = [lock_package(name, "1.0", lock_wheel(wheels[name], project / "worker")) for name in sorted(wheels)]
    write_pylock(
        project / "worker", [package for package in packages if package["name"] != "apionly"], name="pylock.worker.toml"
    )
    (project / "worker/requirements.txt").unlink()
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('requirements = ["worker/requirements.txt"]\n', ""))

    result = run("build")
    assert result.exit_code == EXIT_OK, result.err
    assert sum("--dry-run" in command for command in fake_pip.commands) == 2  # api and jobs
    assert "Shared layer shared: 2 distributions shared by api, jobs, worker" in result.out
    names = zip_names(project / "build/worker.zip")
    assert {"later/__init__.py", "workeronly/__init__.py"} <= set(names)
    assert not [name for name in names if name.startswith(("fastlib", "corelib"))]


def test_other_layers_and_container_images_are_built_as_usual_and_share_nothing(project, run, house):
    """Lambda deploys a container image without layers: it keeps everything it installs."""
    write_project(
        project,
        house,
        extra='[tool.pip-lambda.targets.tools]\nlayer = true\nrequirements = ["tools.txt"]\n'
        '[tool.pip-lambda.targets.image]\ncontainer = "build/image"\nrequirements = ["api/requirements.txt"]\n',
    )
    (project / "tools.txt").write_text("later\n")
    result = run("build")
    assert result.exit_code == EXIT_OK, result.err
    assert result.out.startswith("tools: Built a layer package")
    assert "image: Built a container-image build context" in result.out
    assert "python/later/__init__.py" in zip_names(project / "build/tools.zip")
    assert (project / "build/image/package/fastlib/__init__.py").is_file()
    assert "shared by api, jobs, worker\n" in result.out


def test_a_function_pip_cannot_resolve_stops_the_build_before_anything_is_written(project, run, house):
    write_project(project, house)
    (project / "jobs/requirements.txt").write_text("fastlib\nnowhere\n")
    result = run("build")
    assert result.exit_code != EXIT_OK
    assert "nowhere" in result.err
    assert not (project / "build").exists()
