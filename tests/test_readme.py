"""The README's snippets, run as written: each place of use works when copied and pasted.

A fenced block tagged ``readme-test=SCENARIO`` belongs to a scenario; with
``file=NAME`` it is written to the scenario's project folder, otherwise it is
a shell script run there.  The project starts with a requirements file, a
handler and a hashed lock file, and pip is pointed at the offline wheelhouse
through pip's own variables, which pip-lambda passes through to pip.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import interpreter_for

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
_FENCE = re.compile(r"^```(\w+)[ \t]+readme-test=([\w-]+)(?:[ \t]+file=(\S+))?[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
NEEDS_NETWORK = {"tox"}
OWN_TESTS = {"sam"}
"""Scenarios whose tool runs in a test of their own (tests/test_sam.py runs the real ``sam build``)."""


@dataclass
class Scenario:
    files: dict[str, str] = field(default_factory=dict)
    scripts: list[str] = field(default_factory=list)


def scenarios() -> dict[str, Scenario]:
    found: dict[str, Scenario] = {}
    for match in _FENCE.finditer(README.read_text("utf-8")):
        _language, name, filename, body = match.groups()
        scenario = found.setdefault(name, Scenario())
        if filename:
            scenario.files[filename] = body
        else:
            scenario.scripts.append(body)
    return found


def test_the_readme_has_a_tested_snippet_for_each_place_of_use():
    places = {
        "cli",
        "config",
        "setup-cfg",
        "targets",
        "make",
        "tox",
        "report",
        "lock",
        "pylock",
        "pylock-config",
        "size",
        "container",
        "with-layer",
        "diff",
        "sbom",
        "shared-layer",
    }
    deploy_tools = {"sam", "terraform", "cdk", "serverless"}
    assert places | deploy_tools <= set(scenarios())
    assert all(scenario.scripts for scenario in scenarios().values())


def _lock_line(wheel: Path, requirement: str) -> str:
    return f"{requirement} --hash=sha256:{hashlib.sha256(wheel.read_bytes()).hexdigest()}\n"


def prepare(folder: Path, wheelhouse: Path, scenario: Scenario) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.txt").write_text("purepkg\n")
    (folder / "layer").mkdir(exist_ok=True)
    (folder / "layer" / "requirements.txt").write_text("dep-new\n")
    (folder / "app.py").write_text("import purepkg\n\n\ndef handler(event, context):\n    return purepkg.__version__\n")
    (folder / "requirements.lock").write_text(_lock_line(wheelhouse / "purepkg-1.0-py3-none-any.whl", "purepkg==1.0"))
    for name, text in scenario.files.items():
        (folder / name).write_text(text)


def script_environment(extra: dict[str, str]) -> dict[str, str]:
    environment = dict(os.environ)
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    environment.update(extra)
    return environment


def run_scripts(folder: Path, scenario: Scenario, environment: dict[str, str]) -> list[str]:
    outputs = []
    for script in scenario.scripts:
        done = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=folder,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout + done.stderr)
    return outputs


OFFLINE_SCENARIOS = sorted(set(scenarios()) - NEEDS_NETWORK - OWN_TESTS)


@pytest.mark.parametrize("name", OFFLINE_SCENARIOS)
def test_readme_snippet_runs(name, tmp_path, wheelhouse):
    scenario = scenarios()[name]
    folder = tmp_path / name
    prepare(folder, wheelhouse, scenario)
    run_scripts(folder, scenario, script_environment({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}))
    built = list(folder.rglob("*.zip")) + list(folder.rglob("Dockerfile"))
    assert built, "the snippet built no zip (nor a container image's build context)"


@pytest.mark.parametrize("name", ["terraform", "cdk", "serverless"])
def test_deploy_tools_get_zips_with_nothing_of_pip_lambdas_and_the_hash_they_compare(name, tmp_path, wheelhouse):
    """Terraform's filebase64sha256 and the report's sha256_base64 agree; the CDK's asset hash is the report's sha256."""
    scenario = scenarios()[name]
    folder = tmp_path / name
    prepare(folder, wheelhouse, scenario)
    run_scripts(folder, scenario, script_environment({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)}))
    build = folder / "build"
    expected = ["lambda.zip"] if name == "cdk" else ["lambda.zip", "layer.zip"]
    assert sorted(path.name for path in build.glob("*.zip")) == expected
    assert not [path for path in folder.rglob("*") if "pip-lambda" in path.name]
    for path in build.glob("*.zip"):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        assert names and all(member.startswith("python/") for member in names) == (path.name == "layer.zip")
    if (build / "report.json").exists():
        zipped = json.loads((build / "report.json").read_text())["builds"][0]["outputs"]["zip"]
        digest = hashlib.sha256((build / "lambda.zip").read_bytes()).digest()
        assert zipped["sha256"] == digest.hex()
        assert zipped["sha256_base64"] == base64.b64encode(digest).decode()  # Terraform's filebase64sha256


def test_make_twice_has_nothing_to_do_the_second_time(tmp_path, wheelhouse):
    scenario = scenarios()["make"]
    prepare(tmp_path, wheelhouse, scenario)
    environment = script_environment({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)})
    first = subprocess.run(["make"], cwd=tmp_path, env=environment, capture_output=True, text=True, check=True)
    assert "pip-lambda install" in first.stdout
    zipped = tmp_path / "build/lambda.zip"
    built = zipped.stat().st_mtime_ns
    second = subprocess.run(["make"], cwd=tmp_path, env=environment, capture_output=True, text=True, check=True)
    assert "pip-lambda" not in second.stdout
    assert "is up to date" in second.stdout
    assert subprocess.run(["make", "-q"], cwd=tmp_path, env=environment, check=False).returncode == 0
    # A touched prerequisite runs pip-lambda again, which keeps the identical zip as it was.
    os.utime(tmp_path / "app.py")
    third = subprocess.run(["make"], cwd=tmp_path, env=environment, capture_output=True, text=True, check=True)
    assert "pip-lambda install" in third.stdout
    assert zipped.stat().st_mtime_ns == built


@pytest.mark.network
def test_tox_environment_builds_for_its_basepython(tmp_path, wheelhouse, network):
    """``deps = pip-lambda`` as written, before pip-lambda is on PyPI: the Install section's PIP_FIND_LINKS finds the wheel."""
    interpreter = interpreter_for("python3.12")
    scenario = scenarios()["tox"]
    assert "basepython = python3.12" in scenario.files["tox.ini"]
    assert "deps = pip-lambda\n" in scenario.files["tox.ini"]
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    folder = tmp_path / "project"
    prepare(folder, wheelhouse, scenario)
    environment = script_environment(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{Path(interpreter[0]).parent}{os.pathsep}{os.environ['PATH']}",
            "PIP_FIND_LINKS": str(wheels),
            # The function's own requirements come from the tests' offline wheelhouse, not from PyPI.
            "PIP_LAMBDA_PIP_ARGS": f"--no-index --find-links {wheelhouse}",
        }
    )
    (output,) = run_scripts(folder, scenario, environment)
    report = json.loads((folder / "build/report.json").read_text())
    assert report["builds"][0]["runtime"]["name"] == "python3.12", output
    assert report["python"].startswith("3.12.")


_TEST_TOKEN = re.compile(r"`(test_\w+\.py)?(?:::)?(test_\w+)?`")


def _promised_tests() -> list[tuple[str, str]]:
    """(file, test) for every test the README names, a bare name belonging to the file named before it."""
    promised: list[tuple[str, str]] = []
    for line in README.read_text("utf-8").splitlines():
        current = None
        for file, name in _TEST_TOKEN.findall(line):
            current = file or current
            if name and current:
                promised.append((current, name))
    return promised


def test_every_test_the_readme_names_exists():
    promised = _promised_tests()
    assert len(promised) > 40
    missing = []
    for file, name in promised:
        path = ROOT / "tests" / file
        if not path.is_file() or not re.search(rf"^(async )?def {name}\(", path.read_text("utf-8"), re.M):
            missing.append(f"{file}::{name}")
    assert not missing, f"the README names tests that do not exist: {missing}"
