"""--exclude PATTERN and --exclude-package NAME: globs on package paths, whole distributions with their .dist-info."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pip_lambda.errors import EXIT_USAGE
from pip_lambda.trim.exclude import matching

from conftest import make_wheel, zip_names


@pytest.mark.parametrize(
    ("pattern", "path", "excluded"),
    [
        ("*.md", "README.md", True),
        ("*.md", "pkg/sub/NOTES.md", True),
        ("*.md", "pkg/readme.mdx", False),
        ("tests", "pkg/tests/test_a.py", True),
        ("tests", "tests/conftest.py", True),
        ("tests", "pkg/tests_util.py", False),
        ("pkg/data", "pkg/data/big.bin", True),
        ("pkg/data", "other/pkg/data/big.bin", False),
        ("/pkg", "pkg/x.py", True),
        ("pkg/*/fixtures", "pkg/a/fixtures/f.json", True),
        ("pkg/*/fixtures", "pkg/a/b/fixtures/f.json", False),
        ("pkg/**/fixtures", "pkg/a/b/fixtures/f.json", True),
        ("pkg/**/fixtures", "pkg/fixtures/f.json", True),
        ("**/*.txt", "a/b/c.txt", True),
        ("data?.csv", "pkg/data1.csv", True),
        ("data?.csv", "pkg/data10.csv", False),
        ("[!a]b.py", "pkg/cb.py", True),
        ("[!a]b.py", "pkg/ab.py", False),
        ("*.dist-info", "pkg-1.0.dist-info/METADATA", True),
        ("docs/", "pkg/docs/index.rst", True),
        ("pkg/**", "pkg/a/b.py", True),
        ("a*", "xa/b.py", False),
        ("\\!x.py", "pkg/!x.py", True),
    ],
)
def test_patterns_match_like_gitignore(pattern, path, excluded):
    assert (matching([path], [pattern]) == [path]) is excluded


def test_a_later_negated_pattern_brings_a_file_back():
    paths = ["README.md", "pkg/NOTES.md", "pkg/a.py"]
    assert matching(paths, ["*.md", "!README.md"]) == ["pkg/NOTES.md"]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("/", "matches nothing"),
        ("#comment", "matches nothing"),
        ("a[", "matches nothing"),
        ("[z-a]x", "is not a valid pattern (bad character range z-a)"),
        ("!", "is not a valid pattern"),
        ("pkg\\", "is not a valid pattern"),
    ],
)
def test_a_bad_pattern_is_one_usage_line_before_pip_runs(project, run, pattern, message):
    (project / "app.py").write_text("x = 1\n")
    result = run("install", "--runtime", "python3.12", "--exclude", pattern, "--code", "app.py", "nosuchpkg")
    assert result.exit_code == EXIT_USAGE, result.err
    assert f"--exclude {pattern!r} {message}" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not (project / "build").exists()


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exclude-house")
    make_wheel(
        folder,
        "fat",
        files={
            "fat/__init__.py": b"x = 1\n",
            "fat/README.md": b"# fat\n",
            "fat/docs/guide.txt": b"guide\n",
            "fat/data/table.csv": b"a,b\n",
            "nspkg/__init__.py": b"",
            "nspkg/fat_part.py": b"",
        },
        scripts=["fat-cli"],
    )
    make_wheel(folder, "lean", requires=["fat"], files={"lean/__init__.py": b"", "nspkg/__init__.py": b""})
    return folder


@pytest.fixture
def local(house: Path) -> list[str]:
    return ["--runtime", "python3.12", "--no-index", "--find-links", str(house)]


def test_exclude_removes_matching_files_and_their_record_rows(project, run, local):
    result = run("install", *local, "fat", "--exclude", "*.md", "--exclude", "fat/docs")
    assert result.exit_code == 0, result.err
    names = set(zip_names(project / "build/lambda.zip"))
    assert "fat/README.md" not in names
    assert not [name for name in names if name.startswith("fat/docs")]
    assert {"fat/__init__.py", "fat/data/table.csv", "fat-1.0.dist-info/METADATA"} <= names
    record = (project / "build/lambda/fat-1.0.dist-info/RECORD").read_text()
    assert "README.md" not in record and "fat/docs" not in record
    assert "fat/__init__.py" in record
    assert re.search(r"\n  exclude +-[\d,]+ B", result.out)


def test_exclude_applies_to_code_too(project, run, local):
    (project / "app").mkdir()
    (project / "app" / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    (project / "app" / "notes.md").write_text("private\n")
    result = run("install", *local, "fat", "--code", "app", "--exclude", "*.md")
    assert result.exit_code == 0, result.err
    names = set(zip_names(project / "build/lambda.zip"))
    assert "app/handler.py" in names and "app/notes.md" not in names


def test_exclude_can_take_dist_info_when_asked(project, run, local):
    result = run("install", *local, "fat", "--exclude", "*.dist-info")
    assert result.exit_code == 0, result.err
    assert not [name for name in zip_names(project / "build/lambda.zip") if ".dist-info" in name]


def test_exclude_package_takes_its_files_and_dist_info_only(project, run, local):
    result = run("install", *local, "lean", "--exclude-package", "FAT")
    assert result.exit_code == 0, result.err
    names = set(zip_names(project / "build/lambda.zip"))
    assert not [name for name in names if name.startswith(("fat/", "fat-1.0.dist-info"))]
    assert "nspkg/fat_part.py" not in names
    # lean also lists nspkg/__init__.py, so the shared file stays.
    assert {"lean/__init__.py", "lean-1.0.dist-info/METADATA", "nspkg/__init__.py"} <= names
    assert "left out:      fat==1.0" in result.out
    assert "distributions: lean==1.0\n" in result.out


def test_exclude_package_warns_about_a_name_not_installed(project, run, local):
    result = run("install", *local, "lean", "--exclude-package", "nothere")
    assert result.exit_code == 0, result.err
    assert "warning: --exclude-package nothere: not installed, nothing left out" in result.err
    assert "fat/__init__.py" in zip_names(project / "build/lambda.zip")


def test_no_option_means_no_trim_summary(project, run, local):
    result = run("install", *local, "fat")
    assert result.exit_code == 0, result.err
    assert "trim steps" not in result.out
