"""tree/unpack.py: a wheel unpacked by installer gives, after the clean step, the tree pip install --target gives."""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from pathlib import Path

import pytest

from pip_lambda.pip.run import install_command, pip_environment, run_pip
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target
from pip_lambda.tree.clean import clean_site
from pip_lambda.tree.unpack import UnpackError, unpack

from conftest import _record_line, make_wheel

TARGET = Target(get_runtime("python3.12"), Arch.X86_64)


def tree(folder: Path) -> dict[str, tuple[str, bool]]:
    """Every file: its sha256 and exec bit (what the zip keeps of a file)."""
    found = {}
    for parent, _, names in os.walk(folder):
        for name in names:
            path = Path(parent, name)
            found[path.relative_to(folder).as_posix()] = (
                hashlib.sha256(path.read_bytes()).hexdigest(),
                bool(path.stat().st_mode & 0o111),
            )
    return found


def folders(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_dir()}


def by_pip(wheels: list[Path], site: Path) -> tuple[list[str], Path]:
    """pip install --target with pip-lambda's flags, then the clean step."""
    command = install_command(TARGET, site, ["--no-index", "--no-deps", *map(str, wheels)])
    run_pip(command, pip_environment(TARGET))
    return clean_site(site), site


def by_unpack(wheels: list[Path], site: Path) -> tuple[list[str], Path]:
    """Each wheel unpacked into its own folder, merged as the store lays them out, then the clean step."""
    for wheel in wheels:
        entry = site.parent / f"entry-{wheel.name}"
        unpack(wheel, entry, "3.12")
        for parent, _, names in os.walk(entry):
            for name in names:
                source = Path(parent, name)
                landing = site / source.relative_to(entry)
                landing.parent.mkdir(parents=True, exist_ok=True)
                os.link(source, landing)
    site.mkdir(exist_ok=True)
    return clean_site(site), site


def assert_same_tree(wheels: list[Path], tmp_path: Path) -> dict[str, tuple[str, bool]]:
    pip_warnings, pip_site = by_pip(wheels, tmp_path / "pip")
    warnings, site = by_unpack(wheels, tmp_path / "unpacked")
    assert tree(site) == tree(pip_site)
    assert folders(site) == folders(pip_site)
    assert warnings == pip_warnings
    return tree(site)


def write_wheel(path: Path, members: dict[str, tuple[bytes, int]], dist_info: str) -> Path:
    """A wheel from raw members (bytes, unix mode), with a RECORD listing them."""
    record = [_record_line(name, data) for name, (data, _) in members.items()] + [f"{dist_info}/RECORD,,"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (data, mode) in members.items():
            info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFREG | mode) << 16
            archive.writestr(info, data, zipfile.ZIP_DEFLATED)
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return path


def metadata(name: str, version: str = "1.0") -> dict[str, tuple[bytes, int]]:
    dist_info = f"{name}-{version}.dist-info"
    return {
        f"{dist_info}/METADATA": (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(), 0o644),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            0o644,
        ),
    }


def test_the_test_wheelhouse_unpacks_as_pip_installs_it(wheelhouse, tmp_path):
    wheels = [
        wheel
        for wheel in sorted(wheelhouse.glob("*.whl"))
        if "x86_64" in wheel.name or wheel.name.endswith("-any.whl")
        if not wheel.name.startswith(("cp313only", "muslonly", "glibcpkg-2.0"))  # one glibcpkg; 3.12 loads the rest
    ]
    files = assert_same_tree(wheels, tmp_path)
    assert "purepkg-1.0.dist-info/RECORD" in files
    assert not [name for name in files if name.startswith("bin/")]


def test_data_scripts_headers_and_purelib_data_land_where_pip_puts_them(tmp_path):
    members = {
        "datapkg/__init__.py": (b"", 0o644),
        "datapkg/tool.sh": (b"#!/bin/sh\necho hi\n", 0o755),
        "datapkg-1.0.data/data/share/datapkg/x.txt": (b"data", 0o644),
        "datapkg-1.0.data/purelib/extra.py": (b"x = 1\n", 0o644),
        "datapkg-1.0.data/platlib/native.txt": (b"platlib\n", 0o644),
        "datapkg-1.0.data/scripts/run": (b"#!python\nprint('hi')\n", 0o755),
        "datapkg-1.0.data/headers/datapkg.h": (b"int x;\n", 0o644),
        "datapkg-1.0.data/data/include/plain.h": (b"int y;\n", 0o644),
        **metadata("datapkg"),
    }
    wheel = write_wheel(tmp_path / "datapkg-1.0-py3-none-any.whl", members, "datapkg-1.0.dist-info")

    files = assert_same_tree([wheel], tmp_path)

    assert files["datapkg/tool.sh"][1] is True
    assert {"share/datapkg/x.txt", "extra.py", "native.txt", "include/plain.h"} <= set(files)
    assert not [name for name in files if name.endswith("datapkg.h") or name.startswith("bin/")]


def test_data_pip_would_not_move_is_left_out_as_pip_leaves_it(tmp_path):
    """A data item named like a package pip moved first, and data under lib/, never reach pip's target."""
    members = {
        "clash/__init__.py": (b"", 0o644),
        "clash-1.0.data/data/clash/extra.txt": (b"skipped by pip\n", 0o644),
        "clash-1.0.data/data/lib/libfoo.so": (b"\x7fELF", 0o755),
        "clash-1.0.data/data/li/also-skipped": (b"pip compares paths as strings\n", 0o644),
        "clash-1.0.data/data/etc/kept.conf": (b"kept\n", 0o644),
        **metadata("clash"),
    }
    wheel = write_wheel(tmp_path / "clash-1.0-py3-none-any.whl", members, "clash-1.0.dist-info")

    files = assert_same_tree([wheel], tmp_path)

    assert "etc/kept.conf" in files
    assert not {"clash/extra.txt", "lib/libfoo.so", "li/also-skipped"} & set(files)


def test_namespace_folders_of_two_wheels_merge(tmp_path):
    one = make_wheel(tmp_path, "ns-one", files={"ns/one/__init__.py": b"one = 1\n"})
    two = make_wheel(tmp_path, "ns-two", files={"ns/two/__init__.py": b"two = 2\n"})
    files = assert_same_tree([one, two], tmp_path)
    assert {"ns/one/__init__.py", "ns/two/__init__.py"} <= set(files)


def test_each_file_names_the_member_it_is_unchanged(tmp_path):
    members = {
        "memberpkg/__init__.py": (b"x = 1\n", 0o644),
        "memberpkg-1.0.data/scripts/run": (b"#!python\nprint('hi')\n", 0o755),
        "memberpkg-1.0.data/scripts/plain": (b"#!/bin/sh\n", 0o755),
        **metadata("memberpkg"),
    }
    wheel = write_wheel(tmp_path / "memberpkg-1.0-py3-none-any.whl", members, "memberpkg-1.0.dist-info")

    files = unpack(wheel, tmp_path / "entry", "3.12")

    assert files["memberpkg/__init__.py"].member == "memberpkg/__init__.py"
    assert files["memberpkg/__init__.py"].sha256 == hashlib.sha256(b"x = 1\n").hexdigest()
    assert files["bin/plain"].member == "memberpkg-1.0.data/scripts/plain"
    assert files["bin/run"].member is None  # its #!python line was rewritten
    assert files["memberpkg-1.0.dist-info/RECORD"].member is None
    assert files["memberpkg-1.0.dist-info/INSTALLER"].member is None
    for name, found in files.items():
        data = (tmp_path / "entry" / name).read_bytes()
        assert (found.sha256, found.size) == (hashlib.sha256(data).hexdigest(), len(data))


@pytest.mark.parametrize(
    "member", ["../escape.py", "/absolute.py", "evil-1.0.data/data/../../../escape.txt"], ids=["up", "absolute", "data"]
)
def test_a_member_outside_the_package_is_refused_and_nothing_is_written_outside(tmp_path, member):
    members = {member: (b"owned = True\n", 0o644), **metadata("evil")}
    wheel = write_wheel(tmp_path / "evil-1.0-py3-none-any.whl", members, "evil-1.0.dist-info")
    before = set(tmp_path.rglob("*"))

    with pytest.raises(UnpackError):
        unpack(wheel, tmp_path / "entry", "3.12")

    assert {path for path in set(tmp_path.rglob("*")) - before if path != tmp_path / "entry"} == set()


def test_a_file_that_is_not_a_wheel_is_an_unpack_error(tmp_path):
    broken = tmp_path / "broken-1.0-py3-none-any.whl"
    broken.write_bytes(b"not a zip")
    with pytest.raises(UnpackError):
        unpack(broken, tmp_path / "entry", "3.12")


def test_record_rows_are_kept_as_pip_keeps_them(tmp_path):
    """pip keeps the wheel's own rows (their hashes as written, rows of missing or escaping paths) and adds rows
    without a hash for files the RECORD left out; the clean step then gives the same RECORD and the same warnings."""
    dist_info = "oddrecord-1.0.dist-info"
    members = {
        "oddrecord/__init__.py": (b"x = 1\n", 0o644),
        "oddrecord/unlisted.py": (b"", 0o644),
        **metadata("oddrecord"),
    }
    rows = [
        _record_line("oddrecord/__init__.py", b"x = 1\n").replace(",6", ","),  # no size
        "oddrecord/missing.py,sha256=AAAA,3",
        "../../../outside.txt,sha256=AAAA,3",
        f"{dist_info}/METADATA,md5=not-checked,1",
        f"{dist_info}/WHEEL,,",
        f"{dist_info}/RECORD,,",
    ]
    wheel = tmp_path / "oddrecord-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, (data, _) in members.items():
            archive.writestr(name, data)
        archive.writestr(f"{dist_info}/RECORD", "\n".join(rows) + "\n")

    files = assert_same_tree([wheel], tmp_path)

    record = (tmp_path / "unpacked" / dist_info / "RECORD").read_text()
    assert "oddrecord/unlisted.py,," in record
    assert "md5=not-checked" in record
    assert "outside" not in record and "missing" not in record
    assert f"{dist_info}/RECORD" in files


def test_bytecode_a_wheel_ships_is_left_out_as_the_clean_step_leaves_out_pip_s(tmp_path):
    members = {
        "cachedpkg/__init__.py": (b"", 0o644),
        "cachedpkg/__pycache__/__init__.cpython-311.pyc": (b"host bytecode", 0o644),
        **metadata("cachedpkg"),
    }
    wheel = write_wheel(tmp_path / "cachedpkg-1.0-py3-none-any.whl", members, "cachedpkg-1.0.dist-info")

    files = assert_same_tree([wheel], tmp_path)  # no warning either: pytest turns warnings into errors

    assert not [name for name in files if "__pycache__" in name]
