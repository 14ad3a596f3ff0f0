"""--sbom FILE: a CycloneDX 1.6 bill of materials of what the package ships, valid and deterministic."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import uuid
import zipfile
from email.message import Message
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from pip_lambda.archive.contents import Installed
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target
from pip_lambda.report.sbom import licences, requirements

from conftest import make_wheel

TARGET = Target(get_runtime("python3.12"), Arch.X86_64)
LICENCE_TEXT = "Copyright (c) 2024 Someone\n\nPermission is hereby granted, free of charge, to any person..."


def with_metadata(wheel: Path, *lines: str) -> Path:
    """Add header lines to a wheel's METADATA, its RECORD row updated."""
    with zipfile.ZipFile(wheel) as source:
        contents = {name: source.read(name) for name in source.namelist()}
    metadata_name = next(name for name in contents if name.endswith(".dist-info/METADATA"))
    head = contents[metadata_name].decode().rstrip("\n")
    extra = "".join(f"\n{line}" for line in lines if "\n" not in line)
    texts = [line.split(": ", 1)[1] for line in lines if "\n" in line]
    body = "".join(f"\nLicense: {text.replace(chr(10), chr(10) + '        ')}" for text in texts)
    contents[metadata_name] = f"{head}{extra}{body}\n".encode()
    record_name = metadata_name.replace("METADATA", "RECORD")
    rows = []
    for name, data in contents.items():
        if name == record_name:
            continue
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{name},sha256={digest},{len(data)}")
    contents[record_name] = ("\n".join([*rows, f"{record_name},,"]) + "\n").encode()
    with zipfile.ZipFile(wheel, "w") as target:
        for name, data in contents.items():
            target.writestr(name, data)
    return wheel


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    """app-dep needs mid (and, on Windows only, winonly; with [fast], speedy); mid needs leaf on Python >= 3.12."""
    house = tmp_path / "wheels"
    house.mkdir()
    with_metadata(
        make_wheel(
            house,
            "app-dep",
            "1.0",
            requires=["mid>=1", 'winonly; sys_platform == "win32"', 'speedy; extra == "fast"'],
            extras=["fast"],
        ),
        "License-Expression: MIT OR Apache-2.0",
    )
    with_metadata(make_wheel(house, "mid", "2.0", requires=['leaf; python_version >= "3.12"']), "License: BSD-3-Clause")
    with_metadata(make_wheel(house, "leaf", "3.0"), "Classifier: License :: OSI Approved :: MIT License")
    with_metadata(make_wheel(house, "speedy", "0.1"), f"License: {LICENCE_TEXT}")
    make_wheel(house, "winonly", "1.0")
    return house


def build(run, wheels: Path, *extra: str):
    (Path("app.py")).write_text("def handler(event, context):\n    return 1\n")
    return run(
        "install",
        "--runtime",
        "python3.12",
        "--no-index",
        "--find-links",
        str(wheels),
        "app-dep[fast]",
        "--code",
        "app.py",
        *extra,
    )


def components(document: dict) -> dict[str, dict]:
    return {component["name"]: component for component in document["components"]}


@pytest.mark.usefixtures("fake_pip")
def test_the_sbom_names_every_distribution_its_wheel_licence_and_dependencies_and_is_valid(project, run, wheels):
    result = build(run, wheels, "--sbom", "build/sbom.cdx.json")
    assert result.exit_code == 0, result.err
    text = (project / "build/sbom.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    document = json.loads(text)
    assert (document["bomFormat"], document["specVersion"]) == ("CycloneDX", "1.6")
    found = components(document)
    assert set(found) == {"app-dep", "mid", "leaf", "speedy"}
    for name, component in found.items():
        wheel = next(wheels.glob(f"{name.replace('-', '_')}-*.whl"))
        assert component["purl"] == f"pkg:pypi/{name}@{component['version']}"
        assert component["hashes"] == [{"alg": "SHA-256", "content": hashlib.sha256(wheel.read_bytes()).hexdigest()}]
    assert found["app-dep"]["licenses"] == [{"expression": "MIT OR Apache-2.0", "acknowledgement": "declared"}]
    assert found["mid"]["licenses"] == [{"license": {"id": "BSD-3-Clause", "acknowledgement": "declared"}}]
    assert found["leaf"]["licenses"] == [{"license": {"name": "MIT License", "acknowledgement": "declared"}}]
    (speedy,) = found["speedy"]["licenses"]
    assert speedy["license"]["name"] == "Copyright (c) 2024 Someone"
    assert speedy["license"]["text"]["content"].startswith("Copyright (c) 2024 Someone\n")
    graph = {entry["ref"]: entry.get("dependsOn", []) for entry in document["dependencies"]}
    main = document["metadata"]["component"]
    assert graph[main["bom-ref"]] == ["pkg:pypi/app-dep@1.0"]
    assert graph["pkg:pypi/app-dep@1.0"] == ["pkg:pypi/mid@2.0", "pkg:pypi/speedy@0.1"]
    assert graph["pkg:pypi/mid@2.0"] == ["pkg:pypi/leaf@3.0"]
    assert graph["pkg:pypi/leaf@3.0"] == []
    assert (main["type"], main["name"]) == ("application", "lambda")
    code = (project / "app.py").read_bytes()
    assert main["components"] == [
        {
            "bom-ref": "file:app.py",
            "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(code).hexdigest()}],
            "name": "app.py",
            "type": "file",
        }
    ]
    properties = {item["name"]: item["value"] for item in document["metadata"]["properties"]}
    zipped = hashlib.sha256((project / "build/lambda.zip").read_bytes()).hexdigest()
    assert properties == {
        "pip-lambda:kind": "function",
        "pip-lambda:runtime": "python3.12",
        "pip-lambda:arch": "x86_64",
        "pip-lambda:zip-sha256": zipped,
    }


@pytest.mark.usefixtures("fake_pip")
def test_the_same_build_gives_the_same_bytes_its_time_from_source_date_epoch(project, run, wheels, monkeypatch):
    assert build(run, wheels, "--sbom", "one.json").exit_code == 0
    assert build(run, wheels, "--sbom", "two.json").exit_code == 0  # a no-op rebuild
    first = (project / "one.json").read_bytes()
    assert first == (project / "two.json").read_bytes()
    document = json.loads(first)
    assert document["metadata"]["timestamp"] == "1980-01-01T00:00:00+00:00"
    assert uuid.UUID(document["serialNumber"].removeprefix("urn:uuid:")).version == 5
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert build(run, wheels, "--sbom", "three.json").exit_code == 0
    later = json.loads((project / "three.json").read_text())
    assert later["metadata"]["timestamp"] == "2023-11-14T22:13:20+00:00"
    assert later["serialNumber"] != document["serialNumber"]  # another zip (its timestamps), another serial


@pytest.mark.usefixtures("fake_pip")
def test_the_sbom_key_of_the_configuration_and_a_layer_without_a_zip(project, run, wheels):
    (project / "pyproject.toml").write_text('[tool.pip-lambda]\nsbom = "out/bom.json"\nlayer = true\nno-zip = true\n')
    assert build(run, wheels).exit_code == 0
    text = (project / "out/bom.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    document = json.loads(text)
    assert document["metadata"]["component"]["type"] == "library"
    assert [item["name"] for item in document["metadata"]["component"]["components"]] == ["python/app.py"]
    assert set(components(document)) == {"app-dep", "mid", "leaf", "speedy"}


@pytest.mark.usefixtures("fake_pip")
def test_without_the_library_the_build_stops_before_it_starts_naming_the_extra(project, run, wheels, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cyclonedx" else real(name, *a))
    result = build(run, wheels, "--sbom", "bom.json")
    assert result.exit_code == 7
    assert "pip install 'pip-lambda[sbom]'" in result.err and len(result.err.strip().splitlines()) == 1
    assert not (project / "build").exists()


@pytest.mark.usefixtures("fake_pip")
@pytest.mark.parametrize(
    ("setup", "path", "words"),
    [
        (None, "build/lambda.zip", "is also the path of build/lambda.zip"),
        (None, "build/lambda/bom.json", "inside the target folder"),
        ("notes", "notes.txt", "it is not a bill of materials pip-lambda wrote"),
    ],
)
def test_an_sbom_path_that_would_clobber_something_is_refused(project, run, wheels, setup, path, words):
    if setup:
        (project / path).write_text("my notes\n")
    result = build(run, wheels, "--sbom", path)
    assert result.exit_code == 6 and words in result.err
    assert not (project / "build/lambda.zip").exists()


@pytest.mark.usefixtures("fake_pip")
def test_named_targets_need_an_sbom_each(project, run, wheels):
    (project / "pyproject.toml").write_text(
        '[tool.pip-lambda.targets.a]\npip-args = ["mid"]\n[tool.pip-lambda.targets.b]\npip-args = ["leaf"]\n'
    )
    links = ("--no-index", "--find-links", str(wheels), "--runtime", "python3.12")
    result = run("build", *links, "--sbom", "bom.json")
    assert result.exit_code == 2 and "both write the bill of materials" in result.err
    (project / "pyproject.toml").write_text(
        '[tool.pip-lambda.targets.a]\npip-args = ["mid"]\nsbom = "a.json"\n'
        '[tool.pip-lambda.targets.b]\npip-args = ["leaf"]\nsbom = "b.json"\n'
    )
    assert run("build", *links).exit_code == 0
    assert set(components(json.loads((project / "a.json").read_text()))) == {"mid", "leaf"}
    assert json.loads((project / "b.json").read_text())["metadata"]["component"]["name"] == "b"


# --- pure logic --------------------------------------------------------------------------------


def metadata(*lines: str) -> Message:
    message = Message()
    for line in lines:
        key, value = line.split(": ", 1)
        message[key] = value
    return message


def test_licences_prefer_the_expression_then_the_field_then_classifiers():
    both = metadata("License-Expression: Apache-2.0", "License: MIT")
    assert [licence.id for licence in licences(both)] == ["Apache-2.0"]
    assert licences(metadata("License: UNKNOWN")) == []
    assert licences(None) == []
    classifiers = metadata(
        "Classifier: License :: OSI Approved :: MIT License",
        "Classifier: Programming Language :: Python",
        "Classifier: License :: OSI Approved :: BSD License",
    )
    assert [licence.name for licence in licences(classifiers)] == ["BSD License", "MIT License"]


def test_requirements_follow_the_target_markers_and_only_installed_distributions():
    dist = Installed(
        "top",
        "1",
        (),
        metadata(
            "Requires-Dist: a",
            'Requires-Dist: b; python_version < "3.12"',
            'Requires-Dist: c; platform_machine == "x86_64"',
            'Requires-Dist: d; extra == "more"',
            "Requires-Dist: missing",
            "Requires-Dist: ???",
            "Requires-Dist: e[x]>=1",
            "Provides-Extra: more",
        ),
    )
    installed = ["a", "b", "c", "d", "e"]
    assert requirements(dist, TARGET.marker_environment, installed) == ["a", "c", "d", "e"]


# --- pip-lambda sbom PATH ----------------------------------------------------------------------


@pytest.mark.usefixtures("fake_pip")
def test_sbom_of_a_zip_built_by_another_tool_names_its_distributions_without_wheel_hashes(project, run, wheels):
    assert build(run, wheels).exit_code == 0
    other = project / "other.zip"
    with zipfile.ZipFile(other, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((project / "build/lambda").rglob("*")):
            if path.is_file() and path.name != ".pip-lambda-target":
                archive.write(path, path.relative_to(project / "build/lambda").as_posix())
    result = run("sbom", "--runtime", "python3.12", str(other))
    assert result.exit_code == 0, result.err
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(result.out) is None
    document = json.loads(result.out)
    found = components(document)
    assert set(found) == {"app-dep", "mid", "leaf", "speedy"}
    assert all("hashes" not in component for component in found.values())
    assert found["mid"]["licenses"] == [{"license": {"id": "BSD-3-Clause", "acknowledgement": "declared"}}]
    main = document["metadata"]["component"]
    assert (main["name"], [item["name"] for item in main["components"]]) == ("other", ["app.py"])
    graph = {entry["ref"]: entry.get("dependsOn", []) for entry in document["dependencies"]}
    assert graph["pkg:pypi/mid@2.0"] == ["pkg:pypi/leaf@3.0"]
    assert run("sbom", "--runtime", "python3.11", str(other)).out != result.out  # markers for another Python
    written = run("sbom", "--runtime", "python3.12", "build/lambda", "-o", "folder.json")
    assert written.exit_code == 0, written.err
    assert set(components(json.loads((project / "folder.json").read_text()))) == set(found)


@pytest.mark.usefixtures("fake_pip")
def test_sbom_of_a_layer_is_recognised_and_bad_input_is_exit_2(project, run, wheels):
    assert build(run, wheels, "--layer").exit_code == 0
    result = run("sbom", "--runtime", "python3.12", "build/layer.zip")
    assert result.exit_code == 0, result.err
    document = json.loads(result.out)
    assert document["metadata"]["component"]["type"] == "library"
    assert set(components(document)) == {"app-dep", "mid", "leaf", "speedy"}
    assert run("sbom", "missing.zip").exit_code == 2
    assert run("sbom", "build/layer.zip", "-o", "build/layer.zip").exit_code == 6
    assert "examples:" in run("sbom", "--help").out
