"""The wheel store: wheels kept as files and unpacked, trees laid out by hard links, edits never shipped."""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
import zlib
from pathlib import Path

import pytest
from elf_samples import build_elf
from test_strip import debug_library
from test_unpack import metadata, write_wheel

from pip_lambda import pipeline
from pip_lambda.cache import jsondata, store
from pip_lambda.cache.store import WHEEL_FILE
from pip_lambda.checks import elf
from pip_lambda.pip.args import parse_pip_args
from pip_lambda.plan.request import BuildRequest, TrimOptions, VerifyOptions
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target

from conftest import make_wheel

TARGET = Target(get_runtime("python3.12"), Arch.X86_64)


def cache_root() -> Path:
    return Path(os.environ["PIP_LAMBDA_CACHE_DIR"])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stored_copy(name: str) -> Path:
    (found,) = (cache_root() / "wheels").glob(f"*/tree/{name}")
    return found


def other_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = project.parent / "other"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.skipif(os.name == "nt", reason="Windows gets copies")
def test_the_tree_is_hard_links_to_read_only_store_files(project, run, offline):
    assert run("install", "--runtime", "python3.12", *offline, "purepkg", "glibcpkg").exit_code == 0

    for name in ("purepkg/__init__.py", "glibcpkg/_native.so", "purepkg-1.0.dist-info/METADATA"):
        laid, kept = project / "build/lambda" / name, stored_copy(name)
        assert os.path.samefile(laid, kept), name
        assert stat.S_IMODE(kept.stat().st_mode) & 0o222 == 0, f"{name} is writable in the store"
    wheel = next((cache_root() / "wheels").glob(f"*/{WHEEL_FILE}"))
    assert zipfile.is_zipfile(wheel)


def test_an_edit_through_a_link_in_the_target_never_reaches_a_later_build(project, run, offline, monkeypatch):
    argv = ["install", "--runtime", "python3.12", *offline, "purepkg"]
    assert run(*argv).exit_code == 0
    edited = project / "build/lambda/purepkg/__init__.py"
    assert os.path.samefile(edited, stored_copy("purepkg/__init__.py"))
    edited.chmod(0o644)  # what an editor or a user may do; root writes even without it
    edited.write_text("edited = True\n")
    assert "edited" in stored_copy("purepkg/__init__.py").read_text()  # the link carried the edit into the store
    other = other_project(project, monkeypatch)

    result = run(*argv, "dep-old")  # another key: the store, not a cached result, provides purepkg

    assert result.exit_code == 0, result.err
    assert "damaged" in result.err
    assert (other / "build/lambda/purepkg/__init__.py").read_text() == "__version__ = '1.0'\n"
    assert stored_copy("purepkg/__init__.py").read_text() == "__version__ = '1.0'\n"


def entry_of(tmp_path: Path, wheel: Path) -> store.StoredWheel:
    root = tmp_path / "cache"
    copy = tmp_path / "download" / wheel.name
    copy.parent.mkdir(exist_ok=True)
    copy.write_bytes(wheel.read_bytes())
    return store.add(root, copy, "3.12", [])


def test_a_store_file_with_other_times_or_mode_is_hashed_again_and_kept_when_intact(tmp_path, wheelhouse):
    entry = entry_of(tmp_path, wheelhouse / "purepkg-1.0-py3-none-any.whl")
    kept = entry.folder / "tree/purepkg/__init__.py"
    os.utime(kept, ns=(1, 1))
    kept.chmod(0o644)

    again = store.checked(tmp_path / "cache", entry.sha256)

    assert again is not None
    assert stat.S_IMODE(kept.stat().st_mode) == 0o444  # put back


@pytest.mark.parametrize("damage", ["same size", "other size", "deleted", "wheel file"])
def test_a_damaged_store_file_removes_its_entry(tmp_path, wheelhouse, damage):
    entry = entry_of(tmp_path, wheelhouse / "purepkg-1.0-py3-none-any.whl")
    kept = entry.folder / ("tree/purepkg/__init__.py" if damage != "wheel file" else WHEEL_FILE)
    data = kept.read_bytes()
    kept.chmod(0o644)
    if damage == "deleted":
        kept.unlink()
    elif damage == "other size":
        kept.write_bytes(data + b"#")
    else:
        kept.write_bytes(bytes([data[0] ^ 1]) + data[1:])

    assert store.checked(tmp_path / "cache", entry.sha256) is None
    assert not entry.folder.exists()


def test_each_laid_out_file_names_the_wheel_member_whose_compressed_bytes_it_is(tmp_path):
    members = {"rawpkg/__init__.py": (b"x = 1\n" * 100, 0o644), **metadata("rawpkg")}
    wheel = write_wheel(tmp_path / "rawpkg-1.0-py3-none-any.whl", members, "rawpkg-1.0.dist-info")
    entry = entry_of(tmp_path, wheel)
    site = tmp_path / "site"
    site.mkdir()

    laid = store.assemble([entry], site)

    module = laid["rawpkg/__init__.py"]
    assert module.member is not None and module.member.method == zipfile.ZIP_DEFLATED
    with open(module.wheel, "rb") as handle:
        handle.seek(module.member.offset)
        compressed = handle.read(module.member.compressed_size)
    assert zlib.decompress(compressed, -15) == (site / "rawpkg/__init__.py").read_bytes()
    assert laid["rawpkg-1.0.dist-info/RECORD"].member is None
    assert module.unchanged(site)
    replacement = site / "rawpkg/new"
    replacement.write_bytes(b"other")
    replacement.replace(site / "rawpkg/__init__.py")
    assert not module.unchanged(site)


def test_build_steps_replace_linked_files_and_never_write_through_them(project, run, tmp_path):
    house = tmp_path / "house"
    house.mkdir()
    library = debug_library(tmp_path)
    make_wheel(house, "native", tag="cp312-cp312-manylinux_2_17_x86_64", files={"native/_seven.so": library})
    argv = ["install", "--runtime", "python3.12", "--no-index", "--find-links", str(house), "native", "--no-verify"]

    assert run(*argv, "--strip", "--compile").exit_code == 0

    for name in ("native/_seven.so", "native-1.0.dist-info/RECORD"):
        kept = stored_copy(name)
        laid = project / "build/lambda" / name
        assert not os.path.samefile(laid, kept), f"{name} was changed in place"
        assert store.checked(cache_root(), kept.relative_to(cache_root() / "wheels").parts[0]) is not None
    assert sha256(stored_copy("native/_seven.so")) == hashlib.sha256(library).hexdigest()


def test_two_distributions_writing_one_file_are_installed_by_pip(project, run, tmp_path):
    house = tmp_path / "house"
    house.mkdir()
    make_wheel(house, "first", files={"shared/x.py": b"first = 1\n"})
    make_wheel(house, "second", files={"shared/x.py": b"second = 2\n"})
    argv = ["install", "--runtime", "python3.12", "--no-index", "--find-links", str(house), "first", "second"]

    assert run(*argv).exit_code == 0
    assert run(*argv, "--no-cache", "-t", "build/fresh", "-o", "fresh.zip").exit_code == 0

    assert sha256(project / "build/lambda.zip") == sha256(project / "fresh.zip")


def test_every_distribution_carries_the_sha256_of_its_wheel(project, wheelhouse):
    pip_args = parse_pip_args(["--no-index", "--find-links", str(wheelhouse), "purepkg", "glibcpkg"], TARGET)
    request = BuildRequest(TARGET, pip_args, project / "build/lambda", None, verify=VerifyOptions(), trim=TrimOptions())

    result = pipeline.build(request)

    wheels = {path.name.split("-")[0]: sha256(path) for path in wheelhouse.glob("*.whl")}
    found = {dist.key: dist.wheel_sha256 for dist in result.distributions}
    assert found["purepkg"] == wheels["purepkg"]
    assert found["glibcpkg"] in {sha256(path) for path in wheelhouse.glob("glibcpkg-2.0-*x86_64*.whl")}


def test_no_cache_builds_from_a_store_of_its_own_and_leaves_the_cache_empty(project, run, offline):
    argv = ["install", "--runtime", "python3.12", *offline, "purepkg", "glibcpkg"]
    assert run(*argv, "--no-cache", "-t", "build/fresh", "-o", "fresh.zip").exit_code == 0
    assert not any(cache_root().iterdir())
    assert run(*argv).exit_code == 0
    assert sha256(project / "build/lambda.zip") == sha256(project / "fresh.zip")


@pytest.fixture
def counted_elf(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file the ELF reader parses."""
    parsed: list[Path] = []
    real = elf.read_elf

    def counting(path: Path) -> elf.ElfInfo:
        parsed.append(path)
        return real(path)

    monkeypatch.setattr(elf, "read_elf", counting)
    return parsed


@pytest.fixture
def elf_house(tmp_path: Path) -> Path:
    """A wheel whose extension needs GLIBC_2.28: fine on python3.12 (glibc 2.34), too new for python3.11 (2.26)."""
    house = tmp_path / "house"
    house.mkdir()
    library = build_elf(libraries=(("libc.so.6", ("GLIBC_2.2.5", "GLIBC_2.28")),))
    tag = "cp311.cp312-abi3-manylinux_2_17_x86_64"
    make_wheel(house, "elfpkg", tag=tag, files={"elfpkg/__init__.py": b"", "elfpkg/_demo.abi3.so": library})
    return house


def test_each_binary_from_the_store_is_parsed_once_ever_and_checked_for_each_target(
    project, run, elf_house, counted_elf
):
    argv = ["install", "--no-index", "--find-links", str(elf_house), "elfpkg"]
    assert run(*argv, "--runtime", "python3.12").exit_code == 0
    assert [path.name for path in counted_elf] == ["_demo.abi3.so"]
    counted_elf.clear()

    (project / "app.py").write_text("def handler(event, context): return 1\n")
    again = run(*argv, "--runtime", "python3.12", "--code", "app.py")  # another key: built again, from the store
    older = run(*argv, "--runtime", "python3.11", "-t", "build/older", "-o", "build/older.zip")

    assert again.exit_code == 0, again.err
    assert older.exit_code == 4 and "needs glibc 2.28 (GLIBC_2.28)" in older.err  # the findings are the target's
    assert counted_elf == []


@pytest.mark.parametrize("damage", ["bit-flip", "wrong type, checksum redone"])
def test_a_damaged_kept_elf_reading_is_parsed_again_never_trusted(project, run, elf_house, counted_elf, damage):
    argv = ["install", "--runtime", "python3.12", "--no-index", "--find-links", str(elf_house), "elfpkg"]
    assert run(*argv).exit_code == 0
    (kept,) = (cache_root() / "wheels").glob("*/.elfinfo.json")
    if damage == "bit-flip":
        data = bytearray(kept.read_bytes())
        data[len(data) // 2] ^= 0x01
        kept.write_bytes(bytes(data))
    else:  # a reading of the wrong shape that a buggy writer might sign: the version needs as a string
        body = jsondata.read(kept, "elfinfo")
        assert body is not None
        for row in body["files"].values():
            row[4] = "GLIBC_2.17"
        jsondata.write(kept, "elfinfo", body)
    counted_elf.clear()
    (project / "app.py").write_text("def handler(event, context): return 1\n")

    result = run(*argv, "--code", "app.py")  # another key: the package is built, the store lays it out

    assert result.exit_code == 0, result.err
    assert [path.name for path in counted_elf] == ["_demo.abi3.so"]
    assert jsondata.read(kept, "elfinfo") is not None  # written again, whole


def test_a_binary_a_trim_step_replaced_is_parsed_again(project, run, tmp_path, counted_elf):
    house = tmp_path / "house"
    house.mkdir()
    make_wheel(
        house, "native", tag="cp312-cp312-manylinux_2_17_x86_64", files={"native/_seven.so": debug_library(tmp_path)}
    )
    argv = ["install", "--runtime", "python3.12", "--no-index", "--find-links", str(house), "native"]
    assert run(*argv).exit_code == 0
    counted_elf.clear()

    assert run(*argv, "--strip", "-t", "build/stripped", "-o", "build/stripped.zip").exit_code == 0

    assert [path.name for path in counted_elf] == ["_seven.so"]  # the stripped copy is not the store's file
