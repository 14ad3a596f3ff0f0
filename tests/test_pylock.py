"""pylock.toml in: read with packaging.pylock, selected for the Lambda target (never the host), every wheel hashed."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest

from pip_lambda.errors import EXIT_NO_WHEEL, EXIT_PIP_FAILED, EXIT_USAGE, PipLambdaError
from pip_lambda.lock import pylock
from pip_lambda.pip.fetch import pin
from pip_lambda.pip.run import subprocess_runner, using_runner
from pip_lambda.pip.sdists import SdistOnlyError
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.source import Sdist
from pip_lambda.plan.target import Arch, Target

from conftest import lock_package, lock_wheel, make_sdist, make_wheel, write_pylock, zip_names

PY311 = Target(get_runtime("python3.11"), Arch.X86_64)
PY312 = Target(get_runtime("python3.12"), Arch.X86_64)
PY312_ARM = Target(get_runtime("python3.12"), Arch.ARM64)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def select(path: Path, target: Target = PY312, **options: object):
    return pylock.select(pylock.read(path, path.name), target, shown=path.name, base=path.parent, **options)


def names(path: Path, target: Target = PY312, **options: object) -> list[str]:
    selection, _ = select(path, target, **options)
    return [f"{wheel.name}=={wheel.version}" for wheel in selection.wheels]


@pytest.fixture
def markers_lock(tmp_path, wheelhouse):
    """One lock for every target: entries chosen by markers on the Python version and the architecture."""
    lock = tmp_path / "lock"
    lock.mkdir()
    entries = [
        lock_package(
            dep, "1.0", lock_wheel(wheelhouse / f"{dep.replace('-', '_')}-1.0-py3-none-any.whl", lock), marker=marker
        )
        for dep, marker in [
            ("dep-old", "python_version < '3.12'"),
            ("dep-new", "python_version >= '3.12'"),
            ("dep-arm", "platform_machine == 'aarch64'"),
            ("dep-x86", "platform_machine == 'x86_64'"),
            ("dep-darwin", "sys_platform == 'darwin'"),
        ]
    ]
    return write_pylock(lock, entries)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (PY311, ["dep-old==1.0", "dep-x86==1.0"]),
        (PY312, ["dep-new==1.0", "dep-x86==1.0"]),
        (PY312_ARM, ["dep-arm==1.0", "dep-new==1.0"]),
    ],
)
def test_markers_are_evaluated_for_the_lambda_target_not_this_machine(markers_lock, target, expected):
    assert names(markers_lock, target) == expected


def test_the_best_wheel_the_runtime_loads_is_chosen_among_several(tmp_path):
    wheels = [
        make_wheel(tmp_path, "native", "2.0", "cp311.cp312-abi3-manylinux_2_17_x86_64"),
        make_wheel(tmp_path, "native", "2.0", "cp311.cp312-abi3-manylinux_2_28_x86_64"),
        make_wheel(tmp_path, "native", "2.0", "cp311.cp312-abi3-manylinux_2_28_aarch64"),
        make_wheel(tmp_path, "native", "2.0", "cp312-cp312-macosx_14_0_arm64"),
    ]
    lock = write_pylock(tmp_path, [lock_package("native", "2.0", *(lock_wheel(wheel, tmp_path) for wheel in wheels))])

    def chosen(target: Target) -> str:
        (wheel,) = select(lock, target)[0].wheels
        return wheel.filename

    assert chosen(PY312) == "native-2.0-cp311.cp312-abi3-manylinux_2_28_x86_64.whl"  # glibc 2.34
    assert chosen(PY311) == "native-2.0-cp311.cp312-abi3-manylinux_2_17_x86_64.whl"  # Amazon Linux 2: glibc 2.26
    assert chosen(PY312_ARM) == "native-2.0-cp311.cp312-abi3-manylinux_2_28_aarch64.whl"


def test_each_wheel_carries_the_locks_sha256_and_a_url_relative_to_the_lock(markers_lock, wheelhouse):
    selection, sdists = select(markers_lock)
    wheel = next(wheel for wheel in selection.wheels if wheel.name == "dep-new")
    path = wheelhouse / "dep_new-1.0-py3-none-any.whl"
    assert wheel.sha256 == sha256(path)
    assert wheel.url == path.absolute().as_uri()
    assert wheel.direct
    assert selection.source == "pylock.toml"
    assert sdists == ()


def test_extras_and_dependency_groups_select_their_packages(tmp_path, wheelhouse):
    def entry(dep: str, marker: str) -> dict[str, object]:
        return lock_package(
            dep,
            "1.0",
            lock_wheel(wheelhouse / f"{dep.replace('-', '_')}-1.0-py3-none-any.whl", tmp_path),
            marker=marker,
        )

    lock = write_pylock(
        tmp_path,
        [
            lock_package("purepkg", "1.0", lock_wheel(wheelhouse / "purepkg-1.0-py3-none-any.whl", tmp_path)),
            entry("dep-old", "'aws' in extras"),
            entry("dep-new", "'lambda' in dependency_groups"),
            entry("dep-linux", "'dev' in dependency_groups"),
        ],
        extras=["aws"],
        **{"dependency-groups": ["lambda", "dev"], "default-groups": ["dev"]},
    )
    assert names(lock) == ["dep-linux==1.0", "purepkg==1.0"]  # the default groups
    assert names(lock, extras=["aws"], groups=["lambda"]) == ["dep-new==1.0", "dep-old==1.0", "purepkg==1.0"]
    with pytest.raises(PipLambdaError, match="declares no extra 'gcp'") as info:
        select(lock, extras=["gcp"])
    assert info.value.exit_code == EXIT_USAGE
    assert info.value.hint == "extras it declares: aws"
    with pytest.raises(PipLambdaError, match="declares no dependency group 'docs'") as info:
        select(lock, groups=["docs"])
    assert info.value.exit_code == EXIT_USAGE
    assert "groups it declares: dev, lambda" in info.value.hint


def test_a_lock_whose_requires_python_excludes_the_target_names_both(markers_lock):
    lock = write_pylock(markers_lock.parent, [], "pylock.py313.toml", **{"requires-python": ">=3.13"})
    with pytest.raises(PipLambdaError) as info:
        select(lock, PY312)
    assert info.value.exit_code == EXIT_NO_WHEEL
    assert info.value.message == "pylock.py313.toml is for Python >=3.13, not python3.12 x86_64 (Python 3.12)"
    assert "pip-lambda lock --runtime python3.12 --arch x86_64" in info.value.hint


def test_a_lock_whose_environments_exclude_the_target_names_what_it_covers(tmp_path):
    lock = write_pylock(tmp_path, [], environments=["sys_platform == 'darwin'", "platform_machine == 'aarch64'"])
    assert select(lock, PY312_ARM)[0].wheels == ()
    with pytest.raises(PipLambdaError) as info:
        select(lock, PY312)
    assert info.value.exit_code == EXIT_NO_WHEEL
    assert info.value.message == (
        "pylock.toml covers only 'sys_platform == \"darwin\"' or 'platform_machine == \"aarch64\"', not python3.12 x86_64"
    )


def test_an_entry_without_a_wheel_for_the_target_names_the_tags_the_lock_has(tmp_path):
    wheels = [
        make_wheel(tmp_path, "fast", "1.0", "cp313-cp313-manylinux_2_17_x86_64"),
        make_wheel(tmp_path, "fast", "1.0", "py3-none-macosx_14_0_arm64"),
    ]
    lock = write_pylock(tmp_path, [lock_package("fast", "1.0", *(lock_wheel(wheel, tmp_path) for wheel in wheels))])
    with pytest.raises(PipLambdaError) as info:
        select(lock, PY312)
    assert info.value.exit_code == EXIT_NO_WHEEL
    assert info.value.message == (
        "pylock.toml: fast 1.0 has no wheel for python3.12 x86_64: the lock has only "
        "cp313-cp313-manylinux_2_17_x86_64, py3-none-macosx_14_0_arm64"
    )


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ({"vcs": {"type": "git", "url": "https://example.com/x.git", "commit-id": "abc"}}, "is a version-control entry (git https://example.com/x.git)"),
        ({"directory": {"path": "src/x"}}, "is a local folder entry"),
        ({"archive": {"url": "https://example.com/x-1.0.tar.gz", "hashes": {"sha256": "0" * 64}}}, "is an archive that is not a wheel (x-1.0.tar.gz)"),
    ],
)  # fmt: skip
def test_entries_that_would_be_built_here_are_refused_as_usage_errors(tmp_path, entry, said):
    lock = write_pylock(tmp_path, [{"name": "x", "version": "1.0", **entry}])
    with pytest.raises(PipLambdaError) as info:
        select(lock)
    assert info.value.exit_code == EXIT_USAGE
    assert info.value.message.startswith(f"pylock.toml: x {said}; pip-lambda installs wheels only, and ")


def test_an_archive_entry_that_is_a_wheel_is_installed_like_a_wheel(tmp_path, wheelhouse):
    wheel = wheelhouse / "purepkg-1.0-py3-none-any.whl"
    lock = write_pylock(
        tmp_path,
        [
            {
                "name": "purepkg",
                "version": "1.0",
                "archive": {"url": wheel.as_uri(), "hashes": {"sha256": sha256(wheel)}},
            }
        ],
    )
    (chosen,) = select(lock)[0].wheels
    assert (chosen.filename, chosen.url, chosen.sha256) == (wheel.name, wheel.as_uri(), sha256(wheel))


def test_an_sdist_only_entry_follows_the_sdist_policy(tmp_path):
    sdist = make_sdist(tmp_path, "sdistonly")
    mac = make_wheel(tmp_path, "sdistonly", "1.0", "py3-none-macosx_11_0_arm64")
    entry = {"sdist": {"name": sdist.name, "path": sdist.name, "hashes": {"sha256": sha256(sdist)}}}
    lock = write_pylock(tmp_path, [lock_package("sdistonly", "1.0", lock_wheel(mac, tmp_path), **entry)])
    with pytest.raises(SdistOnlyError) as info:
        select(lock)
    assert info.value.exit_code == EXIT_NO_WHEEL
    assert info.value.message == (
        "pylock.toml: sdistonly 1.0 has only an sdist (sdistonly-1.0.tar.gz) for python3.12 x86_64 "
        "(its wheels are for py3-none-macosx_11_0_arm64)"
    )
    assert "--allow-sdist sdistonly" in info.value.hint
    selection, sdists = select(lock, allow_sdist=["SdistOnly"])
    assert selection.wheels == ()
    assert sdists == (Sdist("sdistonly", "1.0", sdist.name, sdist.absolute().as_uri(), sha256(sdist)),)


def test_a_wheel_without_a_sha256_in_the_lock_is_refused(tmp_path, wheelhouse):
    wheel = wheelhouse / "purepkg-1.0-py3-none-any.whl"
    entry = {"name": wheel.name, "url": wheel.as_uri(), "hashes": {"md5": hashlib.md5(wheel.read_bytes()).hexdigest()}}
    lock = write_pylock(tmp_path, [lock_package("purepkg", "1.0", entry)])
    with pytest.raises(PipLambdaError) as info:
        select(lock)
    assert info.value.exit_code == EXIT_USAGE
    assert info.value.message == (
        "pylock.toml: purepkg's purepkg-1.0-py3-none-any.whl has no sha256 in the lock (it has md5), "
        "so the lock cannot prove which file it is"
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("lock-version = ", "pylock.toml is not a valid lock file: Invalid value"),
        ('created-by = "x"\npackages = []\n', "pylock.toml is not a valid lock file: Missing required value in 'lock-version'"),
        ('lock-version = "2.0"\ncreated-by = "x"\npackages = []\n', "pylock.toml is not a valid lock file: pylock version 2.0 is not supported"),
        ('lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "Not_Normal"\nversion = "1"\n', "pylock.toml is not a valid lock file: Name 'Not_Normal' is not normalized"),
    ],
)  # fmt: skip
def test_an_invalid_lock_file_is_a_usage_error_with_the_validation_message(tmp_path, text, said):
    (tmp_path / "pylock.toml").write_text(text)
    with pytest.raises(PipLambdaError) as info:
        pylock.read(tmp_path / "pylock.toml", "pylock.toml")
    assert info.value.exit_code == EXIT_USAGE
    assert info.value.message.startswith(said)


@pytest.mark.parametrize(
    ("written", "expected"),
    [("pylock.toml", ("pylock.toml", ())), ("pylock.toml[aws, cli]", ("pylock.toml", ("aws", "cli"))),
     ("locks/pylock.prod.toml[]", ("locks/pylock.prod.toml", ()))],
)  # fmt: skip
def test_pips_extras_spelling_on_a_lock_file(written, expected):
    assert pylock.split_extras(written) == expected


def test_the_adapter_pins_each_file_by_url_and_hash_or_by_version_where_the_url_lost_its_credentials(markers_lock):
    from dataclasses import replace

    selection, _ = select(markers_lock)
    first = selection.wheels[0]
    hidden = replace(first, url="https://***@example.com/dep.whl")
    assert [pin(first), pin(hidden)] == [
        f"{first.name} @ {first.url} --hash=sha256:{first.sha256}",
        f"{first.name}=={first.version} --hash=sha256:{first.sha256}",
    ]


# --- through the command line ------------------------------------------------------------------------------


@pytest.fixture
def project_lock(project, markers_lock):
    """The markers lock as the project's pylock.toml."""
    lock = write_pylock(project, [], "unused.toml")
    lock.unlink()
    text = markers_lock.read_text().replace('path = "', f'path = "{os.path.relpath(markers_lock.parent, project)}/')
    (project / "pylock.toml").write_text(text)
    return project / "pylock.toml"


def test_install_r_pylock_toml_builds_the_wheels_chosen_for_the_target(project_lock, run, fake_pip):
    result = run("install", "--runtime", "python3.12", "--arch", "arm64", "--no-index", "-r", "pylock.toml")
    assert result.exit_code == 0, result.err
    assert "distributions: dep-arm==1.0, dep-new==1.0" in result.out
    assert "from:          pylock.toml" in result.out
    assert {name.split("/")[0] for name in zip_names(Path("build/lambda.zip"))} == {
        "dep_arm", "dep_arm-1.0.dist-info", "dep_new", "dep_new-1.0.dist-info",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "configured"),
    [
        (["--lock", "pylock.toml"], ""),
        ([], 'lock = "pylock.toml"\n'),
        ([], 'requirements = ["pylock.toml"]\n'),
        (["-r", "pylock.toml", "--pre"], ""),
    ],
)
def test_a_lock_named_by_option_key_or_configured_requirements(project_lock, run, fake_pip, arguments, configured):
    (project_lock.parent / "pyproject.toml").write_text(f"[tool.pip-lambda]\n{configured}")
    result = run("install", "--runtime", "python3.11", *arguments)
    assert result.exit_code == 0, result.err
    assert "distributions: dep-old==1.0, dep-x86==1.0" in result.out


def test_a_lock_from_the_environment_variable(project_lock, run, fake_pip, monkeypatch):
    monkeypatch.setenv("PIP_LAMBDA_LOCK", "pylock.toml")
    result = run("install", "--runtime", "python3.11", "--no-zip")
    assert result.exit_code == 0, result.err
    assert "distributions: dep-old==1.0, dep-x86==1.0" in result.out


def test_extras_by_pips_spelling_or_by_option(project, run, fake_pip, wheelhouse):
    aws = lock_package(
        "dep-linux",
        "1.0",
        lock_wheel(wheelhouse / "dep_linux-1.0-py3-none-any.whl", project),
        marker="'aws' in extras",
    )
    write_pylock(project, [aws], extras=["aws"])
    for arguments in (["-r", "pylock.toml[aws]"], ["--lock", "pylock.toml", "--extra", "aws"]):
        result = run("install", "--runtime", "python3.12", "--no-zip", *arguments)
        assert result.exit_code == 0, result.err
        assert "distributions: dep-linux==1.0" in result.out
    assert run("install", "--runtime", "python3.12", "--no-zip", "-r", "pylock.toml[gcp]").exit_code == EXIT_USAGE


@pytest.mark.parametrize(
    "arguments",
    [["-r", "pylock.toml", "purepkg"], ["-r", "pylock.toml", "-r", "requirements.txt"], ["-r", "pylock.toml", "-c", "requirements.txt"],
     ["--lock", "pylock.toml", "-r", "pylock.toml"]],
)  # fmt: skip
def test_a_lock_is_not_mixed_with_other_requirements(project_lock, run, arguments):
    (project_lock.parent / "requirements.txt").write_text("purepkg\n")
    result = run("install", "--runtime", "python3.12", *arguments)
    assert result.exit_code == EXIT_USAGE
    assert "error: more than one lock file" in result.err or "pylock.toml decides every package" in result.err


def test_pip_gets_exact_files_with_their_hashes_and_no_dependencies(project, run, wheelhouse, serve):
    base = serve(wheelhouse)
    new, x86 = (wheelhouse / name for name in ("dep_new-1.0-py3-none-any.whl", "dep_x86-1.0-py3-none-any.whl"))
    packages = [
        lock_package(name, "1.0", {"name": wheel.name, "url": base + wheel.name, "hashes": {"sha256": sha256(wheel)}})
        for name, wheel in (("dep-new", new), ("dep-x86", x86))
    ]
    write_pylock(project, packages)
    seen: list[tuple[list[str], str]] = []

    def recording(command, environment, line):
        files = [command[index + 1] for index, part in enumerate(command) if part == "-r"]
        seen.append((list(command), "".join(Path(file).read_text() for file in files)))
        return subprocess_runner(command, environment, line)

    with using_runner(recording):
        result = run("install", "--runtime", "python3.12", "--no-cache", "--no-index", "-r", "pylock.toml")
    assert result.exit_code == 0, result.err
    ((command, requirements),) = seen
    assert command[command.index("--no-index") :][:4] == ["--no-index", "--no-deps", "--require-hashes", "-r"]
    assert requirements == (
        f"dep-new @ {base}{new.name} --hash=sha256:{sha256(new)}\ndep-x86 @ {base}{x86.name} --hash=sha256:{sha256(x86)}\n"
    )


def test_a_build_from_a_lock_of_local_wheels_starts_no_pip(project_lock, run, fake_pip):
    (project_lock.parent / "app.py").write_text("A = 1\n")
    assert run("install", "--runtime", "python3.12", "--code", "app.py").exit_code == 0
    assert fake_pip.commands == []  # the lock names local files: copied into the store and checked, no pip
    (project_lock.parent / "app.py").write_text("A = 2\n")
    result = run("install", "--runtime", "python3.12", "--code", "app.py")
    assert result.exit_code == 0, result.err
    assert "nothing changed" not in result.err
    assert fake_pip.commands == []
    result = run("install", "--runtime", "python3.12", "--code", "app.py")
    assert "nothing changed since the last build" in result.err
    assert fake_pip.commands == []


@pytest.mark.parametrize("where", ["local", "served"])
def test_a_file_that_does_not_match_the_locks_hash_is_a_hash_failure(project, run, wheelhouse, tmp_path, serve, where):
    original = wheelhouse / "purepkg-1.0-py3-none-any.whl"
    swapped = tmp_path / "swapped" / original.name
    swapped.parent.mkdir()
    swapped.write_bytes(original.read_bytes())
    with zipfile.ZipFile(swapped, "a") as wheel:
        wheel.writestr("purepkg/extra.py", "X = 1\n")
    url = swapped.as_uri() if where == "local" else serve(swapped.parent) + swapped.name
    entry = {"name": original.name, "url": url, "hashes": {"sha256": sha256(original)}}
    write_pylock(project, [lock_package("purepkg", "1.0", entry)])
    with using_runner(subprocess_runner):
        result = run("install", "--runtime", "python3.12", "--no-index", "-r", "pylock.toml")
    assert result.exit_code == EXIT_PIP_FAILED
    if where == "local":  # copied by pip-lambda, checked as pip checks
        assert f"does not match the sha256 it is pinned to ({sha256(original)})" in result.err
    else:
        assert "THESE PACKAGES DO NOT MATCH THE HASHES" in result.err
        assert "a downloaded file does not match the --hash in the requirements" in result.err
    assert not (project / "build/lambda.zip").exists()


def test_an_allowed_sdist_of_a_lock_is_built_here_and_installed(project, run, tmp_path):
    from test_verify import buildable_sdist

    sdist = buildable_sdist(tmp_path, "puresrc", "py3-none-any")
    entry = {"sdist": {"name": sdist.name, "url": sdist.as_uri(), "hashes": {"sha256": sha256(sdist)}}}
    write_pylock(project, [lock_package("puresrc", "1.0", **entry)])
    refused = run("install", "--runtime", "python3.12", "--no-index", "-r", "pylock.toml")
    assert refused.exit_code == EXIT_NO_WHEEL
    assert "has only an sdist (puresrc-1.0.tar.gz)" in refused.err
    result = run(
        "install",
        "--runtime",
        "python3.12",
        "--no-index",
        "-r",
        "pylock.toml",
        "--allow-sdist",
        "puresrc",
        "--report",
        "r.json",
    )
    assert result.exit_code == 0, result.err
    assert "this runs its build code" in result.err
    assert (project / "build/lambda/puresrc/__init__.py").read_text() == "BUILT = True\n"
    assert json.loads((project / "r.json").read_text())["builds"][0]["source"] == {
        "kind": "pylock.toml", "path": "pylock.toml", "converted_by": None, "discovered": False,
    }  # fmt: skip


def test_a_named_target_builds_from_its_configured_lock(project_lock, run, fake_pip):
    (project_lock.parent / "pyproject.toml").write_text(
        '[tool.pip-lambda]\nruntime = "python3.12"\n\n[tool.pip-lambda.targets.api]\nlock = "pylock.toml"\n'
    )
    result = run("build")
    assert result.exit_code == 0, result.err
    assert "api: Built a function package" in result.out
    assert "distributions: dep-new==1.0, dep-x86==1.0" in result.out
