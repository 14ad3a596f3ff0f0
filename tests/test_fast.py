"""No resolution when the answer is locked: hashed requirements and selections build from the store by sha256.

A warm build from hashed requirements or from a selection starts no pip process;
a pin moved to a version the store has never seen costs one pip process that
downloads that one wheel.  pip processes are counted at the runner seam.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest
from test_unpack import tree

from pip_lambda import pipeline
from pip_lambda.pip.args import parse_pip_args
from pip_lambda.pip.run import install_command, pip_environment, run_pip, using_runner
from pip_lambda.plan.request import BuildRequest
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.selection import Selection, Wheel
from pip_lambda.plan.target import Arch, Target
from pip_lambda.tree.clean import clean_site
from pip_lambda.tree.staging import MARKER

from conftest import make_wheel

TARGET = Target(get_runtime("python3.12"), Arch.X86_64)
GLIBC_TAGS = (
    "cp311.cp312.cp313-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp311.cp312.cp313-abi3-manylinux_2_28_x86_64",
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def hashed(*wheels: Path, extra: str = "") -> str:
    """Requirement lines pinning each wheel by version and hash, as pip-compile --generate-hashes writes them."""
    lines = {}
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        lines.setdefault(f"{name.replace('_', '-')}=={version}", []).append(f"--hash=sha256:{sha256(wheel)}")
    return "".join(f"{spec}{extra} {' '.join(hashes)}\n" for spec, hashes in lines.items())


@pytest.fixture
def house(tmp_path: Path) -> Path:
    folder = tmp_path / "house"
    folder.mkdir()
    return folder


def pip_kinds(commands: list[list[str]]) -> list[str]:
    """``install``, ``install --dry-run`` or ``download``, for each pip command line."""
    return [command[3] + (" --dry-run" if "--dry-run" in command else "") for command in commands]


def test_a_warm_build_from_hashed_requirements_starts_no_pip_process(project, run, house, fake_pip, monkeypatch):
    wheels = [make_wheel(house, "app", requires=["dep>=1"]), make_wheel(house, "dep", "1.2")]
    (project / "requirements.txt").write_text(hashed(*wheels))
    argv = ["install", "--runtime", "python3.12", "--no-index", "--find-links", str(house), "-r", "requirements.txt"]
    assert run(*argv).exit_code == 0
    assert pip_kinds(fake_pip.commands) == ["download"]  # cold: one pip process fetches both wheels
    (project / "app.py").write_text("def handler(event, context): return 1\n")
    fake_pip.commands.clear()

    result = run(*argv, "--code", "app.py")  # another key: nothing to reuse but the wheels

    assert result.exit_code == 0, result.err
    assert fake_pip.commands == []
    assert "app==1.0" in result.out and "dep==1.2" in result.out


def test_a_pin_moved_to_a_version_the_store_never_saw_downloads_that_one_wheel(project, run, house, fake_pip):
    app, dep = make_wheel(house, "app", requires=["dep"]), make_wheel(house, "dep", "1.0")
    (project / "requirements.txt").write_text(hashed(app, dep))
    argv = ["install", "--runtime", "python3.12", "--no-index", "--find-links", str(house), "-r", "requirements.txt"]
    assert run(*argv).exit_code == 0
    newer = make_wheel(house, "dep", "1.1")
    (project / "requirements.txt").write_text(hashed(app, newer))
    pins: list[str] = []

    def reading_pins(command: Sequence[str], environment: Mapping[str, str], line: Callable[[str], None]) -> int:
        pins.append(Path(command[list(command).index("-r", 5) + 1]).read_text())
        return fake_pip(command, environment, line)

    with using_runner(reading_pins):
        result = run(*argv)

    assert result.exit_code == 0, result.err
    assert pip_kinds(fake_pip.commands[-1:]) == ["download"] and "--no-deps" in fake_pip.commands[-1]
    assert pins == [f"dep==1.1 --hash=sha256:{sha256(newer)}\n"]  # one pip process, one wheel
    assert "dep==1.1" in result.out


def test_hashed_lines_take_the_stored_wheel_the_target_loads_best(project, run, house, fake_pip):
    wheels = [
        make_wheel(house, "glibcpkg", "1.0", tag, files={"glibcpkg/__init__.py": tag.encode()}) for tag in GLIBC_TAGS
    ]
    (project / "requirements.txt").write_text(hashed(*wheels))
    base = ["install", "--no-index", "--find-links", str(house), "-r", "requirements.txt", "--no-verify"]
    # pip fetches manylinux_2_28 for python3.12 (glibc 2.34), then manylinux2014 for python3.11 (glibc 2.26).
    assert run(*base, "--runtime", "python3.12", "-t", "build/new", "-o", "build/new.zip").exit_code == 0
    assert run(*base, "--runtime", "python3.11", "-t", "build/old", "-o", "build/old.zip").exit_code == 0
    assert pip_kinds(fake_pip.commands) == ["download", "download"]
    fake_pip.commands.clear()

    for runtime, tag in (("python3.11", 0), ("python3.12", 1)):
        folder = f"again-{runtime}"
        result = run(
            *base,
            "--runtime",
            runtime,
            "-t",
            f"build/{folder}",
            "-o",
            f"build/{folder}.zip",
            "--code",
            "requirements.txt",
        )
        assert result.exit_code == 0, result.err
        assert (project / f"build/{folder}/glibcpkg/__init__.py").read_text() == GLIBC_TAGS[tag]
    assert fake_pip.commands == []  # both wheels are stored: each target takes the one it loads best


def test_hashed_lines_the_target_s_markers_exclude_are_left_out(project, run, house, fake_pip):
    kept, left = make_wheel(house, "kept"), make_wheel(house, "left")
    (project / "requirements.txt").write_text(hashed(kept) + hashed(left, extra='; python_version < "3.12"'))
    result = run(
        "install", "--runtime", "python3.12", "--no-index", "--find-links", str(house), "-r", "requirements.txt"
    )
    assert result.exit_code == 0, result.err
    assert "kept==1.0" in result.out and "left" not in result.out


def test_hashed_requirements_missing_a_dependency_are_left_to_pip_which_says_why(project, run, house):
    app = make_wheel(house, "app", requires=["dep"])
    make_wheel(house, "dep")
    (project / "requirements.txt").write_text(hashed(app))

    result = run(
        "install", "--runtime", "python3.12", "--no-index", "--find-links", str(house), "-r", "requirements.txt"
    )

    assert result.exit_code == 1, result.err
    assert "hash checking is on, and a requirement or one of its dependencies has no pinned, hashed line" in result.err


def selection_of(*wheels: Path) -> Selection:
    chosen = []
    for wheel in wheels:
        name, version = wheel.name.split("-")[:2]
        chosen.append(Wheel(name.replace("_", "-"), version, wheel.name, wheel.as_uri(), sha256(wheel)))
    return Selection(tuple(chosen), "pylock.toml")


def selection_request(project: Path, house: Path, selection: Selection, folder: str) -> BuildRequest:
    pip_args = parse_pip_args(["--no-index", "--find-links", str(house)], TARGET)
    return BuildRequest(
        TARGET, pip_args, project / "build" / folder, project / "build" / f"{folder}.zip", selection=selection
    )


def test_a_selection_of_local_wheels_is_built_without_pip_at_all(project, house, fake_pip):
    app, dep = make_wheel(house, "app", requires=["dep"]), make_wheel(house, "dep")
    make_wheel(house, "dep", "9.0")  # pip would resolve to this one; the selection decides

    result = pipeline.build(selection_request(project, house, selection_of(app, dep), "one"))

    assert [(dist.key, dist.version, dist.wheel_sha256) for dist in result.distributions] == [
        ("app", "1.0", sha256(app)),
        ("dep", "1.0", sha256(dep)),
    ]
    assert fake_pip.commands == []  # file:// wheels are copied and checked, not downloaded
    again = pipeline.build(selection_request(project, house, selection_of(app), "two"))
    assert [dist.key for dist in again.distributions] == ["app"]
    assert fake_pip.commands == []


def test_a_selection_behind_a_url_is_downloaded_by_one_pip_process_pinned_and_warm_without_pip(
    project, house, serve, pip_processes
):
    app, dep = make_wheel(house, "app", requires=["dep"]), make_wheel(house, "dep")
    base = serve(house)
    served = Selection(
        tuple(Wheel(w.name.split("-")[0], "1.0", w.name, base + w.name, sha256(w)) for w in (app, dep)), "pylock.toml"
    )

    result = pipeline.build(selection_request(project, house, served, "one"))

    assert [dist.key for dist in result.distributions] == ["app", "dep"]
    (command,) = pip_processes
    assert pip_kinds([command]) == ["download"] and "--no-deps" in command and "--require-hashes" in command
    pip_processes.clear()
    pipeline.build(selection_request(project, house, served, "two"))
    assert pip_processes == []


def test_a_cold_build_resolves_and_fetches_in_one_pip_process(project, run, offline, pip_processes):
    result = run("install", "--runtime", "python3.12", *offline, "markerpkg", "glibcpkg")
    assert result.exit_code == 0, result.err
    assert pip_kinds(pip_processes) == ["download"]


def test_a_warm_build_with_one_new_wheel_resolves_then_fetches_only_it(project, run, offline, pip_processes):
    assert run("install", "--runtime", "python3.12", *offline, "markerpkg").exit_code == 0
    pip_processes.clear()
    result = run("install", "--runtime", "python3.12", *offline, "markerpkg", "purepkg")
    assert result.exit_code == 0, result.err
    assert pip_kinds(pip_processes) == ["install --dry-run"]  # the new wheel is a local file: copied, not downloaded


@pytest.mark.network
@pytest.mark.parametrize("workload", ["api", "data", "native"])
def test_the_store_lays_out_the_tree_pip_install_target_gives(network, project, run, tmp_path, workload):
    """For the benchmark workloads from PyPI: the assembled tree, after the clean step, is pip's, RECORD included."""
    requirements = {
        "api": "fastapi\nmangum\npydantic\nrequests\norjson\n",
        "data": "pandas\nnumpy\n",
        "native": "cryptography\npsycopg2-binary\npydantic-core\norjson\nlxml\n",
    }[workload]
    (project / "requirements.txt").write_text(requirements)
    assert run("install", "--runtime", "python3.12", "-r", "requirements.txt", "--no-zip").exit_code == 0
    pins = "".join(f"{line.split('==')[0]}=={line.split('==')[1]}\n" for line in _installed(project / "build/lambda"))
    (tmp_path / "pins.txt").write_text(pins)
    site = tmp_path / "pip"
    run_pip(install_command(TARGET, site, ["--no-deps", "-r", str(tmp_path / "pins.txt")]), pip_environment(TARGET))
    clean_site(site)

    built = {name: found for name, found in tree(project / "build/lambda").items() if name != MARKER}
    assert built == tree(site)


def _installed(site: Path) -> list[str]:
    return sorted(
        f"{info.name.removesuffix('.dist-info').rsplit('-', 1)[0]}=={info.name.removesuffix('.dist-info').rsplit('-', 1)[1]}"
        for info in site.glob("*.dist-info")
    )


def test_a_selection_the_store_cannot_lay_out_is_installed_by_pip_exactly_as_selected(project, house, fake_pip):
    first = make_wheel(house, "first", files={"shared/x.py": b"first = 1\n"})
    second = make_wheel(house, "second", files={"shared/x.py": b"second = 2\n"})
    make_wheel(house, "first", "2.0", files={"shared/x.py": b"newer = 2\n"})  # pip would resolve to this one

    result = pipeline.build(selection_request(project, house, selection_of(first, second), "one"))

    assert [(dist.key, dist.version) for dist in result.distributions] == [("first", "1.0"), ("second", "1.0")]
    assert pip_kinds(fake_pip.commands) == ["install"]  # two wheels write shared/x.py: pip decides
    assert "--no-deps" in fake_pip.commands[0]
