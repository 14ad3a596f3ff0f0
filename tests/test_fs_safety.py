"""File system safety: which targets are refused, what is ever deleted, and zip members that cannot escape."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from pip_lambda.archive.writer import Entry, collect_entries, write_zip
from pip_lambda.errors import EXIT_UNSAFE_PATH, UnsafePathError
from pip_lambda.tree.staging import LEGACY_MARKER, MARKER, check_target, project_root, remove_ours

from conftest import zip_names


@pytest.fixture
def nested(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with a pyproject.toml, the current folder two levels below it."""
    root = tmp_path / "repo"
    (root / "services" / "fn").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    monkeypatch.chdir(root / "services" / "fn")
    return root


def test_the_project_is_the_nearest_folder_up_with_a_project_file(nested, tmp_path):
    assert project_root() == nested
    assert project_root(tmp_path) == tmp_path.resolve()


def test_a_target_anywhere_inside_the_project_is_accepted(nested):
    check_target(Path("build/lambda"))
    check_target(Path("../../dist/fn"))


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("../..", "refusing to use the project folder"),
        ("../../..", "it contains the current folder"),
    ],
)
def test_the_project_and_folders_above_it_are_refused(nested, target, words):
    with pytest.raises(UnsafePathError, match=words):
        check_target(Path(target))


def test_the_home_folder_is_refused(project, run, monkeypatch):
    (project / "home").mkdir()
    monkeypatch.setenv("HOME", str(project / "home"))
    (project / "app.py").write_text("x = 1\n")
    result = run("install", "--runtime", "python3.12", "--code", "app.py", "-t", "home")
    assert result.exit_code == EXIT_UNSAFE_PATH
    assert "refusing to use your home folder (home)" in result.err


def test_a_marked_folder_that_is_also_a_checkout_is_refused(project):
    (project / "build" / "lambda" / ".git").mkdir(parents=True)
    (project / "build" / "lambda" / LEGACY_MARKER).write_text("")
    with pytest.raises(UnsafePathError, match="version-control checkout"):
        check_target(Path("build/lambda"))


def test_an_installed_module_at_the_top_of_our_own_target_is_fine(project, run, offline):
    assert run("install", "--runtime", "python3.12", *offline, "purepkg").exit_code == 0
    (project / "build" / "lambda" / "six.py").write_text("")  # as a single-module distribution installs
    assert run("install", "--runtime", "python3.12", *offline, "purepkg").exit_code == 0


def test_remove_ours_leaves_unmarked_folders_and_symlinks_alone(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    remove_ours(foreign)
    marked = tmp_path / "marked"
    marked.mkdir()
    (marked / MARKER).write_text("")
    link = tmp_path / "link"
    link.symlink_to(marked)
    remove_ours(link)
    assert (foreign / "keep.txt").exists() and marked.exists()
    remove_ours(marked)
    assert not marked.exists()


# --- zip members -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../evil.py", "/etc/passwd", "a/../../b", "C:/x.py", "a\\..\\b", "a//b", "./a", ""])
def test_members_that_could_escape_are_refused(tmp_path, name):
    source = tmp_path / "f"
    source.write_text("x")
    with pytest.raises(UnsafePathError, match="could land outside the package root"):
        write_zip([Entry(name, source, stat.S_IFREG | 0o644)], tmp_path / "out.zip")
    assert not (tmp_path / "out.zip").exists()


def test_a_symlink_pointing_outside_the_tree_is_refused(tmp_path):
    (tmp_path / "secret.txt").write_text("private")
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "leak").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(UnsafePathError, match="outside the package"):
        collect_entries(root)


def test_symlinks_inside_the_tree_are_stored_as_their_targets_content(tmp_path):
    root = tmp_path / "pkg"
    (root / "real").mkdir(parents=True)
    (root / "real" / "mod.py").write_text("x = 1\n")
    (root / "alias.py").symlink_to(root / "real" / "mod.py")
    (root / "alias_dir").symlink_to(Path("real"))
    write_zip(collect_entries(root), tmp_path / "out.zip")
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.read("alias.py") == b"x = 1\n"
        assert archive.read("alias_dir/mod.py") == b"x = 1\n"
        assert all(not stat.S_ISLNK(info.external_attr >> 16) for info in archive.infolist())


def test_a_symlink_loop_is_refused(tmp_path):
    root = tmp_path / "pkg"
    (root / "a").mkdir(parents=True)
    (root / "a" / "up").symlink_to(Path(".."))
    with pytest.raises(UnsafePathError, match="a loop"):
        collect_entries(root)


def test_code_with_an_outside_symlink_fails_before_anything_is_replaced(project, run):
    (project / "app").mkdir()
    (project / "app" / "main.py").write_text("x = 1\n")
    assert run("install", "--runtime", "python3.12", "--code", "app").exit_code == 0
    before = (project / "build/lambda.zip").read_bytes()
    os.symlink("/etc/hostname", project / "app" / "host")
    result = run("install", "--runtime", "python3.12", "--code", "app")
    assert result.exit_code == EXIT_UNSAFE_PATH
    assert "refusing to zip the symlink" in result.err
    assert (project / "build/lambda.zip").read_bytes() == before
    assert zip_names(project / "build/lambda.zip") == ["app/", "app/main.py"]
