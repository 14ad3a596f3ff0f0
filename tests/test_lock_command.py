"""``pip-lambda lock``: a pylock.toml resolved for the Lambda target from any host, read back by install, uv and pip."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from pip_lambda.errors import EXIT_NO_WHEEL, EXIT_USAGE, UsageError
from pip_lambda.pip.run import subprocess_runner, using_runner
from pip_lambda.plan.runtimes import get_runtime

from conftest import interpreter_for

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def read_lock(path: Path) -> dict:
    return tomllib.loads(path.read_text())


def locked(path: Path) -> list[str]:
    return [f"{entry['name']}=={entry['version']}" for entry in read_lock(path)["packages"]]


def test_the_lock_is_resolved_for_the_target_by_pip_whatever_the_host(project, run, offline):
    """Real pip through the marker seam: each target gets its own dependencies, from this one machine."""
    with using_runner(subprocess_runner):
        for runtime, arch, name in (("python3.11", "x86_64", "old"), ("python3.12", "arm64", "arm")):
            result = run(
                "lock", "--runtime", runtime, "--arch", arch, *offline, "markerpkg", "-o", f"pylock.{name}.toml"
            )
            assert result.exit_code == 0, result.err
    assert locked(project / "pylock.old.toml") == ["dep-linux==1.0", "dep-old==1.0", "dep-x86==1.0", "markerpkg==1.0"]
    assert locked(project / "pylock.arm.toml") == ["dep-arm==1.0", "dep-linux==1.0", "dep-new==1.0", "markerpkg==1.0"]


def test_the_lock_records_the_target_and_each_packages_one_wheel_with_its_hash(
    project, run, offline, fake_pip, wheelhouse
):
    result = run("lock", "--runtime", "python3.12", *offline, "glibcpkg")
    assert result.exit_code == 0, result.err
    assert result.out.splitlines() == [
        "wrote pylock.toml: 1 package(s) locked for python3.12 on x86_64",
        "  glibcpkg==2.0",
    ]
    text = (project / "pylock.toml").read_text()
    assert text.startswith("# Written by pip-lambda lock for python3.12 on x86_64 (Amazon Linux 2023, glibc 2.34).\n")
    data = read_lock(project / "pylock.toml")
    wheel = wheelhouse / "glibcpkg-2.0-cp311.cp312.cp313-abi3-manylinux_2_28_x86_64.whl"
    assert data == {
        "lock-version": "1.0",
        "environments": [
            "python_version == '3.12' and platform_machine == 'x86_64' and sys_platform == 'linux'"
            " and platform_python_implementation == 'CPython'"
        ],
        "requires-python": "==3.12.*",
        "created-by": "pip-lambda",
        "packages": [
            {
                "name": "glibcpkg",
                "version": "2.0",
                "wheels": [
                    {
                        "name": wheel.name,
                        "path": os.path.relpath(wheel, project),
                        "hashes": {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()},
                    }
                ],
            }
        ],
    }


def test_install_builds_exactly_what_lock_wrote(project, run, offline, fake_pip):
    assert run("lock", "--runtime", "python3.12", "--arch", "arm64", *offline, "markerpkg").exit_code == 0
    result = run("install", "--runtime", "python3.12", "--arch", "arm64", "--no-zip")
    assert result.exit_code == 0, result.err
    assert "from:          pylock.toml (found in the project folder)" in result.out
    assert "distributions: dep-arm==1.0, dep-linux==1.0, dep-new==1.0, markerpkg==1.0" in result.out
    other = run("install", "--runtime", "python3.11", "--no-zip")
    assert other.exit_code == EXIT_NO_WHEEL
    assert "pylock.toml is for Python ==3.12.*, not python3.11 x86_64 (Python 3.11)" in other.err


def test_the_same_inputs_give_the_same_bytes_and_an_unchanged_lock_is_left_alone(project, run, offline, fake_pip):
    assert run("lock", "--runtime", "python3.12", *offline, "purepkg", "dep-new").exit_code == 0
    lock = project / "pylock.toml"
    first, stamp = lock.read_bytes(), lock.stat().st_mtime_ns
    again = run("lock", "--runtime", "python3.12", *offline, "dep-new", "purepkg")
    assert again.exit_code == 0, again.err
    assert again.out.startswith("pylock.toml is up to date: 2 package(s) locked for python3.12 on x86_64")
    assert (lock.read_bytes(), lock.stat().st_mtime_ns) == (first, stamp)
    assert sorted(path.name for path in project.iterdir()) == ["pylock.toml"]  # no temporary file left


def test_the_project_dependencies_with_extras_are_locked_without_requirements(project, run, offline, fake_pip):
    (project / "pyproject.toml").write_text(
        '[project]\nname = "fn"\nversion = "1"\ndependencies = ["purepkg"]\n'
        '[project.optional-dependencies]\naws = ["dep-new"]\n'
    )
    (project / "requirements.txt").write_text("dep-old\n")
    assert run("lock", "--runtime", "python3.12", *offline).exit_code == 0
    assert locked(project / "pylock.toml") == ["purepkg==1.0"]
    assert run("lock", "--runtime", "python3.12", *offline, "--extra", "aws").exit_code == 0
    assert locked(project / "pylock.toml") == ["dep-new==1.0", "purepkg==1.0"]
    unknown = run("lock", "--runtime", "python3.12", *offline, "--extra", "gcp")
    assert unknown.exit_code == EXIT_USAGE
    assert "has no optional dependencies 'gcp'; extras it declares: aws" in unknown.err


def test_requirements_txt_is_locked_when_the_project_has_no_dependencies(project, run, offline, fake_pip):
    (project / "requirements.txt").write_text("dep-old\n")
    assert run("lock", "--runtime", "python3.12", *offline).exit_code == 0
    assert locked(project / "pylock.toml") == ["dep-old==1.0"]


def test_the_configured_lock_is_where_lock_writes(project, run, offline, fake_pip):
    (project / "pyproject.toml").write_text('[tool.pip-lambda]\nruntime = "python3.11"\nlock = "pylock.lambda.toml"\n')
    result = run("lock", *offline, "dep-old")
    assert result.exit_code == 0, result.err
    assert result.out.startswith("wrote pylock.lambda.toml: 1 package(s) locked for python3.11 on x86_64")


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["-o", "requirements.txt", "purepkg"], "error: -o requirements.txt: a lock file is named pylock.toml or pylock.NAME.toml (PEP 751)"),
        (["-r", "pylock.toml"], "error: pylock.toml is a lock file already; pip-lambda lock reads requirements"),
        ([], "error: nothing to lock: no requirements given"),
        (["--extra", "aws", "purepkg"], "error: --extra aws selects optional dependencies of [project], but requirements are given"),
        (["-e", "."], "error: pip option -e cannot make a Lambda package"),
    ],
)  # fmt: skip
def test_bad_input_is_a_usage_error(project, run, offline, arguments, said):
    result = run("lock", "--runtime", "python3.12", *offline, *arguments)
    assert result.exit_code == EXIT_USAGE
    assert result.err.strip().splitlines()[-1].startswith(said)


def test_dynamic_dependencies_cannot_be_locked_from_pyproject(project, run, offline):
    (project / "pyproject.toml").write_text('[project]\nname = "fn"\nversion = "1"\ndynamic = ["dependencies"]\n')
    result = run("lock", "--runtime", "python3.12", *offline)
    assert result.exit_code == EXIT_USAGE
    assert "declares its dependencies dynamic" in result.err


def test_a_requirement_without_a_wheel_for_the_target_is_explained(project, run, offline):
    with using_runner(subprocess_runner):
        result = run("lock", "--runtime", "python3.12", *offline, "maconly")
    assert result.exit_code == EXIT_NO_WHEEL
    assert "maconly" in result.err.strip().splitlines()[-1]
    assert not (project / "pylock.toml").exists()


def test_the_help_has_a_real_example(run):
    result = run("lock", "--help")
    assert result.exit_code == 0
    assert "pip-lambda lock --runtime python3.12 --arch arm64 -r requirements.txt" in result.out
    assert "lock       write a pylock.toml" in run("--help").out


# --- read back by other installers --------------------------------------------------------------------------


def test_uv_installs_the_lock_for_the_same_platform(project, run, offline, fake_pip, tmp_path):
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (it is in the test extras)")
    python = interpreter_for("python3.12")
    assert run("lock", "--runtime", "python3.12", *offline, "markerpkg").exit_code == 0
    target = tmp_path / "uv-target"
    done = subprocess.run(
        [uv, "pip", "install", "--offline", "-r", "pylock.toml", "--target", str(target),
         "--python-platform", "x86_64-manylinux_2_34", "--python-version", "3.12", "--python", python[0]],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in target.glob("*.dist-info")) == [
        "dep_linux-1.0.dist-info", "dep_new-1.0.dist-info", "dep_x86-1.0.dist-info", "markerpkg-1.0.dist-info",
    ]  # fmt: skip


def test_pip_26_installs_the_lock_under_a_python_of_the_target(project, run, offline, fake_pip, tmp_path):
    import pip

    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    try:
        get_runtime(version)
    except UsageError:
        pytest.skip(f"{version} is no Lambda runtime")
    if Version(pip.__version__) < Version("26.1"):
        pytest.skip(f"pip {pip.__version__} reads no pylock.toml")
    if platform.machine() != "x86_64":
        pytest.skip("the lock is for x86_64")
    assert run("lock", "--runtime", version, *offline, "markerpkg").exit_code == 0
    target = tmp_path / "pip-target"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-index", "-r", "pylock.toml", "--target", str(target)],
        cwd=project, capture_output=True, text=True, check=False, env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (target / "markerpkg").is_dir()


def test_a_dependency_group_of_pyproject_is_locked_through_pips_group(project, run, offline):
    (project / "pyproject.toml").write_text(
        '[project]\nname = "fn"\nversion = "1"\ndependencies = ["purepkg"]\n\n[dependency-groups]\nlambda = ["dep-new"]\n'
    )
    with using_runner(subprocess_runner):
        result = run("lock", "--runtime", "python3.12", *offline, "--group", "lambda")
    assert result.exit_code == 0, result.err
    assert locked(project / "pylock.toml") == ["dep-new==1.0", "purepkg==1.0"]
