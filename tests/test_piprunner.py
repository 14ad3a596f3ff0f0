"""The pip runner seam: every pip process starts through it, a failure costs few, and the fake pip is faithful."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pip_lambda.errors import EXIT_NO_WHEEL
from pip_lambda.pip.run import install_command, pip_environment, run_pip, using_runner
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target

from conftest import FakePip

NO_LOADABLE_WHEEL = [
    ("python3.11", "newglibc", "needs a newer glibc"),
    ("python3.12", "maconly", "wheels exist only for other platforms"),
    ("python3.12", "cp313only", "wheels exist for other Python versions"),
    ("python3.12", "sdistonly", "only a source distribution (sdist)"),
    ("python3.12", "no-such-package", "no release matching no-such-package was found"),
]


@pytest.mark.parametrize(
    ("runtime", "package", "words"), NO_LOADABLE_WHEEL, ids=[case[1] for case in NO_LOADABLE_WHEEL]
)
def test_a_requirement_with_no_loadable_wheel_costs_one_install_and_one_probe(
    project, run, offline, pip_processes, runtime, package, words
):
    """The goal was at most three pip processes; before, 3 to 12 (the store's install, the same install again,
    one probe per hypothesis, ``pip index versions``, one more probe for the sdist's name)."""
    result = run("install", "--runtime", runtime, *offline, package)
    assert result.exit_code == EXIT_NO_WHEEL, result.err
    assert words in result.err
    assert [command.count("--dry-run") for command in pip_processes] == [0, 1], pip_processes


def test_without_the_cache_too(project, run, offline, pip_processes):
    result = run("install", "--no-cache", "--runtime", "python3.12", *offline, "sdistonly")
    assert result.exit_code == EXIT_NO_WHEEL, result.err
    assert "sdistonly: only a source distribution (sdist) matches sdistonly (sdistonly-1.0.tar.gz)" in result.err
    assert [command.count("--dry-run") for command in pip_processes] == [0, 1], pip_processes


def test_every_pip_process_starts_through_the_runner_seam(project, run, offline, pip_processes, counted_pip):
    (project / "requirements.txt").write_text("purepkg\nglibcpkg<2\n")
    assert run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt").exit_code == 0
    assert run("install", "--runtime", "python3.12", *offline, "--refresh", "dep-new").exit_code == 0
    assert run("install", "--runtime", "python3.11", *offline, "newglibc").exit_code == EXIT_NO_WHEEL
    assert pip_processes == counted_pip
    assert len(counted_pip) >= 4


def test_the_fake_pip_starts_no_process(project, run, offline, pip_processes, fake_pip):
    assert run("install", "--runtime", "python3.12", *offline, "purepkg").exit_code == 0
    assert fake_pip.commands
    assert pip_processes == []


def test_the_fake_pip_unpacks_the_tree_pip_unpacks(tmp_path, wheelhouse):
    """Byte for byte, but for the console-script wrappers each installer writes its own way (pip-lambda drops them)."""
    target = Target(get_runtime("python3.12"), Arch.X86_64)
    arguments = ["--no-index", "--find-links", str(wheelhouse), "purepkg", "glibcpkg", "markerpkg"]
    run_pip(install_command(target, tmp_path / "real", arguments), pip_environment(target))
    with using_runner(FakePip()):
        run_pip(install_command(target, tmp_path / "fake", arguments), pip_environment(target))

    def tree(folder: Path) -> dict[str, str]:
        return {
            path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*"))
            if path.is_file() and "bin" not in path.relative_to(folder).parts and path.name != "RECORD"
        }

    def records(folder: Path) -> dict[str, list[str]]:
        return {
            path.parent.name: [row for row in path.read_text().splitlines() if not row.startswith("../../bin/")]
            for path in folder.glob("*.dist-info/RECORD")
        }

    assert tree(tmp_path / "fake") == tree(tmp_path / "real")
    assert records(tmp_path / "fake") == records(tmp_path / "real")
    assert (tmp_path / "real" / "bin" / "purepkg-cli").is_file() and (
        tmp_path / "fake" / "bin" / "purepkg-cli"
    ).is_file()


def test_the_fake_pip_builds_the_zip_pip_builds(tmp_path, run, offline, monkeypatch):
    def build(name: str) -> bytes:
        folder = tmp_path / name
        folder.mkdir()
        monkeypatch.chdir(folder)
        result = run("install", "--runtime", "python3.12", *offline, "purepkg", "glibcpkg", "markerpkg")
        assert result.exit_code == 0, result.err
        return (folder / "build/lambda.zip").read_bytes()

    real = build("real")
    with using_runner(FakePip()):
        fake = build("fake")
    assert fake == real
