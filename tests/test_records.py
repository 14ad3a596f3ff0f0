"""RECORD read and written through installer.records, pip's --target rows mapped, dist-info read through importlib.metadata.

Also: the package does not depend on the Python that runs pip.  pip places a
wheel's ``.data/headers`` by that Python (``include/site/python3.X/<dist>/``
from a virtual environment, ``include/python/<dist>/`` otherwise); headers
are left out, scripts go as before, data files stay where pip put them.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import pytest
from installer.records import Hash, RecordEntry, parse_record_file

from pip_lambda.tree.clean import clean_site
from pip_lambda.tree.distributions import find_distributions, read_distribution, read_metadata
from pip_lambda.tree.paths import confined, located, remove_files
from pip_lambda.tree.records import (
    dist_info_folders,
    entry_for,
    read_record,
    target_scheme_path,
    update_record,
    write_record,
)

from conftest import make_wheel, zip_names


def dist_info(site: Path, name: str = "pkg", record: str | None = None, metadata: bytes | None = None) -> Path:
    folder = site / f"{name}-1.0.dist-info"
    folder.mkdir(parents=True)
    (folder / "METADATA").write_bytes(metadata or f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode())
    if record is not None:
        (folder / "RECORD").write_text(record, "utf-8")
    return folder


def rows(folder: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO((folder / "RECORD").read_text("utf-8"))))


@pytest.mark.parametrize(
    ("row", "path"),
    [
        ("pkg/mod.py", "pkg/mod.py"),
        ("./pkg//mod.py", "pkg/mod.py"),
        ("pkg\\mod.py", "pkg/mod.py"),
        ("pkg/a:b.py", "pkg/a:b.py"),
        ("../../bin/tool", "bin/tool"),
        ("../../include/site/python3.12/pkg/pkg.h", "include/site/python3.12/pkg/pkg.h"),
        ("../../share/pkg/data.txt", "share/pkg/data.txt"),
        ("..\\..\\share\\x", "share/x"),
        ("../../../x", None),
        ("../../a/../../x", None),
        ("../x", None),
        ("pkg/../../x", None),
        ("pkg/tests/../../../../pyproject.toml", None),
        ("pkg\\..\\..\\x", None),
        ("/etc/passwd", None),
        ("\\\\server\\share", None),
        ("C:/x", None),
        ("../..//etc/passwd", None),
        ("pkg/\x00/x", None),
        ("", None),
        (".", None),
    ],
)
def test_pips_target_rows_map_into_the_target_or_nowhere(row, path):
    assert target_scheme_path(row) == path


def test_read_maps_rows_and_sets_aside_escaping_ones_and_headers(tmp_path):
    record = (
        "pkg/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\r\n"
        "../../include/site/python3.11/pkg/pkg.h,,\r\n"
        "../../share/pkg/x.dat,,5\r\n"
        "pkg/tests/../../../../pyproject.toml,,\r\n"
        "pkg-1.0.dist-info/RECORD,,\r\n"
    )
    read = read_record(dist_info(tmp_path, record=record))
    assert read.paths == (
        "pkg/__init__.py",
        "include/site/python3.11/pkg/pkg.h",
        "share/pkg/x.dat",
        "pkg-1.0.dist-info/RECORD",
    )
    assert read.entries[0].hash_ == Hash("sha256", "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")
    assert read.entries[2].size == 5
    assert read.escaping == ("pkg/tests/../../../../pyproject.toml",)
    assert read.headers == ("include/site/python3.11/pkg/pkg.h",)


def test_malformed_rows_are_dropped_and_the_rest_kept(tmp_path):
    record = (
        "pkg/a.py,,\n"
        "only-a-path\n"
        "pkg/b.py,sha256=x,12,extra\n"
        "pkg/c.py,nohash,1\n"
        "pkg/d.py,md17=abc,1\n"
        "pkg/e.py,,lots\n"
        ",,\n"
        '"pkg/f.py,,\n'
        "\n"
        "pkg/g.py,,\n"
    )
    assert read_record(dist_info(tmp_path, record=record)).paths == ("pkg/a.py", "pkg/g.py")


def test_no_record_reads_as_empty(tmp_path):
    assert read_record(dist_info(tmp_path)).entries == ()


def test_written_records_read_back_through_installer(tmp_path):
    folder = dist_info(tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/a,b.py").write_bytes(b"x = 1\n")
    entries = [entry_for(tmp_path, "pkg/a,b.py"), RecordEntry("pkg-1.0.dist-info/RECORD", None, None)]
    write_record(folder, entries)
    lines = (folder / "RECORD").read_text("utf-8").splitlines()
    parsed = [RecordEntry.from_elements(*row) for row in parse_record_file(lines)]
    assert parsed == entries
    assert parsed[0].validate_stream(io.BytesIO(b"x = 1\n"))
    assert read_record(folder).entries == tuple(entries)


def test_update_drops_rows_of_gone_files_refreshes_changed_ones_and_reports_escapes(tmp_path):
    site = tmp_path / "site"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg/kept.py").write_bytes(b"kept\n")
    (site / "pkg/changed.so").write_bytes(b"smaller")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/x.py").write_bytes(b"")
    (site / "pkg/link").symlink_to(tmp_path / "outside")
    record = "pkg/kept.py,,\npkg/gone.py,,\npkg/changed.so,sha256=old,100\npkg/link/x.py,,\n/abs,,\npkg-1.0.dist-info/RECORD,,\n"
    folder = dist_info(site, record=record)
    escaping = update_record(site, folder, changed={"pkg/changed.so"})
    assert escaping == ("/abs", "pkg/link/x.py")
    assert rows(folder) == [
        ["pkg/kept.py", "", ""],
        [*entry_for(site, "pkg/changed.so").to_row()],
        ["pkg-1.0.dist-info/RECORD", "", ""],
    ]
    assert rows(folder)[1][2] == "7"


def test_update_never_creates_a_record_and_never_writes_through_a_symlink(tmp_path):
    site = tmp_path / "site"
    without = dist_info(site, "norecord")
    update_record(site, without)
    assert not (without / "RECORD").exists()
    victim = tmp_path / "victim.txt"
    victim.write_text("pkg/a.py,,\n")
    linked = dist_info(site, "linked")
    (linked / "RECORD").symlink_to(victim)
    update_record(site, linked)
    assert victim.read_text() == "pkg/a.py,,\n"
    assert not (linked / "RECORD").is_symlink()


def test_a_symlink_posing_as_a_dist_info_folder_is_not_one(tmp_path):
    site = tmp_path / "site"
    real = dist_info(site, "real")
    elsewhere = dist_info(tmp_path / "elsewhere", "evil")
    (site / elsewhere.name).symlink_to(elsewhere)
    assert dist_info_folders(site) == [real]
    assert [dist.name for dist in find_distributions(site)] == ["real"]


# --- tree/paths.py ------------------------------------------------------------------------


def test_confined_refuses_everything_that_could_leave_the_root():
    for hostile in ("/x", "\\x", "C:x", "c:/x", "..", "a/../..", "a/../../b", "a\\..\\..\\b", "a\x00b", "", "."):
        assert confined(hostile) is None, hostile
    assert confined("a/./b/../c") == "a/c"


def test_located_refuses_a_path_through_a_symlinked_folder_pointing_outside(tmp_path):
    site = tmp_path / "site"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg/inner").mkdir()
    (site / "pkg/in").symlink_to(site / "pkg/inner")
    (site / "pkg/out").symlink_to(tmp_path)
    (site / "pkg/loop").symlink_to(site / "pkg/loop")
    found = located(site, ["pkg/in/x", "pkg/out/x", "pkg/loop/x", "pkg/out", "../x"])
    assert found == {"pkg/in/x": (site / "pkg/inner/x").resolve(), "pkg/out": site.resolve() / "pkg/out"}


def test_remove_files_stays_inside_and_prunes_only_emptied_folders(tmp_path):
    site = tmp_path / "site"
    for name in ("a/b/c.py", "a/keep.py", "d/e.py"):
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(b"12345")
    outside = tmp_path / "outside.py"
    outside.write_bytes(b"")
    (site / "link.py").symlink_to(outside)
    removed = remove_files(site, ["a/b/c.py", "d/e.py", "link.py", "../outside.py", str(outside), "a", "missing.py"])
    assert removed == 10
    assert sorted(path.relative_to(site).as_posix() for path in site.rglob("*")) == ["a", "a/keep.py"]
    assert outside.exists()


# --- tree/distributions.py ----------------------------------------------------------------


def test_a_distribution_is_read_through_importlib_metadata(tmp_path):
    metadata = b"Metadata-Version: 2.1\nName: Some-Thing\nVersion: 2.0\nRequires-Dist: dep>=1\nProvides-Extra: x\n"
    folder = dist_info(tmp_path, "some_thing", "some_thing/__init__.py,,\n/etc/passwd,,\n", metadata)
    (tmp_path / "some_thing").mkdir()
    (tmp_path / "some_thing/__init__.py").write_bytes(b"abc")
    distribution = read_distribution(folder)
    assert (str(distribution), distribution.key, distribution.files, distribution.size) == (
        "Some-Thing==2.0",
        "some-thing",
        ("some_thing/__init__.py",),
        3,
    )
    read = read_metadata(folder)
    assert read is not None and read.get_all("Requires-Dist") == ["dep>=1"]


def test_a_distribution_without_record_lists_its_dist_info_and_bad_metadata_falls_back(tmp_path):
    folder = dist_info(tmp_path, "broken", metadata=b"Name: \xff\xfe\n")
    distribution = read_distribution(folder)
    assert (distribution.name, distribution.version) == ("broken", "?")
    assert distribution.files == ("broken-1.0.dist-info/METADATA",)


# --- the layout pip chooses by its own Python ---------------------------------------------


def pip_layout(site: Path, headers: str) -> None:
    """A tree as pip --target leaves it for a wheel with .data/{headers,data,scripts}; ``headers`` is where pip put headers."""
    files = {
        "datapkg/__init__.py": b"",
        "datapkg/__pycache__/__init__.cpython-3X.pyc": b"host bytecode",
        f"{headers}/datapkg/datapkg.h": b"int x;\n",
        "share/datapkg/table.dat": b"data\n",
        "bin/tool": b"#!/host/python\n",
        "datapkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: datapkg\nVersion: 1.0\n",
        "datapkg-1.0.dist-info/INSTALLER": b"pip\n",
        "datapkg-1.0.dist-info/REQUESTED": b"",
    }
    for path, data in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_bytes(data)
    scheme = ("bin/", "include/", "share/")
    record = [f"{'../../' if path.startswith(scheme) else ''}{path},," for path in files]
    (site / "datapkg-1.0.dist-info/RECORD").write_text("\r\n".join([*record, "datapkg-1.0.dist-info/RECORD,,", ""]))


def snapshot(site: Path) -> dict[str, bytes]:
    return {path.relative_to(site).as_posix(): path.read_bytes() for path in site.rglob("*") if path.is_file()}


def test_the_cleaned_tree_does_not_depend_on_the_python_that_ran_pip(tmp_path, caplog):
    trees = {}
    for name, headers in [
        ("venv-3.11", "include/site/python3.11"),
        ("venv-3.12", "include/site/python3.12"),
        ("no-venv", "include/python"),
    ]:
        site = tmp_path / name
        pip_layout(site, headers)
        with caplog.at_level(logging.INFO, logger="pip_lambda"):
            assert clean_site(site) == []
        trees[name] = snapshot(site)
    assert trees["venv-3.11"] == trees["venv-3.12"] == trees["no-venv"]
    assert sorted(trees["no-venv"]) == [
        "datapkg-1.0.dist-info/METADATA",
        "datapkg-1.0.dist-info/RECORD",
        "datapkg/__init__.py",
        "share/datapkg/table.dat",
    ]
    record = trees["no-venv"]["datapkg-1.0.dist-info/RECORD"].decode().splitlines()
    assert sorted(row.split(",")[0] for row in record) == sorted(trees["no-venv"])
    assert "leaving out the C headers of datapkg==1.0" in caplog.text
    assert not (tmp_path / "no-venv/include").exists()


def test_pip_places_data_files_headers_and_scripts_and_the_package_keeps_only_the_data(project, run, tmp_path):
    house = tmp_path / "house"
    house.mkdir()
    make_wheel(
        house,
        "datapkg",
        files={
            "datapkg/__init__.py": b"",
            "datapkg-1.0.data/headers/datapkg.h": b"int x;\n",
            "datapkg-1.0.data/data/share/datapkg/table.dat": b"data\n",
            "datapkg-1.0.data/scripts/tool": b"#!python\nprint(1)\n",
        },
    )
    result = run("install", "--runtime", "python3.12", "--no-index", "--find-links", str(house), "datapkg", "-v")
    assert result.exit_code == 0, result.err
    names = [name for name in zip_names(project / "build/lambda.zip") if not name.endswith("/")]
    assert sorted(names) == [
        "datapkg-1.0.dist-info/METADATA",
        "datapkg-1.0.dist-info/RECORD",
        "datapkg-1.0.dist-info/WHEEL",
        "datapkg-1.0.dist-info/top_level.txt",
        "datapkg/__init__.py",
        "share/datapkg/table.dat",
    ]
    record = rows(project / "build/lambda/datapkg-1.0.dist-info")
    assert sorted(row[0] for row in record) == sorted(names)
    assert "leaving out the C headers of datapkg==1.0" in result.err + result.out
