"""Supply chain: no code from the index runs at build time, and hash checking covers every requirement."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from pip_lambda.errors import EXIT_NO_WHEEL, EXIT_OK, EXIT_PIP_FAILED, EXIT_USAGE
from pip_lambda.pip.run import install_command
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target


def sha256_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def wheel(wheelhouse: Path, name: str) -> Path:
    return next(wheelhouse.glob(f"{name.replace('-', '_')}-1.0-*.whl"))


def test_pip_always_gets_only_binary_all():
    command = install_command(Target(get_runtime("python3.12"), Arch.X86_64), Path("site"), ["--only-binary", "x"])
    assert "--only-binary=:all:" in command


def evil_index(tmp_path: Path) -> tuple[Path, Path]:
    """A find-links folder holding only an sdist whose setup.py leaves a file behind when it runs."""
    index = tmp_path / "index"
    index.mkdir()
    ran = tmp_path / "setup-py-ran"
    setup = (
        f"open({str(ran)!r}, 'w').close()\nfrom setuptools import setup\nsetup(name='evil', version='1.0')\n".encode()
    )
    with tarfile.open(index / "evil-1.0.tar.gz", "w:gz") as archive:
        for name, data in (("evil-1.0/setup.py", setup), ("evil-1.0/PKG-INFO", b"Name: evil\nVersion: 1.0\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return index, ran


def test_an_sdist_from_the_index_never_runs_its_build_code(project, run, tmp_path):
    index, ran = evil_index(tmp_path)
    result = run("install", "--runtime", "python3.12", "--no-index", "--find-links", str(index), "evil")
    assert result.exit_code == EXIT_NO_WHEEL, result.err
    assert "only a source distribution (sdist)" in result.err
    assert not ran.exists()


@pytest.mark.parametrize("line", ["--no-binary :all:", "--no-binary=evil", "--only-binary :none:"])
def test_a_requirements_file_cannot_switch_source_builds_back_on(project, run, tmp_path, line):
    """pip applies a file's --no-binary/--only-binary after pip-lambda's --only-binary=:all:."""
    index, ran = evil_index(tmp_path)
    (project / "requirements.txt").write_text(f"{line}\nevil\n")
    result = run(
        "install", "--runtime", "python3.12", "--no-index", "--find-links", str(index), "-r", "requirements.txt"
    )
    assert result.exit_code == EXIT_USAGE, result.err
    assert "requirements.txt:1: " in result.err
    assert not ran.exists()


def test_require_hashes_with_every_hash_builds(project, run, offline, wheelhouse):
    (project / "lock.txt").write_text(f"purepkg==1.0 --hash={sha256_of(wheel(wheelhouse, 'purepkg'))}\n")
    result = run("install", "--runtime", "python3.12", *offline, "--require-hashes", "-r", "lock.txt")
    assert result.exit_code == EXIT_OK, result.err


def test_pip_refuses_a_dependency_without_a_hash_and_the_message_says_so(project, run, offline, wheelhouse):
    """pip-lambda checks the lines it reads; pip checks the dependencies it resolves, once any hash is present."""
    (project / "lock.txt").write_text(f"markerpkg==1.0 --hash={sha256_of(wheel(wheelhouse, 'markerpkg'))}\n")
    result = run("install", "--runtime", "python3.12", *offline, "-r", "lock.txt")
    assert result.exit_code == EXIT_PIP_FAILED
    assert "--require-hashes mode" in result.err  # pip's own line, shown above ours
    assert (
        result.err.rstrip()
        .splitlines()[-1]
        .startswith(
            "error: pip failed (exit code 1): hash checking is on, and a requirement or one of its dependencies has no pinned, hashed line"
        )
    )
    assert not (project / "build/lambda").exists()


@pytest.mark.parametrize("flag", [[], ["--require-hashes"]])
def test_an_unhashed_line_is_refused_before_pip_runs(project, run, offline, wheelhouse, flag):
    digest = sha256_of(wheel(wheelhouse, "purepkg"))
    (project / "lock.txt").write_text(f"purepkg==1.0 --hash={digest}\ndep-new==1.0\n")
    result = run("install", "--runtime", "python3.12", *offline, *flag, "-r", "lock.txt")
    assert result.exit_code == EXIT_USAGE
    assert "error: lock.txt:2: dep-new==1.0 has no --hash" in result.err
    assert "installing for" not in result.err


def test_allow_sdist_says_it_runs_the_sdists_build_code(run):
    result = run("install", "--help")
    help_text = " ".join(result.out.split())
    assert "--allow-sdist NAME" in help_text
    assert "RUNS THE SDIST'S BUILD CODE" in help_text
