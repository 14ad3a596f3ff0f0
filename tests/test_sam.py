"""SAM's makefile builds: the README's template and Makefiles, run by the real ``sam build`` where it is installed.

``sam build`` with ``BuildMethod: makefile`` runs locally (no Docker): it runs
``make build-<LogicalId>`` with ``ARTIFACTS_DIR`` set to an existing, empty
``.aws-sam/build/<LogicalId>``, and deploys whatever is in it, so nothing of
pip-lambda's may be left there.  The artifacts are imported with a real
interpreter of the runtime, laid out as Lambda lays out a function and its
layer.  ``sam`` is found on PATH, or at ``$SAM_BINARY`` (CI installs
aws-sam-cli into a virtual environment of its own); without it the real-SAM
test skips, and the Makefile targets are still run the way SAM runs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_readme import prepare, scenarios, script_environment

from conftest import interpreter_for

RUNTIME = "python3.12"


def sam_binary() -> str:
    found = os.environ.get("SAM_BINARY") or shutil.which("sam")
    if not found:
        pytest.skip("aws-sam-cli is not installed (put sam on PATH or set SAM_BINARY)")
    return found


def environment(wheelhouse: Path, home: Path) -> dict[str, str]:
    home.mkdir(exist_ok=True)
    return script_environment(
        {
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(wheelhouse),
            "SAM_CLI_TELEMETRY": "0",
            "HOME": str(home),  # sam keeps its settings there
        }
    )


def check_artifacts(function: Path, layer: Path) -> None:
    """The function's folder holds the handler and its distribution, the layer's python/; nothing of pip-lambda's."""
    assert sorted(os.listdir(function)) == ["app.py", "purepkg", "purepkg-1.0.dist-info"]
    assert os.listdir(layer) == ["python"]
    assert sorted(os.listdir(layer / "python")) == ["dep_new", "dep_new-1.0.dist-info"]
    for folder in (function, layer, function.parent):
        assert not [path for path in folder.rglob("*") if "pip-lambda" in path.name]
    python = interpreter_for(RUNTIME)
    loads = (
        "import sys; sys.path[:0] = sys.argv[1:]; import app, dep_new; "
        "print(app.handler({}, None), dep_new.__version__)"
    )
    done = subprocess.run(
        [*python, "-I", "-c", loads, str(function), str(layer / "python")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1.0", "1.0"]


def test_the_readmes_sam_project_builds_with_the_real_sam(tmp_path, wheelhouse):
    sam = sam_binary()
    scenario = scenarios()["sam"]
    assert scenario.scripts == ["sam build\n"]
    project = tmp_path / "app"
    prepare(project, wheelhouse, scenario)
    variables = environment(wheelhouse, tmp_path / "home")
    for _ in range(2):  # a second build replaces the first
        done = subprocess.run(
            [sam, "build"], cwd=project, env=variables, capture_output=True, text=True, check=False, timeout=600
        )
        assert done.returncode == 0, done.stdout + done.stderr
        built = project / ".aws-sam" / "build"
        check_artifacts(built / "Function", built / "Dependencies")


def test_the_makefile_targets_fill_sams_artifacts_folders_as_sam_runs_them(tmp_path, wheelhouse):
    """What ``sam build`` does, by hand: make in a scratch copy, ARTIFACTS_DIR an existing empty folder elsewhere."""
    scenario = scenarios()["sam"]
    project = tmp_path / "app"
    prepare(project, wheelhouse, scenario)
    built = project / ".aws-sam" / "build"
    variables = environment(wheelhouse, tmp_path / "home")
    for name, code in (("Function", "."), ("Dependencies", "layer")):
        scratch = tmp_path / "scratch" / name
        shutil.copytree(project / code, scratch, ignore=shutil.ignore_patterns(".aws-sam"))
        (built / name).mkdir(parents=True)
        subprocess.run(
            ["make", f"build-{name}", f"ARTIFACTS_DIR={built / name}"],
            cwd=scratch,
            env=variables,
            capture_output=True,
            check=True,
        )
    check_artifacts(built / "Function", built / "Dependencies")
