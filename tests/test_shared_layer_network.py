"""Issue 14's goal for the shared layer, with real wheels from PyPI and a real interpreter of the target's Python."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import interpreter_for, unzip_read_only

pytestmark = pytest.mark.network

RUNTIME = "python3.12"
OWN = {"api": "python-multipart", "worker": "tenacity", "jobs": "python-dateutil"}
MODULES = {"api": "multipart", "worker": "tenacity", "jobs": "dateutil"}
PYPROJECT = f"""\
[tool.pip-lambda]
runtime = "{RUNTIME}"
shared-layer = "shared"
""" + "".join(
    f'[tool.pip-lambda.targets.{name}]\nrequirements = ["{name}.txt"]\ncode = ["{name}/app.py"]\n' for name in OWN
)


def write_project(project: Path) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT)
    for name, own in OWN.items():
        (project / f"{name}.txt").write_text(f"fastapi\npydantic\norjson\n{own}\n")
        (project / name).mkdir()
        (project / name / "app.py").write_text(
            f"import fastapi, orjson, pydantic, {MODULES[name]}\n\n"
            "def handler(event, context):\n    return orjson.dumps({'ok': True})\n"
        )


def zip_sizes(folder: Path, names: list[str]) -> int:
    return sum((folder / f"{name}.zip").stat().st_size for name in names)


def test_three_functions_share_one_layer(network, project, run, tmp_path):
    python = interpreter_for(RUNTIME)
    write_project(project)
    for name in OWN:  # each function on its own, for comparison
        standalone = run("install", "--name", name, "-t", f"standalone/{name}")
        assert standalone.exit_code == 0, standalone.err
    built = run("build", "--report", "report.json")
    assert built.exit_code == 0, built.err
    shared_bytes = zip_sizes(project / "build", ["shared", *OWN])
    standalone_bytes = zip_sizes(project / "standalone", list(OWN))
    assert shared_bytes <= 0.6 * standalone_bytes
    assert "saved:         about " in built.out
    estimate = json.loads((project / "report.json").read_text())["shared_layer"]["zip_bytes"]
    assert estimate["layer"] + estimate["functions"] == shared_bytes
    assert estimate["standalone_estimate"] == pytest.approx(standalone_bytes, rel=0.01)  # what "about" promises

    layer = unzip_read_only(project / "build/shared.zip", tmp_path / "opt")
    for name in OWN:
        task = unzip_read_only(project / f"build/{name}.zip", tmp_path / name)
        assert not list(task.glob("pydantic*")), "a shared distribution stayed in the function"
        paths = [str(task), str(layer / f"python/lib/{RUNTIME}/site-packages"), str(layer / "python")]
        done = subprocess.run(
            [
                *python,
                "-I",
                "-B",
                "-c",
                f"import sys; sys.path[0:0] = {paths!r}; import app; print(app.handler({{}}, None))",
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=task,
        )
        assert done.returncode == 0, done.stderr

    before = (project / "build/shared.zip").read_bytes()
    (project / "api.txt").write_text("fastapi\npydantic\norjson\npython-multipart\nitsdangerous\n")
    rebuilt = run("build")
    assert rebuilt.exit_code == 0, rebuilt.err
    assert (project / "build/shared.zip").read_bytes() == before
