"""--exclude-runtime-provided: the AWS SDK and what only it needs leave as one unit, nothing else does."""

from __future__ import annotations

from pathlib import Path

import pytest

from pip_lambda.pip.requirements import read_requirements
from pip_lambda.trim.runtime_provided import requested

from conftest import make_wheel, zip_names

SDK_WHEELS = {
    "boto3": (
        "1.35.0",
        [
            "botocore<1.36.0,>=1.35.0",
            "jmespath<2.0.0,>=0.7.1",
            "s3transfer<0.11.0,>=0.10.0",
            'botocore[crt]<2.0a0,>=1.21.0; extra == "crt"',
        ],
        "boto3",
    ),
    "botocore": (
        "1.35.0",
        [
            "jmespath<2.0.0,>=0.7.1",
            "python-dateutil<3.0.0,>=2.1",
            'urllib3<1.27,>=1.25.4; python_version < "3.10"',
            'urllib3!=2.2.0,<3,>=1.25.4; python_version >= "3.10"',
            'awscrt==0.21.2; extra == "crt"',
        ],
        "botocore",
    ),
    "s3transfer": ("0.10.0", ["botocore<2.0a.0,>=1.33.2"], "s3transfer"),
    "jmespath": ("1.0.1", [], "jmespath"),
    "python-dateutil": ("2.9.0", ["six>=1.5"], "dateutil"),
    "six": ("1.16.0", [], "six"),
    "urllib3": ("2.2.3", [], "urllib3"),
    "awscrt": ("0.21.2", [], "awscrt"),
}
SDK_SET = {"boto3", "botocore", "s3transfer", "jmespath", "python_dateutil", "six", "urllib3"}


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sdk-house")
    for name, (version, requires, module) in SDK_WHEELS.items():
        files = {f"{module}/__init__.py": f"__version__ = {version!r}\n".encode()}
        extras = ["crt"] if name in ("boto3", "botocore") else []
        make_wheel(folder, name, version, requires=requires, files=files, extras=extras)
    make_wheel(folder, "userpkg", requires=["urllib3>=2", "boto3"])
    make_wheel(folder, "dateuser", requires=["python-dateutil"])
    make_wheel(folder, "aiobotocore", requires=["botocore<1.35.1,>=1.35.0"])
    return folder


@pytest.fixture
def local(house: Path) -> list[str]:
    return ["--runtime", "python3.12", "--no-index", "--find-links", str(house)]


def dists_in(project: Path) -> set[str]:
    return {path.name.split("-")[0] for path in (project / "build/lambda").glob("*.dist-info")}


def test_the_whole_sdk_set_leaves_with_its_dist_info(project, run, local):
    result = run("install", *local, "boto3", "--exclude-runtime-provided")
    assert result.exit_code == 0, result.err
    assert dists_in(project) == set()
    assert zip_names(project / "build/lambda.zip") == []
    assert (
        "left out:      boto3==1.35.0, botocore==1.35.0, jmespath==1.0.1, python-dateutil==2.9.0, "
        "s3transfer==0.10.0, six==1.16.0, urllib3==2.2.3" in result.out
    )


def test_without_the_option_the_sdk_is_bundled(project, run, local):
    assert run("install", *local, "boto3").exit_code == 0
    assert dists_in(project) == SDK_SET


def test_a_dependency_another_package_needs_stays(project, run, local):
    result = run("install", *local, "boto3", "userpkg", "--exclude-runtime-provided")
    assert result.exit_code == 0, result.err
    assert dists_in(project) == {"userpkg", "urllib3"}
    names = set(zip_names(project / "build/lambda.zip"))
    assert {"urllib3/__init__.py", "urllib3-2.2.3.dist-info/METADATA", "userpkg/__init__.py"} <= names
    assert not [name for name in names if name.startswith(("boto3", "botocore", "dateutil", "six", "jmespath"))]


def test_a_dependency_chain_another_package_needs_stays_whole(project, run, local):
    result = run("install", *local, "boto3", "dateuser", "--exclude-runtime-provided")
    assert result.exit_code == 0, result.err
    assert dists_in(project) == {"dateuser", "python_dateutil", "six"}


def test_an_extra_installed_by_request_stays(project, run, local):
    result = run("install", *local, "boto3[crt]", "--exclude-runtime-provided")
    assert result.exit_code == 0, result.err
    # awscrt is not part of any runtime; only the SDK set leaves.
    assert dists_in(project) == {"awscrt"}


def test_a_pinned_boto3_warns(project, run, local):
    result = run("install", *local, "boto3==1.35.0", "--exclude-runtime-provided")
    assert result.exit_code == 0, result.err
    assert "warning: --exclude-runtime-provided: boto3==1.35.0 (your requirements)" in result.err
    assert "whose version depends on the runtime and Region" in result.err


def test_a_package_pinning_botocore_warns_and_stays(project, run, local):
    result = run("install", *local, "aiobotocore", "--exclude-runtime-provided")
    assert result.exit_code == 0, result.err
    assert "botocore<1.35.1,>=1.35.0 (required by aiobotocore==1.0)" in result.err
    assert dists_in(project) == {"aiobotocore"}


def test_an_unpinned_boto3_does_not_warn(project, run, local):
    result = run("install", *local, "boto3", "--exclude-runtime-provided")
    assert "warning" not in result.err


def test_pins_come_from_the_builds_requirement_set(tmp_path):
    (tmp_path / "base.txt").write_text("boto3==1.34.0  # pinned\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "-r base.txt\n-i https://example.org/simple\nrequests \\\n  >=2\n./wheels/x-1.0-py3-none-any.whl\n"
    )
    found = read_requirements([str(requirements)], command_line=["botocore>=1.3"])
    assert [str(requirement) for requirement in requested(found)] == ["botocore>=1.3", "boto3==1.34.0", "requests>=2"]


def test_a_pin_in_a_nested_requirements_file_warns(project, run, local):
    (project / "base.txt").write_text("boto3==1.35.0\n")
    (project / "requirements.txt").write_text("-r base.txt\n")
    result = run("install", *local, "-r", "requirements.txt", "--exclude-runtime-provided")
    assert result.exit_code == 0, result.err
    assert "warning: --exclude-runtime-provided: boto3==1.35.0 (your requirements)" in result.err
