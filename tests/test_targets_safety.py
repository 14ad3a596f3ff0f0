"""Output anywhere that is safe: which targets are refused and which are fine, and nothing of pip-lambda's left behind.

The layout of the table: a home folder, a project elsewhere with the current
folder inside it, and places outside both (a CI runner's temporary folder, a
monorepo's dist/, SAM's .aws-sam/build/Fn), some reached through symlinks.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pip_lambda.errors import EXIT_OK, EXIT_UNSAFE_PATH, UnsafePathError
from pip_lambda.system import state
from pip_lambda.tree.staging import LEGACY_MARKER, check_target

from conftest import zip_names


@dataclass(frozen=True)
class Place:
    root: Path
    home: Path
    project: Path
    cwd: Path


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Place:
    """tmp/users/me is home; tmp/work/repo the project (pyproject.toml); the current folder is repo/fn."""
    home = tmp_path / "users" / "me"
    project = tmp_path / "work" / "repo"
    cwd = project / "fn"
    for folder in (home, cwd, tmp_path / "elsewhere"):
        folder.mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (cwd / "app.py").write_text("x = 1\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    return Place(tmp_path, home, project, cwd)


def _link(name: str, to: str) -> Callable[[Place], None]:
    def setup(place: Place) -> None:
        (place.cwd / name).symlink_to(place.root / to, target_is_directory=True)

    return setup


def _files(*names: str) -> Callable[[Place], None]:
    def setup(place: Place) -> None:
        for name in names:
            path = place.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("mine\n")

    return setup


def _nothing(place: Place) -> None:
    pass


def _both(*setups: Callable[[Place], None]) -> Callable[[Place], None]:
    def setup(place: Place) -> None:
        for each in setups:
            each(place)

    return setup


@dataclass(frozen=True)
class Refused:
    id: str
    target: str
    """Relative to the current folder, or with {root} for an absolute path."""
    words: str
    setup: Callable[[Place], None] = _nothing
    code: tuple[str, ...] = ()


# fmt: off
REFUSED = [
    Refused("root", "/", "refusing to use the file system root (/)"),
    Refused("home", "{root}/users/me", "refusing to use your home folder"),
    Refused("above-home", "{root}/users", "it contains your home folder"),
    Refused("current-folder", ".", "refusing to use the current folder (.)"),
    Refused("project", "..", "refusing to use the project folder (..)"),
    Refused("above-the-project", "../..", "it contains the current folder"),
    Refused("holds-the-code", "../lib", "it holds --code ../lib/handler.py, which every build would delete",
            _files("work/repo/lib/handler.py"), code=("../lib/handler.py",)),
    Refused("symlink-to-home", "homelink", "refusing to use your home folder (homelink)", _link("homelink", "users/me")),
    Refused("symlink-to-the-project", "repolink", "refusing to use the project folder (repolink)",
            _link("repolink", "work/repo")),
    Refused("through-a-symlinked-parent-to-the-project", "worklink/repo", "refusing to use the project folder",
            _link("worklink", "work")),
    Refused("symlink-to-a-safe-folder", "outlink", "it is a symbolic link", _link("outlink", "elsewhere")),
    Refused("not-empty-not-ours", "{root}/elsewhere", "it is not empty and pip-lambda did not create it",
            _files("elsewhere/notes.txt")),
    Refused("not-ours-through-a-symlinked-parent", "outlink/data", "it is not empty and pip-lambda did not create it",
            _both(_files("elsewhere/data/notes.txt"), _link("outlink", "elsewhere"))),
    Refused("a-file", "{root}/elsewhere/fn", "is a file, not a folder", _files("elsewhere/fn")),
    Refused("checkout", "{root}/elsewhere", "version-control checkout (.git)", _files("elsewhere/.git/HEAD")),
]
# fmt: on


@pytest.mark.parametrize("case", REFUSED, ids=[case.id for case in REFUSED])
def test_unsafe_targets_are_refused(place, case):
    case.setup(place)
    with pytest.raises(UnsafePathError, match=re.escape(case.words)):
        check_target(Path(case.target.format(root=place.root)), [Path(path) for path in case.code])


ALLOWED = [
    ("inside-the-project", "build/lambda", _nothing),
    ("monorepo-dist", "../../dist/fn", _nothing),
    ("ci-temporary-folder", "{root}/elsewhere/fn", _nothing),
    ("inside-home-outside-the-project", "{root}/users/me/builds/fn", _nothing),
    ("an-existing-empty-folder", "{root}/elsewhere", _nothing),
    (
        "sam-artifacts-dir",
        "../.aws-sam/build/Fn",
        lambda place: (place.project / ".aws-sam/build/Fn").mkdir(parents=True),
    ),
    ("through-a-symlinked-parent", "outlink/fn", _link("outlink", "elsewhere")),
    ("through-a-symlinked-parent-into-home", "homelink/fn", _link("homelink", "users/me")),
]


@pytest.mark.parametrize(("target", "setup"), [case[1:] for case in ALLOWED], ids=[case[0] for case in ALLOWED])
def test_any_other_place_is_fine(place, target, setup):
    setup(place)
    check_target(Path(target.format(root=place.root)), [Path("app.py")])


def _build(run: Callable[..., object], *args: str) -> object:
    return run("install", "--runtime", "python3.12", "--code", "app.py", *args)


def _pip_lambdas_own(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if "pip-lambda" in path.name)


def test_a_target_outside_the_project_needs_no_override_and_leaves_nothing_of_pip_lambdas(place, run):
    target = place.root / "elsewhere" / "fn"
    result = _build(run, "-t", str(target))
    assert result.exit_code == EXIT_OK, result.err
    assert sorted(path.name for path in target.iterdir()) == ["app.py"]
    assert sorted(path.name for path in target.parent.iterdir()) == ["fn", "fn.zip"]
    assert zip_names(target.parent / "fn.zip") == ["app.py"]
    again = _build(run, "-t", str(target))  # the state folder, not a marker file, says the folder is ours
    assert again.exit_code == EXIT_OK, again.err


def test_allow_outside_project_is_still_accepted_with_a_note(place, run, monkeypatch):
    result = _build(run, "-t", "../../dist/fn", "--allow-outside-project")
    assert result.exit_code == EXIT_OK, result.err
    assert "allow-outside-project is no longer needed" in result.err
    monkeypatch.setenv("PIP_LAMBDA_ALLOW_OUTSIDE_PROJECT", "1")
    assert _build(run, "-t", "../../dist/fn").exit_code == EXIT_OK


def test_an_existing_empty_folder_is_filled_and_then_ours(place, run):
    artifacts = place.project / ".aws-sam" / "build" / "Fn"
    artifacts.mkdir(parents=True)
    assert _build(run, "-t", str(artifacts), "--no-zip").exit_code == EXIT_OK
    assert sorted(os.listdir(artifacts)) == ["app.py"]
    assert sorted(os.listdir(artifacts.parent)) == ["Fn"]
    assert _build(run, "-t", str(artifacts), "--no-zip").exit_code == EXIT_OK


def test_a_target_on_another_file_system(place, run):
    other = Path("/dev/shm")
    if not other.is_dir() or not os.access(other, os.W_OK) or other.stat().st_dev == place.root.stat().st_dev:
        pytest.skip("no other writable file system at /dev/shm")
    folder = Path(os.path.realpath(other)) / f"pip-lambda-test-{os.getpid()}-{place.root.name}"
    try:
        assert _build(run, "-t", str(folder / "fn")).exit_code == EXIT_OK
        assert sorted(os.listdir(folder)) == ["fn", "fn.zip"]
        assert _build(run, "-t", str(folder / "fn")).exit_code == EXIT_OK
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_folder_pip_lambda_made_is_refused_once_its_state_is_gone(place, run, isolated_state):
    assert _build(run, "--no-zip").exit_code == EXIT_OK
    shutil.rmtree(isolated_state)  # a fresh container with the project mounted
    result = _build(run, "--no-zip")
    assert result.exit_code == EXIT_UNSAFE_PATH
    assert "it is not empty and pip-lambda did not create it" in result.err
    assert f"pip-lambda remembers the folders it made in {isolated_state}" in result.err


def test_without_its_state_a_folder_holding_exactly_its_zips_files_is_still_replaced(place, run, isolated_state):
    assert _build(run).exit_code == EXIT_OK
    shutil.rmtree(isolated_state)
    assert _build(run).exit_code == EXIT_OK  # build/lambda holds what build/lambda.zip holds: nothing is lost
    shutil.rmtree(isolated_state)
    (place.cwd / "build" / "lambda" / "notes.txt").write_text("mine")
    result = _build(run)
    assert result.exit_code == EXIT_UNSAFE_PATH, result.err
    assert (place.cwd / "build" / "lambda" / "notes.txt").read_text() == "mine"


def test_a_file_added_to_our_target_is_replaced_with_it(place, run):
    assert _build(run).exit_code == EXIT_OK
    (place.cwd / "build" / "lambda" / "scratch.txt").write_text("x")
    assert _build(run).exit_code == EXIT_OK
    assert not (place.cwd / "build" / "lambda" / "scratch.txt").exists()


def test_a_new_folder_at_the_same_place_is_not_vouched_for_by_an_old_record(place, tmp_path):
    target = tmp_path / "elsewhere" / "fn"
    target.mkdir()
    found = state.identity(target)
    assert found is not None
    state.expect(target, state.Made(found, frozenset({"app.py", "purepkg"})))
    (target / "notes.txt").write_text("mine")  # as if our folder was deleted and its inode reused by this one
    assert not state.vouches(target)
    (target / "purepkg").mkdir()
    assert state.vouches(target)
    state.settle(target.parent / "gone")
    assert state.vouches(target)
    target.rename(target.with_name("moved"))
    state.settle(target)
    assert not (state.state_root() / "targets").exists() or not any((state.state_root() / "targets").iterdir())


def test_a_damaged_record_vouches_for_nothing(place, tmp_path):
    target = tmp_path / "elsewhere"
    (target / "app.py").write_text("x")
    found = state.identity(target)
    assert found is not None
    state.expect(target, state.Made(found, frozenset({"app.py"})))
    assert state.vouches(target)
    (record,) = (state.state_root() / "targets").iterdir()
    record.write_text('{"pip_lambda_state": 1, "path": ')
    assert not state.vouches(target)


def test_a_target_an_older_version_marked_is_ours_once_and_the_marker_is_gone(place, run):
    old = place.cwd / "build" / "lambda"
    old.mkdir(parents=True)
    (old / LEGACY_MARKER).write_text("created by pip-lambda; the whole folder is replaced on every build\n")
    (old / "stale.py").write_text("x = 0\n")
    assert _build(run).exit_code == EXIT_OK
    assert sorted(os.listdir(old)) == ["app.py"]
    with zipfile.ZipFile(place.cwd / "build" / "lambda.zip") as archive:
        assert archive.namelist() == ["app.py"]
    assert _pip_lambdas_own(place.cwd / "build") == []
    assert _build(run).exit_code == EXIT_OK  # and now the state vouches for it


def test_a_layer_built_into_an_existing_empty_folder_keeps_python_at_its_root(place, run):
    artifacts = place.root / "elsewhere" / "Layer"
    artifacts.mkdir()
    assert _build(run, "--layer", "-t", str(artifacts), "--no-zip").exit_code == EXIT_OK
    assert sorted(os.listdir(artifacts)) == ["python"]
    assert sorted(os.listdir(artifacts / "python")) == ["app.py"]


def test_a_state_folder_that_cannot_be_used_is_one_clear_line(place, run, monkeypatch, tmp_path):
    blocked = tmp_path / "state-is-a-file"
    blocked.write_text("")
    monkeypatch.setenv("PIP_LAMBDA_STATE_DIR", str(blocked))
    result = _build(run)
    assert result.exit_code == 7
    assert result.err.splitlines()[-1] == (
        f"error: cannot use pip-lambda's state folder {blocked / 'locks'}: Not a directory; make it writable, "
        "or set PIP_LAMBDA_STATE_DIR to a writable folder; the previous package was left as it was"
    )


def test_without_its_state_links_in_the_folder_count_as_the_zip_holds_them(place, run, isolated_state):
    (place.cwd / "src" / "lib" / "v1").mkdir(parents=True)
    (place.cwd / "src" / "lib" / "v1" / "x.py").write_text("v = 1\n")
    (place.cwd / "src" / "current").symlink_to("lib/v1", target_is_directory=True)
    assert _build(run, "--code", "src").exit_code == EXIT_OK
    assert "src/current/x.py" in zip_names(place.cwd / "build" / "lambda.zip")
    shutil.rmtree(isolated_state)
    result = _build(run, "--code", "src")
    assert result.exit_code == EXIT_OK, result.err


def test_a_new_target_folder_is_readable_by_others_like_one_mkdir_makes(project, run, offline):
    assert run("install", "--runtime", "python3.12", *offline, "purepkg").exit_code == 0
    assert (project / "build/lambda").stat().st_mode & 0o777 == 0o755
