"""End to end, through the command line: the real pip against the local wheelhouse where pip's choices are tested,
the in-process fake pip (conftest.FakePip) where only what pip-lambda does around pip is."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from pip_lambda.errors import EXIT_NO_WHEEL, EXIT_UNSAFE_PATH, EXIT_USAGE

from conftest import zip_names


def installed(project: Path, target: str = "build/lambda") -> set[str]:
    return {path.name.split("-")[0] for path in (project / target).glob("*.dist-info")}


def test_manylinux_2_28_wheel_is_chosen_for_python312(project, run, offline):
    result = run("install", "--runtime", "python3.12", *offline, "glibcpkg")
    assert result.exit_code == 0, result.err
    assert "glibcpkg==2.0" in result.out


def test_manylinux_2_28_wheel_is_refused_for_python311(project, run, offline):
    result = run("install", "--runtime", "python3.11", *offline, "glibcpkg")
    assert result.exit_code == 0, result.err
    assert "glibcpkg==1.0" in result.out


def test_only_newer_glibc_wheels_fail_naming_the_glibc(project, run, offline):
    result = run("install", "--runtime", "python3.11", *offline, "newglibc")
    assert result.exit_code == EXIT_NO_WHEEL
    assert "newglibc: no wheel loads on python3.11 (glibc 2.26)" in result.err
    assert "manylinux_2_28" in result.err
    assert "Traceback" not in result.err


def test_manylinux_2_34_is_the_python312_ceiling(project, run, offline):
    assert run("install", "--runtime", "python3.12", *offline, "edge34").exit_code == 0


def test_legacy_manylinux1_wheel_loads(project, run, offline):
    assert run("install", "--runtime", "python3.12", *offline, "legacy1").exit_code == 0


@pytest.mark.parametrize(
    ("package", "words"),
    [
        ("maconly", "only for other platforms"),
        ("muslonly", "only for other platforms"),
        ("armonly", "only for other platforms"),
    ],
)
def test_wheels_for_other_platforms_fail_clearly(project, run, offline, package, words):
    result = run("install", "--runtime", "python3.12", *offline, package)
    assert result.exit_code == EXIT_NO_WHEEL
    assert f"{package}: no wheel for python3.12 x86_64; wheels exist {words}" in result.err


def test_arm64_gets_aarch64_wheels(project, run, offline):
    result = run("install", "--runtime", "python3.12", "--arch", "arm64", *offline, "armonly", "glibcpkg")
    assert result.exit_code == 0, result.err
    with zipfile.ZipFile(project / "build/lambda.zip") as archive:
        wheel = archive.read("glibcpkg-2.0.dist-info/WHEEL").decode()
    assert "manylinux_2_28_aarch64" in wheel


def test_wheels_for_other_python_versions_fail_clearly(project, run, offline):
    result = run("install", "--runtime", "python3.12", *offline, "cp313only")
    assert result.exit_code == EXIT_NO_WHEEL
    assert "cp313only: no wheel for Python 3.12; wheels exist for other Python versions" in result.err


def test_sdist_only_requirement_fails_clearly(project, run, offline):
    result = run("install", "--runtime", "python3.12", *offline, "sdistonly")
    assert result.exit_code == EXIT_NO_WHEEL
    assert "sdistonly: only a source distribution (sdist)" in result.err


def test_unknown_package_fails_clearly(project, run, offline):
    result = run("install", "--runtime", "python3.12", *offline, "no-such-package")
    assert result.exit_code == EXIT_NO_WHEEL
    assert "no-such-package: no release matching no-such-package was found" in result.err


@pytest.mark.parametrize(
    ("runtime", "arch", "expected", "absent"),
    [
        ("python3.11", "x86_64", {"dep_old", "dep_x86", "dep_linux"}, {"dep_new", "dep_arm", "dep_darwin"}),
        ("python3.12", "arm64", {"dep_new", "dep_arm", "dep_linux"}, {"dep_old", "dep_x86", "dep_darwin"}),
    ],
)
def test_markers_are_evaluated_for_the_target(project, run, offline, runtime, arch, expected, absent):
    result = run("install", "--runtime", runtime, "--arch", arch, *offline, "markerpkg")
    assert result.exit_code == 0, result.err
    names = installed(project)
    assert expected <= names
    assert not absent & names


@pytest.mark.usefixtures("fake_pip")
def test_console_scripts_and_installer_metadata_are_removed(project, run, offline):
    assert run("install", "--runtime", "python3.12", *offline, "purepkg").exit_code == 0
    names = zip_names(project / "build/lambda.zip")
    assert not [name for name in names if name.startswith("bin/")]
    assert "purepkg-1.0.dist-info/METADATA" in names
    assert "purepkg-1.0.dist-info/entry_points.txt" in names
    assert "purepkg-1.0.dist-info/INSTALLER" not in names
    record = (project / "build/lambda/purepkg-1.0.dist-info/RECORD").read_text()
    assert "../" not in record and "INSTALLER" not in record


@pytest.mark.usefixtures("fake_pip")
def test_layer_puts_everything_under_python(project, run, offline):
    result = run("install", "--layer", "--runtime", "python3.12", *offline, "purepkg")
    assert result.exit_code == 0, result.err
    names = zip_names(project / "build/layer.zip")
    assert names[0] == "python/"
    assert all(name.startswith("python/") for name in names)
    assert "python/purepkg/__init__.py" in names


@pytest.mark.usefixtures("fake_pip")
def test_code_is_added_at_the_package_root(project, run, offline):
    (project / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (project / "lib").mkdir()
    (project / "lib" / "__init__.py").write_text("")
    (project / "lib" / "__pycache__").mkdir()
    (project / "lib" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"host")
    result = run("install", "--runtime", "python3.12", *offline, "purepkg", "--code", "app.py", "--code", "lib")
    assert result.exit_code == 0, result.err
    names = zip_names(project / "build/lambda.zip")
    assert {"app.py", "lib/", "lib/__init__.py", "purepkg/__init__.py"} <= set(names)
    assert not [name for name in names if "__pycache__" in name]


def test_code_only_function_needs_no_pip(project, run):
    (project / "app.py").write_text("def handler(event, context):\n    return 1\n")
    result = run("install", "--runtime", "python3.12", "--code", "app.py")
    assert result.exit_code == 0, result.err
    assert zip_names(project / "build/lambda.zip") == ["app.py"]


@pytest.mark.usefixtures("fake_pip")
def test_no_zip_stops_after_the_target(project, run, offline):
    assert run("install", "--runtime", "python3.12", "--no-zip", *offline, "purepkg").exit_code == 0
    assert (project / "build/lambda/purepkg/__init__.py").is_file()
    assert not (project / "build/lambda.zip").exists()


@pytest.mark.usefixtures("fake_pip")
def test_target_and_output_options(project, run, offline):
    result = run("install", "--runtime", "python3.12", "-t", "out/deps", "-o", "dist/fn.zip", *offline, "purepkg")
    assert result.exit_code == 0, result.err
    assert (project / "out/deps/purepkg").is_dir()
    assert (project / "dist/fn.zip").is_file()


def _build_in(folder: Path, run, offline, umask: int) -> str:
    folder.mkdir()
    os.chdir(folder)
    (folder / "handler.py").write_text("def handler(event, context):\n    return 'ok'\n")
    os.utime(folder / "handler.py", (1_000_000 + umask, 1_000_000 + umask))
    old = os.umask(umask)
    try:
        result = run(
            "install", "--runtime", "python3.12", *offline, "purepkg", "glibcpkg", "markerpkg", "--code", "handler.py"
        )
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.err
    return hashlib.sha256((folder / "build/lambda.zip").read_bytes()).hexdigest()


@pytest.mark.usefixtures("fake_pip")
def test_two_builds_in_different_folders_with_different_umask_are_identical(tmp_path, run, offline, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _build_in(tmp_path / "a", run, offline, 0o022) == _build_in(tmp_path / "b", run, offline, 0o077)


@pytest.mark.usefixtures("fake_pip")
def test_source_date_epoch_sets_the_timestamp(project, run, offline, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert run("install", "--runtime", "python3.12", *offline, "purepkg").exit_code == 0
    with zipfile.ZipFile(project / "build/lambda.zip") as archive:
        assert {info.date_time for info in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}


@pytest.mark.usefixtures("fake_pip")
def test_summary_gives_sizes_and_hashes(project, run, offline):
    result = run("install", "--runtime", "python3.12", *offline, "purepkg")
    digest = hashlib.sha256((project / "build/lambda.zip").read_bytes()).hexdigest()
    assert f"sha256:        {digest}" in result.out
    assert "base64 sha256:" in result.out
    assert "purepkg==1.0" in result.out
    assert "262,144,000 B" in result.out


@pytest.mark.usefixtures("fake_pip")
def test_rebuild_replaces_its_own_target(project, run, offline):
    assert run("install", "--runtime", "python3.12", *offline, "purepkg").exit_code == 0
    assert run("install", "--runtime", "python3.12", *offline, "dep-new").exit_code == 0
    assert installed(project) == {"dep_new"}


def test_a_folder_not_made_by_pip_lambda_is_never_replaced(project, run, offline):
    (project / "src").mkdir()
    (project / "src" / "app.py").write_text("x = 1\n")
    result = run("install", "--runtime", "python3.12", "-t", "src", *offline, "purepkg")
    assert result.exit_code == EXIT_UNSAFE_PATH
    assert "refusing to replace src: it is not empty and pip-lambda did not create it" in result.err
    assert (project / "src" / "app.py").read_text() == "x = 1\n"


def test_the_current_folder_is_refused_as_target(project, run, offline):
    result = run("install", "--runtime", "python3.12", "-t", ".", *offline, "purepkg")
    assert result.exit_code == EXIT_UNSAFE_PATH
    assert "refusing to use the current folder" in result.err


def test_failed_build_keeps_the_last_good_zip_and_target(project, run, offline):
    assert run("install", "--runtime", "python3.12", *offline, "purepkg").exit_code == 0
    before = (project / "build/lambda.zip").read_bytes()
    assert run("install", "--runtime", "python3.12", *offline, "no-such-package").exit_code == EXIT_NO_WHEEL
    assert (project / "build/lambda.zip").read_bytes() == before
    assert installed(project) == {"purepkg"}
    assert sorted(path.name for path in (project / "build").iterdir()) == ["lambda", "lambda.zip"]


def test_missing_requirements_file(project, run):
    result = run("install", "--runtime", "python3.12", "-r", "requirements.txt")
    assert result.exit_code == EXIT_USAGE
    assert "error: requirements file requirements.txt not found" in result.err


@pytest.mark.usefixtures("fake_pip")
def test_requirements_file_and_constraints_pass_through(project, run, offline):
    (project / "requirements.txt").write_text("glibcpkg\npurepkg\n")
    (project / "constraints.txt").write_text("glibcpkg<2\n")
    result = run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt", "-c", "constraints.txt")
    assert result.exit_code == 0, result.err
    assert "glibcpkg==1.0" in result.out


def test_pip_failure_shows_pips_own_message(project, run, offline):
    (project / "requirements.txt").write_text("purepkg==1.0 --hash=sha256:0000\n")
    result = run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt")
    assert result.exit_code == 1
    assert "ERROR:" in result.err and "HASHES" in result.err
    assert result.err.rstrip().splitlines()[-1].startswith("error: pip failed")


@pytest.mark.usefixtures("fake_pip")
def test_no_deps_passes_through(project, run, offline):
    result = run("install", "--runtime", "python3.12", "--no-deps", *offline, "markerpkg")
    assert result.exit_code == 0, result.err
    assert installed(project) == {"markerpkg"}


@pytest.mark.usefixtures("fake_pip")
def test_empty_requirements_file_gives_an_empty_valid_package(project, run, offline):
    (project / "requirements.txt").write_text("# nothing yet\n")
    result = run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt")
    assert result.exit_code == 0, result.err
    assert zip_names(project / "build/lambda.zip") == []


def test_a_failure_is_explained_from_where_a_nested_file_says_pip_looks(project, run, wheelhouse):
    (project / "reqs").mkdir()
    (project / "reqs" / "wh").symlink_to(wheelhouse)
    (project / "requirements.txt").write_text("-r reqs/base.txt\n")
    (project / "reqs" / "base.txt").write_text("--no-index\n-f wh\nnewglibc\n")
    result = run("install", "--runtime", "python3.11", "-r", "requirements.txt")
    assert result.exit_code == EXIT_NO_WHEEL, result.err
    assert "newglibc: no wheel loads on python3.11 (glibc 2.26)" in result.err


def test_outputs_of_earlier_builds_are_replaced_even_from_a_version_before_the_zip_comment(project, run):
    from pip_lambda.archive.writer import COMMENT, written_by_pip_lambda

    (project / "app.py").write_text("x = 1\n")
    args = ("install", "--runtime", "python3.12", "--code", "app.py", "--report", "build/report.json")
    assert run(*args).exit_code == 0
    zipped = project / "build/lambda.zip"
    zipped.write_bytes(zipped.read_bytes()[: -len(COMMENT) - 2] + b"\0\0")  # no comment, as earlier versions wrote
    (project / "app.py").write_text("x = 2\n")
    result = run(*args)
    assert result.exit_code == 0, result.err
    assert written_by_pip_lambda(zipped)
    assert "x = 2" in (project / "build/lambda/app.py").read_text()
