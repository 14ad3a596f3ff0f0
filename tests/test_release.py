"""Publishing is one step away: the sdist and the wheel build from a clean copy, pass twine's checks, and install.

CI (.ci/run) and the release workflow (.github/workflows/release.yml) run the
same two steps; the network test installs the wheel the way the README's
Install section says, before pip-lambda is on PyPI.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = "python -m build --outdir dist ."
CHECK = "twine check --strict dist/*"


def test_ci_and_the_release_workflow_build_and_check_the_same_way():
    workflow = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for text in (workflow, ci):
        assert BUILD in text and CHECK in text
    assert "pypa/gh-action-pypi-publish" in workflow and "id-token: write" in workflow


def _source(tmp_path: Path) -> Path:
    """What a clean clone holds of the package (no build folders, no egg-info)."""
    source = tmp_path / "source"
    shutil.copytree(ROOT / "pip_lambda", source / "pip_lambda", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    return source


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for module in ("build", "twine", "setuptools"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install -e '.[test]' installs it)")
    tmp_path = tmp_path_factory.mktemp("release")
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(_source(tmp_path))],
        capture_output=True,
        check=True,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )
    return out


def test_the_sdist_and_the_wheel_pass_twines_checks(dist):
    names = sorted(path.name for path in dist.iterdir())
    assert [name.split("-")[0] for name in names] == ["pip_lambda", "pip_lambda"]
    assert names[0].endswith(".tar.gz") or names[1].endswith(".tar.gz")
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_the_sdist_holds_what_a_wheel_needs(dist, tmp_path):
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    top = names[0].split("/")[0]
    for needed in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE", "pip_lambda/data/runtimes.json"):
        assert f"{top}/{needed}" in names


@pytest.mark.network
def test_the_wheel_installs_as_the_readme_says_before_pypi_has_it(dist, tmp_path, network):
    """``PIP_FIND_LINKS`` naming the wheel's folder: ``pip install pip-lambda`` works as written."""
    environment = tmp_path / "env"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    variables = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": str(dist)}
    variables.pop("PYTHONPATH", None)  # the new environment sees only what it installed
    subprocess.run([str(python), "-m", "pip", "install", "-q", "pip-lambda"], env=variables, check=True)
    done = subprocess.run(
        [str(environment / "bin" / "pip-lambda"), "--version"],
        env=variables,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.startswith("pip-lambda ") and str(environment) in done.stdout
