"""pip-lambda diff OLD NEW: zips, folders and reports compared by names, sizes and CRC-32s, grouped by owner."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from pip_lambda.archive.contents import Contents, FileInfo, Installed, Source, read_contents
from pip_lambda.archive.reader import ZipReader
from pip_lambda.report.diff import compare, diff_json, diff_lines

from conftest import make_wheel

DIFF_SCHEMA = json.loads(resources.files("pip_lambda").joinpath("data/diff.schema.json").read_text("utf-8"))


def contents(files: dict[str, tuple[int, int]], dists: dict[str, tuple[str, list[str]]], zipped: int | None = 100):
    infos = {name: FileInfo(size, crc, False, size) for name, (size, crc) in files.items()}
    installed = tuple(Installed(name, version, tuple(owned)) for name, (version, owned) in sorted(dists.items()))
    return Contents(Path("x.zip"), Source.ZIP, infos, installed, zipped)


# --- the comparison itself ----------------------------------------------------------------------


def test_the_same_files_are_equal_whatever_their_compression():
    old = contents({"a/__init__.py": (10, 1)}, {"a": ("1.0", ["a/__init__.py"])})
    recompressed = Contents(
        Path("y.zip"), Source.ZIP, {"a/__init__.py": FileInfo(10, 1, False, 3)}, old.distributions, 90
    )
    diff = compare(old, recompressed)
    assert diff.equal
    assert diff_lines(diff)[-1] == "no differences: 1 files, 1 distributions"


def test_distributions_added_removed_and_changed_with_their_files_grouped_by_owner():
    old = contents(
        {
            "req/api.py": (100, 1),
            "req/old.py": (50, 2),
            "req-1.0.dist-info/METADATA": (20, 3),
            "gone/__init__.py": (5, 4),
            "gone-1.0.dist-info/METADATA": (20, 5),
            "app.py": (30, 6),
        },
        {
            "req": ("1.0", ["req/api.py", "req/old.py", "req-1.0.dist-info/METADATA"]),
            "gone": ("1.0", ["gone/__init__.py", "gone-1.0.dist-info/METADATA"]),
        },
        zipped=1000,
    )
    new = contents(
        {
            "req/api.py": (120, 7),
            "req/new.py": (40, 8),
            "req-2.0.dist-info/METADATA": (20, 9),
            "fresh/__init__.py": (5, 10),
            "fresh-3.0.dist-info/METADATA": (20, 11),
            "app.py": (33, 12),
        },
        {
            "req": ("2.0", ["req/api.py", "req/new.py", "req-2.0.dist-info/METADATA"]),
            "fresh": ("3.0", ["fresh/__init__.py", "fresh-3.0.dist-info/METADATA"]),
        },
        zipped=1100,
    )
    diff = compare(old, new)
    assert not diff.equal
    assert [(d.name, d.old, d.new) for d in diff.distributions] == [
        ("fresh", None, "3.0"),
        ("gone", "1.0", None),
        ("req", "1.0", "2.0"),
    ]
    groups = {group.name: group for group in diff.groups}
    assert list(groups) == ["fresh", "gone", "req", "-"]  # files no RECORD lists last
    req = groups["req"]
    assert [c.path for c in req.of_kind("added")] == ["req/new.py", "req-2.0.dist-info/METADATA"]
    assert [c.path for c in req.of_kind("removed")] == ["req/old.py", "req-1.0.dist-info/METADATA"]
    assert [c.path for c in req.of_kind("changed")] == ["req/api.py"]
    assert [c.path for c in groups["gone"].of_kind("removed")] == ["gone/__init__.py", "gone-1.0.dist-info/METADATA"]
    assert [c.path for c in groups["-"].of_kind("changed")] == ["app.py"]
    text = "\n".join(diff_lines(diff))
    assert "distributions: 1 added, 1 removed, 1 changed" in text
    assert "  ~ req 1.0 -> 2.0" in text and "  + fresh 3.0" in text and "  - gone 1.0" in text
    assert "  req 1.0 -> 2.0: 2 added, 2 removed, 1 changed (+10 B)" in text
    assert "    ~ app.py (+3 B)" in text
    assert text.endswith("size: unzipped 225 B -> 238 B (+13 B), zipped 1000 B -> 1.1 KiB (+100 B)")
    document = diff_json(diff)
    jsonschema.validate(document, DIFF_SCHEMA, cls=jsonschema.Draft202012Validator)
    assert document["distributions"]["changed"] == [{"name": "req", "old_version": "1.0", "new_version": "2.0"}]
    assert document["size"]["zipped"] == {"old": 1000, "new": 1100, "change": 100}


def test_an_executable_bit_alone_is_a_change():
    old = contents({"run.sh": (5, 1)}, {})
    new = Contents(Path("n"), Source.FOLDER, {"run.sh": FileInfo(5, 1, True)}, (), None)
    diff = compare(old, new)
    assert [change.kind for group in diff.groups for change in group.changes] == ["changed"]
    assert diff_lines(diff)[-1].endswith("zipped: not known for a folder or a build without a zip")


def test_long_lists_are_cut_in_text_but_complete_in_json():
    old = contents({}, {})
    new = contents({f"f{n:02}.py": (1, n) for n in range(25)}, {})
    diff = compare(old, new)
    assert "    ... and 15 more (-v lists every file)" in diff_lines(diff)
    assert len([line for line in diff_lines(diff, None) if line.startswith("    + ")]) == 25
    assert len(diff_json(diff)["files"][0]["added"]) == 25


# --- real packages: zips, folders, reports --------------------------------------------------------


@pytest.fixture
def two_builds(project, run, tmp_path):
    """build/old and build/new: a dependency bump (lib 1.0 -> 2.0), a new dependency, and an edited --code file."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "lib", "1.0", files={"lib/__init__.py": b"v = 1\n", "lib/old.py": b"x = 1\n"})
    make_wheel(wheels, "lib", "2.0", files={"lib/__init__.py": b"v = 2\n", "lib/new.py": b"y = 2\n"})
    make_wheel(wheels, "extra", "1.0")
    make_wheel(wheels, "same", "1.0")
    pip = ("--no-index", "--find-links", str(wheels))
    (project / "app.py").write_text("def handler(event, context):\n    return 1\n")
    old = ("-t", "build/old", "--report", "old.json", "lib==1.0", "same")
    assert run("install", "--runtime", "python3.12", *pip, "--code", "app.py", *old).exit_code == 0
    (project / "app.py").write_text("def handler(event, context):\n    return 2\n")
    new = ("-t", "build/new", "--report", "new.json", "lib==2.0", "same", "extra")
    result = run("install", "--runtime", "python3.12", *pip, "--code", "app.py", *new)
    assert result.exit_code == 0, result.err
    return project


@pytest.mark.usefixtures("fake_pip")
def test_a_zip_its_folder_and_its_report_are_equal_in_every_pairing(two_builds, run):
    forms = ["build/old.zip", "build/old", "old.json"]
    for first in forms:
        for second in forms:
            result = run("diff", first, second)
            assert (result.exit_code, result.err) == (0, ""), (first, second, result.out)
            assert "no differences: " in result.out


@pytest.mark.usefixtures("fake_pip")
@pytest.mark.parametrize(("old", "new"), [("build/old.zip", "build/new.zip"), ("old.json", "build/new")])
def test_a_dependency_bump_shows_versions_files_and_sizes(two_builds, run, old, new):
    result = run("diff", old, new)
    assert result.exit_code == 1, result.err
    lines = result.out.splitlines()
    assert "distributions: 1 added, 1 changed" in lines
    assert "  + extra 1.0" in lines and "  ~ lib 1.0 -> 2.0" in lines
    assert any(line.startswith("  lib 1.0 -> 2.0: ") for line in lines)
    for line in ("    + lib/new.py (+6 B)", "    - lib/old.py (-6 B)", "    ~ lib/__init__.py (+0 B)"):
        assert line in lines
    assert "  - (no distribution): 1 changed (+0 B)" in lines
    assert "    ~ app.py (+0 B)" in lines
    assert not any("same" in line for line in lines)
    assert lines[-1].startswith("size: unzipped ")


@pytest.mark.usefixtures("fake_pip")
def test_json_output_is_versioned_and_matches_its_schema(two_builds, run):
    result = run("diff", "--json", "build/old.zip", "new.json")
    assert result.exit_code == 1
    document = json.loads(result.out)
    jsonschema.Draft202012Validator.check_schema(DIFF_SCHEMA)
    jsonschema.validate(document, DIFF_SCHEMA, cls=jsonschema.Draft202012Validator)
    assert (document["schema"], document["version"], document["equal"]) == ("pip-lambda-diff", 1, False)
    assert (document["old"]["kind"], document["new"]["kind"]) == ("zip", "report")
    zipped = document["size"]["zipped"]
    assert zipped["old"] == (two_builds / "build/old.zip").stat().st_size
    assert zipped["new"] == (two_builds / "build/new.zip").stat().st_size
    assert zipped["change"] == zipped["new"] - zipped["old"]
    lib = next(group for group in document["files"] if group["distribution"] == "lib")
    assert [item["path"] for item in lib["added"]] == [
        "lib/new.py",
        "lib-2.0.dist-info/METADATA",
        "lib-2.0.dist-info/RECORD",
        "lib-2.0.dist-info/WHEEL",
        "lib-2.0.dist-info/top_level.txt",
    ]
    assert lib["changed"] == [{"path": "lib/__init__.py", "old_size": 6, "new_size": 6}]


@pytest.mark.usefixtures("fake_pip")
def test_quiet_prints_nothing_and_the_exit_code_tells(two_builds, run):
    assert (
        run("diff", "-q", "build/old.zip", "build/new.zip").exit_code,
        run("diff", "-q", "build/old", "old.json").exit_code,
    ) == (1, 0)
    assert run("diff", "-q", "build/old.zip", "build/new.zip").out == ""


@pytest.mark.usefixtures("fake_pip")
def test_a_zip_is_compared_without_reading_more_than_metadata_and_record(two_builds, run, monkeypatch):
    streamed: list[str] = []
    real = ZipReader.stream

    def stream(self, member, **kwargs):
        streamed.append(member.name)
        return real(self, member, **kwargs)

    monkeypatch.setattr(ZipReader, "stream", stream)
    assert run("diff", "build/old.zip", "build/new.zip").exit_code == 1
    assert streamed and all(name.endswith((".dist-info/METADATA", ".dist-info/RECORD")) for name in streamed)


@pytest.mark.usefixtures("fake_pip")
def test_a_zip_written_by_another_tool_from_the_same_tree_is_equal(two_builds, run):
    other = two_builds / "other.zip"
    with zipfile.ZipFile(other, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted((two_builds / "build/old").rglob("*")):
            if path.is_file() and path.name != ".pip-lambda-target":
                archive.write(path, path.relative_to(two_builds / "build/old").as_posix())
    result = run("diff", "build/old.zip", str(other))
    assert result.exit_code == 0, result.out + result.err


@pytest.mark.usefixtures("fake_pip")
def test_layers_compare_under_python_in_every_form(project, run, offline):
    for name in ("one", "two"):
        command = ("install", "--layer", "--runtime", "python3.12", *offline, "purepkg", "-t", f"build/{name}")
        assert run(*command, "--report", f"{name}.json").exit_code == 0
    assert run("diff", "build/one.zip", "two.json").exit_code == 0
    contents = read_contents(project / "one.json")
    assert "python/purepkg/__init__.py" in contents.files
    assert contents.distributions[0].files[0].startswith("python/purepkg")


# --- bad input: exit 2, one line --------------------------------------------------------------------


def _damaged(folder: Path) -> Path:
    good = folder / "good.zip"
    with zipfile.ZipFile(good, "w") as archive:
        archive.writestr("a.py", b"x" * 100)
    data = good.read_bytes()
    (folder / "cut.zip").write_bytes(data[: len(data) // 2])
    return folder / "cut.zip"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda folder: folder / "missing.zip", "does not exist"),
        (lambda folder: _write(folder / "notes.txt", "hello"), "is not a zip, a folder or a JSON report"),
        (_damaged, "is damaged"),
        (lambda folder: _write(folder / "other.json", '{"bomFormat": "CycloneDX"}'), "is not a pip-lambda report"),
        (lambda folder: _write(folder / "v2.json", '{"report_version": 2, "builds": []}'), "of version 2"),
        (lambda folder: _write(folder / "bad.json", "{nope"), "is not valid JSON"),
    ],
)
def test_bad_input_is_exit_2_in_one_line(tmp_path, run, make, words):
    good = tmp_path / "good"
    good.mkdir()
    result = run("diff", str(good), str(make(tmp_path)))
    assert result.exit_code == 2
    assert words in result.err and len(result.err.strip().splitlines()) == 1


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.usefixtures("fake_pip")
def test_reports_without_checksums_or_with_several_builds_need_a_word(project, run, offline):
    assert run("install", "--runtime", "python3.12", *offline, "purepkg", "--report", "r.json").exit_code == 0
    document = json.loads((project / "r.json").read_text())
    del document["builds"][0]["members"]
    (project / "old.json").write_text(json.dumps(document))
    result = run("diff", "old.json", "r.json")
    assert result.exit_code == 2 and "has no file checksums" in result.err
    document = json.loads((project / "r.json").read_text())
    document["builds"] = [dict(document["builds"][0], name="a"), dict(document["builds"][0], name="b")]
    (project / "two.json").write_text(json.dumps(document))
    result = run("diff", "two.json", "r.json")
    assert result.exit_code == 2 and "holds 2 builds (a, b)" in result.err and "--name" in result.err
    assert run("diff", "--name", "b", "two.json", "build/lambda.zip").exit_code == 0


def test_diff_needs_two_paths_and_its_help_has_an_example(run):
    assert run("diff", "only-one.zip").exit_code == 2
    result = run("diff", "--help")
    assert result.exit_code == 0 and "examples:" in result.out and "pip-lambda diff " in result.out
    assert "diff       show what changed" in run("--help").out


@pytest.mark.usefixtures("fake_pip")
def test_a_reader_that_stops_early_gets_the_exit_code_and_no_error(two_builds):
    command = [sys.executable, "-m", "pip_lambda", "diff", "-v", "build/old.zip", "build/new.zip"]
    with subprocess.Popen(command, cwd=two_builds, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # like `| head -0`: the reader is gone before anything is written
        errors = process.stderr.read().decode()
        assert (process.wait(timeout=60), errors) == (1, "")
