"""--report FILE: the JSON report, checked against its shipped schema and against the real zip."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
import zlib

import jsonschema
import pytest

from pip_lambda.report.document import REPORT_VERSION, schema

from conftest import make_wheel


def validate(report: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.validate(report, schema(), cls=jsonschema.Draft202012Validator)


def test_report_matches_its_schema_and_the_real_zip(project, run, offline):
    result = run(
        "install",
        "--runtime",
        "python3.12",
        "--arch",
        "arm64",
        *offline,
        "glibcpkg",
        "purepkg",
        "--report",
        "out/report.json",
    )
    assert result.exit_code == 0, result.err
    report = json.loads((project / "out/report.json").read_text())
    validate(report)
    assert report["report_version"] == REPORT_VERSION == 1
    (build,) = report["builds"]
    data = (project / "build/lambda.zip").read_bytes()
    zipped = build["outputs"]["zip"]
    assert zipped["sha256"] == hashlib.sha256(data).hexdigest()
    assert zipped["sha256_base64"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert zipped["size"] == len(data) and zipped["path"] == "build/lambda.zip"
    assert build["outputs"]["target"] == "build/lambda"
    assert (build["runtime"]["name"], build["runtime"]["glibc"], build["arch"]) == ("python3.12", "2.34", "arm64")
    assert build["platform_tags"][0] == "manylinux_2_34_aarch64"
    glibcpkg = next(dist for dist in build["distributions"] if dist["name"] == "glibcpkg")
    assert glibcpkg["version"] == "2.0"
    assert "glibcpkg/_native.so" in glibcpkg["files"]
    assert glibcpkg["unpacked_size"] == sum(
        (project / "build/lambda" / name).stat().st_size
        for name in glibcpkg["files"]
        if (project / "build/lambda" / name).is_file()
    )
    assert build["findings"] == []
    assert build["unpacked_size"] == sum(
        p.stat().st_size
        for p in (project / "build/lambda").rglob("*")
        if p.is_file() and p.name != ".pip-lambda-target"
    )
    assert set(build["timings"]) >= {"pip", "zip", "total"}


def test_report_without_zip_is_valid(project, run, offline):
    result = run("install", "--runtime", "python3.12", "--no-zip", "--layer", *offline, "purepkg", "--report", "r.json")
    assert result.exit_code == 0, result.err
    report = json.loads((project / "r.json").read_text())
    validate(report)
    assert report["builds"][0]["outputs"]["zip"] is None
    assert report["builds"][0]["kind"] == "layer"


def test_schema_rejects_a_report_missing_a_field(project, run, offline):
    assert run("install", "--runtime", "python3.12", *offline, "purepkg", "--report", "r.json").exit_code == 0
    report = json.loads((project / "r.json").read_text())
    del report["builds"][0]["outputs"]["zip"]["sha256"]
    with pytest.raises(jsonschema.ValidationError):
        validate(report)


def test_report_path_from_the_configuration(project, run, offline):
    (project / "pyproject.toml").write_text('[tool.pip-lambda]\nreport = "reports/build.json"\n')
    assert run("install", "--runtime", "python3.12", *offline, "purepkg").exit_code == 0
    validate(json.loads((project / "reports/build.json").read_text()))


def test_verify_warnings_are_findings_in_the_report_also_when_the_build_is_reused(project, run, offline):
    (project / "wheels").mkdir()
    make_wheel(project / "wheels", "botocore", "1.35.0")
    args = ("install", "--runtime", "python3.12", *offline, "--find-links", str(project / "wheels"), "botocore==1.35.0")
    reports = []
    for attempt in ("built", "reused"):
        result = run(*args, "--report", f"{attempt}.json")
        assert result.exit_code == 0, result.err
        report = json.loads((project / f"{attempt}.json").read_text())
        validate(report)
        reports.append(report["builds"][0]["findings"])
    assert "cache:         nothing changed" in result.out
    assert reports[0] == reports[1]
    (finding,) = reports[0]
    assert (finding["level"], finding["distribution"]) == ("warning", "botocore==1.35.0")


@pytest.mark.usefixtures("fake_pip")
@pytest.mark.parametrize("zipped", [True, False])
def test_members_list_every_file_with_the_crc_and_sizes_the_zip_holds(project, run, offline, zipped):
    (project / "run.sh").write_text("#!/bin/sh\n")
    (project / "run.sh").chmod(0o755)
    extra = () if zipped else ("--no-zip",)
    result = run(
        "install", "--runtime", "python3.12", *offline, "purepkg", "--code", "run.sh", *extra, "--report", "r.json"
    )
    assert result.exit_code == 0, result.err
    report = json.loads((project / "r.json").read_text())
    validate(report)
    members = {member["path"]: member for member in report["builds"][0]["members"]}
    tree = project / "build/lambda"
    files = {p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file() and p.name != ".pip-lambda-target"}
    assert set(members) == files
    assert members["run.sh"]["executable"] and not members["purepkg/__init__.py"]["executable"]
    if zipped:
        with zipfile.ZipFile(project / "build/lambda.zip") as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    member = members[info.filename]
                    assert (member["size"], member["crc32"]) == (info.file_size, f"{info.CRC:08x}")
                    assert member["compressed_size"] == info.compress_size
    else:
        member = members["purepkg/__init__.py"]
        data = (tree / "purepkg/__init__.py").read_bytes()
        assert (member["size"], member["crc32"], member["compressed_size"]) == (
            len(data),
            f"{zlib.crc32(data):08x}",
            None,
        )


def test_the_size_analysis_is_in_the_report_and_its_schema_describes_every_field(project, run, offline):
    (project / "app.py").write_text("def handler(event, context):\n    return 1\n")
    result = run("install", "--runtime", "python3.12", *offline, "purepkg", "--code", "app.py", "--report", "r.json")
    assert result.exit_code == 0, result.err
    report = json.loads((project / "r.json").read_text())
    validate(report)
    size = report["builds"][0]["size"]
    described = schema()["$defs"]["size"]
    assert set(described["required"]) == set(described["properties"]) == set(size)
    part = described["properties"]["parts"]["items"]
    assert all(set(part["required"]) == set(part["properties"]) == set(item) for item in size["parts"])
    purepkg, code = size["parts"]
    assert (purepkg["name"], purepkg["chain"], purepkg["requested"]) == ("purepkg", ["purepkg"], True)
    assert (code["name"], code["version"], code["chain"]) == ("(your code)", None, None)
    del size["parts"][0]["chain"]
    with pytest.raises(jsonschema.ValidationError):
        validate(report)
