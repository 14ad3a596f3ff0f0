"""Zip members are deflated once, ever: a file that is byte for byte a deflated wheel member is copied, not compressed.

The compressed bytes come from the wheel under the writer's own header, so they are the same on every machine
whatever its zlib; only the members pip-lambda deflates itself can differ. A wheel's member is copied only when
its local header agrees with the central directory and the file still has the member's size and crc.
"""

from __future__ import annotations

import io
import random
import stat
import struct
import unicodedata
import zipfile
import zlib
from pathlib import Path

import pytest

from pip_lambda.archive import packing
from pip_lambda.archive.reader import RawMember, raw_members
from pip_lambda.archive.writer import (
    Entry,
    RawSource,
    collect_entries,
    with_raw_sources,
    write_zip,
    written_by_pip_lambda,
)
from pip_lambda.pipeline import _zip_entries

from conftest import make_wheel

WORDS = [bytes(random.Random(7).choices(b"abcdefghijklmnopqrstuvwxyz_ ().:=\n", k=n)) for n in range(3, 15)]


def text(seed: int, size: int = 20_000) -> bytes:
    """Source-like bytes that deflate well, and differently at different levels."""
    rng = random.Random(seed)
    return b" ".join(rng.choice(WORDS) + str(rng.randint(0, 999)).encode() for _ in range(size // 8))[:size]


def deflated_wheel(path: Path, files: dict[str, bytes], level: int = 1) -> Path:
    """A wheel compressed at another level than the writer's, so copied bytes are told from recompressed ones."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
    return path


def compressed(zip_path: Path, name: str) -> bytes:
    """A member's bytes as they are in the zip, found through the central directory and the local header."""
    with zipfile.ZipFile(zip_path) as archive:
        info = archive.getinfo(name)
    with zip_path.open("rb") as handle:
        handle.seek(info.header_offset + 26)
        name_length, extra_length = struct.unpack("<HH", handle.read(4))
        handle.seek(info.header_offset + 30 + name_length + extra_length)
        return handle.read(info.compress_size)


def sources(wheel: Path) -> dict[str, RawSource]:
    return {name: RawSource(wheel, member) for name, member in raw_members(wheel).items()}


WHEEL_FILES = {
    "pkg/__init__.py": text(1),
    "pkg/models.py": text(2, 60_000),
    "pkg/_native.so": (text(3, 100_000) * 11)[: packing.CHUNK + 1000],  # larger than a chunk: still copied whole
    "pkg/py.typed": b"",
    "pkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n",
    "pkg-1.0.dist-info/RECORD": text(4),
}


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, Path]:
    """A wheel and the tree unpacked from it."""
    wheel = deflated_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", WHEEL_FILES)
    tree = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tree)
    return wheel, tree


def test_a_file_that_is_a_deflated_wheel_member_is_copied_not_compressed_again(site, tmp_path):
    wheel, tree = site
    result = write_zip(with_raw_sources(collect_entries(tree), sources(wheel)), tmp_path / "out.zip")
    for name in ("pkg/__init__.py", "pkg/models.py", "pkg/_native.so", "pkg-1.0.dist-info/RECORD"):
        ours = packing.compressor(5)
        assert ours.compress(WHEEL_FILES[name]) + ours.flush() != compressed(wheel, name)  # copying is visible
        assert compressed(result.path, name) == compressed(wheel, name)
    with zipfile.ZipFile(result.path) as archive:
        assert archive.testzip() is None
        assert {name: archive.read(name) for name in WHEEL_FILES} == WHEEL_FILES
        info = archive.getinfo("pkg/models.py")
        assert (info.extra, info.flag_bits, info.date_time) == (b"", 0, (1980, 1, 1, 0, 0, 0))
        assert info.external_attr >> 16 == stat.S_IFREG | 0o644
    assert written_by_pip_lambda(result.path)


def test_the_copied_zip_is_the_same_whatever_the_number_of_workers(site, tmp_path):
    wheel, tree = site
    entries = with_raw_sources(collect_entries(tree), sources(wheel))
    digests = {write_zip(entries, tmp_path / f"w{workers}.zip", workers=workers).sha256 for workers in (1, 2, 8)}
    assert len(digests) == 1


def huffman_only(level: int, zdict: bytes | memoryview | None = None) -> zlib._Compress:
    """Another deflate, as a host whose zlib differs (zlib-ng, another version) would produce."""
    if zdict is None:
        return zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, 8, zlib.Z_HUFFMAN_ONLY)
    return zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, 8, zlib.Z_HUFFMAN_ONLY, zdict)


def test_only_the_members_pip_lambda_deflates_itself_depend_on_the_zlib(site, tmp_path, monkeypatch):
    wheel, tree = site
    (tree / "pkg-1.0.dist-info/RECORD").write_bytes(text(5))  # rewritten by the build
    (tree / "pkg/_native.so").write_bytes(text(6, 100_000) * 11)  # stripped: same name, other bytes
    (tree / "pkg/__pycache__").mkdir()
    (tree / "pkg/__pycache__/models.cpython-312.pyc").write_bytes(text(7))  # --compile
    (tree / "app.py").write_bytes(text(8))  # --code
    entries = with_raw_sources(collect_entries(tree), sources(wheel))
    here = write_zip(entries, tmp_path / "here.zip")
    monkeypatch.setattr(packing, "compressor", huffman_only)
    elsewhere = write_zip(entries, tmp_path / "elsewhere.zip")

    with zipfile.ZipFile(here.path) as archive:
        names = [info.filename for info in archive.infolist() if not info.is_dir()]
    differ = {name for name in names if compressed(here.path, name) != compressed(elsewhere.path, name)}
    assert differ == {
        "pkg-1.0.dist-info/RECORD",
        "pkg/_native.so",
        "pkg/__pycache__/models.cpython-312.pyc",
        "app.py",
    }
    for zipped in (here.path, elsewhere.path):
        with zipfile.ZipFile(zipped) as archive:
            assert archive.testzip() is None
            assert archive.read("pkg/_native.so") == (tree / "pkg/_native.so").read_bytes()


def test_a_file_changed_since_it_was_unpacked_is_compressed_here_as_if_it_had_no_wheel(site, tmp_path):
    wheel, tree = site
    same_size = bytearray(WHEEL_FILES["pkg/models.py"])
    same_size[100] ^= 1
    (tree / "pkg/models.py").write_bytes(bytes(same_size))
    (tree / "pkg/__init__.py").write_bytes(WHEEL_FILES["pkg/__init__.py"] + b"\n")
    (tree / "pkg/_native.so").write_bytes(text(6, 100_000) * 11)  # larger than a chunk
    entries = collect_entries(tree)
    result = write_zip(with_raw_sources(entries, sources(wheel)), tmp_path / "out.zip", workers=2)
    alone = write_zip(entries, tmp_path / "alone.zip", workers=2)
    with zipfile.ZipFile(result.path) as archive:
        assert archive.read("pkg/models.py") == bytes(same_size)
        assert archive.read("pkg/__init__.py") == WHEEL_FILES["pkg/__init__.py"] + b"\n"
    for name in ("pkg/models.py", "pkg/__init__.py", "pkg/_native.so"):
        assert compressed(result.path, name) != compressed(wheel, name)
        assert compressed(result.path, name) == compressed(alone.path, name)
    assert compressed(result.path, "pkg-1.0.dist-info/METADATA") == compressed(wheel, "pkg-1.0.dist-info/METADATA")


def test_what_the_wheel_could_not_shrink_is_stored_and_what_it_stored_is_compressed_here(tmp_path):
    noise = random.Random(1).randbytes(5000)
    wheel = deflated_wheel(tmp_path / "w.whl", {"noise.bin": noise, "tiny.py": b"x"})
    with zipfile.ZipFile(wheel, "a", zipfile.ZIP_STORED) as archive:
        archive.writestr("stored.py", text(9))
    tree = tmp_path / "tree"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tree)
    result = write_zip(with_raw_sources(collect_entries(tree), sources(wheel)), tmp_path / "out.zip")
    with zipfile.ZipFile(result.path) as archive:
        methods = {info.filename: info.compress_type for info in archive.infolist()}
        assert archive.testzip() is None
    assert methods == {
        "noise.bin": zipfile.ZIP_STORED,
        "tiny.py": zipfile.ZIP_STORED,
        "stored.py": zipfile.ZIP_DEFLATED,
    }


def test_level_zero_stores_everything_even_with_wheel_members(site, tmp_path):
    wheel, tree = site
    result = write_zip(with_raw_sources(collect_entries(tree), sources(wheel)), tmp_path / "out.zip", level=0)
    with zipfile.ZipFile(result.path) as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}


@pytest.mark.parametrize("damage", ["cut short", "removed"])
def test_a_wheel_that_cannot_be_read_any_more_means_compressing_here(site, tmp_path, damage):
    wheel, tree = site
    entries = with_raw_sources(collect_entries(tree), sources(wheel))
    if damage == "removed":
        wheel.unlink()
    else:
        wheel.write_bytes(wheel.read_bytes()[:2000])
    result = write_zip(entries, tmp_path / "out.zip", workers=2)
    with zipfile.ZipFile(result.path) as archive:
        assert archive.testzip() is None
        assert {name: archive.read(name) for name in WHEEL_FILES} == WHEEL_FILES


def test_sources_are_matched_by_site_path_under_a_layers_prefix_and_in_nfc(tmp_path):
    staging = tmp_path / "staging"
    (staging / "python/pkg").mkdir(parents=True)
    decomposed = unicodedata.normalize("NFD", "pkg/café.py")
    (staging / "python" / decomposed).write_bytes(text(10))
    (staging / "python/pkg/other.py").write_bytes(text(11))
    member = RawMember(decomposed, 8, 0, 1, 2, 3)
    entries = _zip_entries(staging, staging / "python", {decomposed: RawSource(tmp_path / "w.whl", member)})
    raw = {entry.name: entry.raw for entry in entries}
    assert raw["python/pkg/café.py"] == RawSource(tmp_path / "w.whl", member)
    assert raw["python/pkg/other.py"] is None
    assert raw["python/"] is None
    folder = Entry("pkg/", None, stat.S_IFDIR | 0o755)
    assert with_raw_sources([folder], {"pkg/": RawSource(tmp_path / "w.whl", member)}) == [folder]


# --- raw_members: where a wheel's compressed bytes are, defensively ------------------------------------------


def test_raw_members_locate_every_file_member_of_a_wheel(tmp_path):
    wheel = deflated_wheel(tmp_path / "w.whl", {"a/": b"", "a/b.py": text(12), "c.txt": b"see"})
    with zipfile.ZipFile(wheel, "a", zipfile.ZIP_STORED) as archive:
        archive.writestr("d.bin", b"stored")
    found = raw_members(wheel)
    assert sorted(found) == ["a/b.py", "c.txt", "d.bin"]
    data = wheel.read_bytes()
    for name, member in found.items():
        assert data[member.offset : member.offset + member.compressed_size] == compressed(wheel, name)
    assert (found["d.bin"].method, found["d.bin"].size, found["a/b.py"].method) == (0, 6, 8)
    assert found["a/b.py"].crc == zlib.crc32(text(12))


LOCAL_FIELDS = {"flags": (6, "<H", 0x1), "method": (8, "<H", 0), "crc": (14, "<I", 0), "size": (22, "<I", 1)}


@pytest.mark.parametrize("field", [*LOCAL_FIELDS, "name"])
def test_a_member_whose_local_header_disagrees_with_the_directory_is_left_out(tmp_path, field):
    wheel = deflated_wheel(tmp_path / "w.whl", {"a.py": text(13), "b.py": text(14)})
    with zipfile.ZipFile(wheel) as archive:
        at = archive.getinfo("a.py").header_offset
    data = bytearray(wheel.read_bytes())
    if field == "name":
        data[at + 30] = ord("x")
    else:
        offset, form, value = LOCAL_FIELDS[field]
        struct.pack_into(form, data, at + offset, value)
    wheel.write_bytes(bytes(data))
    assert sorted(raw_members(wheel)) == ["b.py"]


class Unseekable(io.RawIOBase):
    """A stream zipfile cannot seek back in: it writes sizes and crc in a data descriptor after each member."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: bytes) -> int:  # type: ignore[override]
        self.data += chunk
        return len(chunk)


def test_data_descriptors_are_read_and_checked(tmp_path):
    stream = Unseekable()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.py", text(15))
        archive.writestr("b.py", text(16))
    wheel = tmp_path / "streamed.whl"
    wheel.write_bytes(bytes(stream.data))
    with zipfile.ZipFile(wheel) as archive:
        assert all(info.flag_bits & 0x8 for info in archive.infolist())
        descriptor = archive.getinfo("a.py").header_offset + 30 + 4 + archive.getinfo("a.py").compress_size
    assert sorted(raw_members(wheel)) == ["a.py", "b.py"]
    data = bytearray(wheel.read_bytes())
    assert data[descriptor : descriptor + 4] == b"PK\x07\x08"
    data[descriptor + 4] ^= 0xFF  # the descriptor's crc no longer matches the directory's
    wheel.write_bytes(bytes(data))
    assert sorted(raw_members(wheel)) == ["b.py"]


def grow(data: bytearray, name: bytes, by: int) -> None:
    """Declare ``by`` more bytes for member ``name`` in its local header and its directory record alike."""
    local = data.index(b"PK\x03\x04")
    while data[local + 30 : local + 30 + len(name)] != name:
        local = data.index(b"PK\x03\x04", local + 4)
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.index(b"PK\x01\x02", central + 4)
    for at in (local + 18, local + 22, central + 20, central + 24):
        struct.pack_into("<I", data, at, struct.unpack_from("<I", data, at)[0] + by)


@pytest.mark.parametrize("grown", ["a.bin", "b.bin"])
def test_a_member_whose_bytes_reach_into_the_next_or_the_directory_is_left_out(tmp_path, grown):
    wheel = tmp_path / "w.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.bin", b"a" * 100)
        archive.writestr("b.bin", b"b" * 100)
    data = bytearray(wheel.read_bytes())
    grow(data, grown.encode(), 10)
    wheel.write_bytes(bytes(data))
    assert sorted(raw_members(wheel)) == sorted({"a.bin", "b.bin"} - {grown})


def test_only_stored_and_deflated_members_are_raw(tmp_path):
    wheel = tmp_path / "w.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("deflated.py", text(17), zipfile.ZIP_DEFLATED)
        archive.writestr("bzip2.py", text(18), zipfile.ZIP_BZIP2)
        archive.writestr("lzma.py", text(19), zipfile.ZIP_LZMA)
    assert sorted(raw_members(wheel)) == ["deflated.py"]


def test_a_build_copies_what_its_wheels_deflated_with_or_without_the_cache(project, run, tmp_path):
    house = tmp_path / "house"
    house.mkdir()
    files = {"bigpkg/__init__.py": text(20), "bigpkg/data.txt": text(21, 200_000)}
    wheel = deflated(make_wheel(house, "bigpkg", files=files))
    argv = ["install", "--runtime", "python3.12", "--no-index", "--find-links", str(house), "bigpkg"]
    assert run(*argv).exit_code == 0
    assert run(*argv, "--no-cache", "-t", "build/fresh", "-o", "fresh.zip").exit_code == 0
    built = project / "build/lambda.zip"
    for name in files:
        assert compressed(built, name) == compressed(wheel, name)
    with zipfile.ZipFile(built) as archive:
        assert archive.testzip() is None
        record = "bigpkg-1.0.dist-info/RECORD"
        assert compressed(built, record) != compressed(wheel, record)  # rewritten: deflated here
    assert built.read_bytes() == (project / "fresh.zip").read_bytes()


def deflated(wheel: Path) -> Path:
    """The same wheel with its members deflated at level 1 (make_wheel stores them), as real wheels are."""
    with zipfile.ZipFile(wheel) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for name, data in members:
            target.writestr(name, data)
    return wheel
