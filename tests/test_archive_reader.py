"""archive/reader.py: a zip is checked before anything is written and bounded while it is; verify uses it."""

from __future__ import annotations

import io
import shutil
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pip_lambda.archive.reader import Kind, open_zip
from pip_lambda.errors import (
    EXIT_TOO_LARGE,
    EXIT_UNSAFE_PATH,
    EXIT_USAGE,
    PipLambdaError,
    SizeLimitError,
    UnsafePathError,
    UsageError,
)
from pip_lambda.plan.limits import UNZIPPED_LIMIT

from conftest import make_wheel

# Field offsets in the first local file header (PK\3\4) and central directory header (PK\1\2).
LOCAL = {"flags": (6, "<H"), "method": (8, "<H"), "crc": (14, "<I"), "size": (22, "<I")}
CENTRAL = {"flags": (8, "<H"), "method": (10, "<H"), "crc": (16, "<I"), "size": (24, "<I")}


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def patched(data: bytes, **fields: int) -> bytes:
    """The zip with fields of its first member set in both its local and its central header."""
    out = bytearray(data)
    for signature, table in ((b"PK\x03\x04", LOCAL), (b"PK\x01\x02", CENTRAL)):
        at = out.index(signature)
        for field, value in fields.items():
            offset, form = table[field]
            struct.pack_into(form, out, at + offset, value)
    return bytes(out)


def write(tmp_path: Path, data: bytes, name: str = "package.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_the_central_directory_is_read_without_extracting(tmp_path):
    data = {"pkg/__init__.py": b"x = 1\n" * 100, "pkg/data.txt": b"hello"}
    path = write(tmp_path, zipped(data))
    with open_zip(path) as archive:
        members = {member.name: member for member in archive.members}
        assert set(members) == set(data)
        first = members["pkg/__init__.py"]
        assert (first.kind, first.size) == (Kind.FILE, 600)
        assert first.compressed_size < 600
        assert first.crc == zipfile.ZipFile(path).getinfo("pkg/__init__.py").CRC
        assert archive.declared_size == 605
        assert b"".join(archive.stream(first)) == data["pkg/__init__.py"]


def test_a_member_streams_in_bounded_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr("pip_lambda.archive.reader.CHUNK", 1000)
    path = write(tmp_path, zipped({"big.bin": bytes(10_500)}))
    with open_zip(path) as archive:
        chunks = list(archive.stream(archive.members[0]))
    assert [len(chunk) for chunk in chunks] == [1000] * 10 + [500]


def test_extract_writes_files_and_folders_and_no_symlinks(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pkg/", b"")
        archive.writestr("pkg/run.sh", b"#!/bin/sh\n")
        archive.getinfo("pkg/run.sh").external_attr = (stat.S_IFREG | 0o755) << 16
        link = zipfile.ZipInfo("pkg/passwd")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    path = write(tmp_path, buffer.getvalue())
    out = tmp_path / "out"
    out.mkdir()
    with open_zip(path) as archive:
        assert {member.name: member.kind for member in archive.members}["pkg/passwd"] is Kind.SYMLINK
        assert archive.extract(out) == len(b"#!/bin/sh\n")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == ["pkg", "pkg/run.sh"]
    assert not (out / "pkg/passwd").is_symlink()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"not a zip at all", "is not a zip file"),
        (zipped({"a.py": b"x" * 1000})[:-30], "is damaged"),
        (patched(zipped({"a.py": b"x" * 1000}), flags=0x1), "is encrypted (a.py)"),
        (patched(zipped({"a.py": b"x" * 1000}), method=9), "uses compression method 9 (deflate64) for a.py"),
        (patched(zipped({"a.py": b"x" * 1000}), method=93), "uses compression method 93 (zstd) for a.py"),
        (zipped({"a": b"file", "a/b.py": b"x"}), "has a/b.py inside a, which is a file"),
        (zipped({"a/b.py": b"1", "a/./b.py": b"2"}), "names a/b.py twice"),
    ],
    ids=["not-a-zip", "cut-short", "encrypted", "deflate64", "zstd", "file-as-folder", "twice"],
)
def test_unreadable_zips_are_usage_errors_naming_the_problem(tmp_path, data, words):
    path = write(tmp_path, data)
    with pytest.raises(UsageError) as raised:
        open_zip(path).close()
    assert raised.value.exit_code == EXIT_USAGE
    assert words in raised.value.message
    assert "\n" not in raised.value.message


def test_a_damaged_member_is_a_usage_error_when_it_is_read(tmp_path):
    data = zipped({"a.py": b"x = 1\n" * 1000})
    path = write(tmp_path, patched(data, crc=0))
    out = tmp_path / "out"
    out.mkdir()
    with open_zip(path) as archive, pytest.raises(UsageError, match=r"is damaged: a\.py: Bad CRC-32"):
        archive.extract(out)


@pytest.mark.parametrize("name", ["../outside.py", "/etc/cron.d/x", "a/../../outside.py", "C:/x.py", "a\\..\\..\\x"])
def test_a_member_outside_the_root_is_refused_before_anything_is_written(tmp_path, name):
    path = write(tmp_path, zipped({"ok.py": b"", name: b"x"}))
    with pytest.raises(UnsafePathError) as raised:
        open_zip(path)
    assert raised.value.exit_code == EXIT_UNSAFE_PATH


def test_declared_sizes_above_the_limit_are_refused_before_extracting(tmp_path):
    path = write(tmp_path, zipped({"a.bin": bytes(600), "b.bin": bytes(600)}))
    with pytest.raises(SizeLimitError, match="declares 1,200 bytes unzipped, above Lambda's limit of 1,000 bytes"):
        open_zip(path, limit=1000)
    bomb = write(tmp_path, patched(zipped({"a.bin": bytes(10)}), size=UNZIPPED_LIMIT + 1), "bomb.zip")
    with pytest.raises(SizeLimitError) as raised:
        open_zip(bomb)
    assert raised.value.exit_code == EXIT_TOO_LARGE


def test_a_header_that_lies_about_the_size_stops_at_the_declared_size(tmp_path):
    """5 MB of zeros declared as 100 bytes: no more than 100 bytes are written, and the zip is damaged."""
    path = write(tmp_path, patched(zipped({"zeros.bin": bytes(5_000_000)}), size=100))
    out = tmp_path / "out"
    out.mkdir()
    with open_zip(path) as archive, pytest.raises(UsageError, match="is damaged"):
        archive.extract(out)
    assert (out / "zeros.bin").stat().st_size <= 100


def test_the_unzipped_limit_counts_the_bytes_that_come_out(tmp_path):
    path = write(tmp_path, zipped({"a.bin": bytes(600), "b.bin": bytes(600)}))
    with open_zip(path, limit=2000) as archive:
        budget = [1000]
        list(archive.stream(archive.members[0], budget=budget))
        with pytest.raises(SizeLimitError, match="unzips to more bytes than its headers say"):
            list(archive.stream(archive.members[1], budget=budget))


VALID = zipped({"pkg/__init__.py": b"import os\n" * 20, "pkg/mod.py": b"x = 1\n", "pkg/": b""})


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mutated-zips")


@settings(max_examples=200, deadline=2000, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8),
    keep=st.integers(0, len(VALID)),
)
def test_mutated_zips_unpack_or_end_in_a_documented_error(scratch, changes, keep):
    data = bytearray(VALID)
    for position, value in changes:
        data[position] = value
    path = scratch / "mutated.zip"
    path.write_bytes(bytes(data[:keep]))
    out = scratch / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    try:
        with open_zip(path) as archive:
            archive.extract(out)
    except PipLambdaError as error:
        assert error.exit_code in (EXIT_USAGE, EXIT_TOO_LARGE, EXIT_UNSAFE_PATH)
    assert all(p.resolve().is_relative_to(out.resolve()) for p in out.rglob("*"))


# --- verify reads zips through the reader ------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code", "words"),
    [
        (zipped({"a.py": b"x" * 1000})[:-30], EXIT_USAGE, "is damaged"),
        (patched(zipped({"a.py": b"x" * 1000}), flags=0x1), EXIT_USAGE, "is encrypted"),
        (patched(zipped({"a.py": b"x" * 1000}), method=9), EXIT_USAGE, "compression method 9 (deflate64)"),
        (patched(zipped({"a.py": b"x" * 1000}), crc=0), EXIT_USAGE, "is damaged: a.py: Bad CRC-32"),
        (patched(zipped({"a.bin": bytes(10)}), size=UNZIPPED_LIMIT + 1), EXIT_TOO_LARGE, "above Lambda's limit"),
        (zipped({"../../escape.py": b"x"}), EXIT_UNSAFE_PATH, "outside the zip's root"),
    ],
    ids=["cut-short", "encrypted", "deflate64", "bad-crc", "too-large", "escape"],
)
def test_verify_of_a_bad_zip_is_one_line_with_its_exit_code(tmp_path, run, data, code, words):
    path = write(tmp_path, data)
    result = run("verify", str(path), "--runtime", "python3.12")
    assert result.exit_code == code, result.err
    assert words in result.err
    assert "Traceback" not in result.err
    assert len([line for line in result.err.splitlines() if line.startswith("error:")]) == 1


def test_verify_of_a_wheel_reads_it_through_the_reader(tmp_path, run):
    wheel = make_wheel(tmp_path, "purepkg")
    result = run("verify", str(wheel), "--runtime", "python3.12")
    assert result.exit_code == 0, result.out
    assert "(1 distribution, " in result.out
