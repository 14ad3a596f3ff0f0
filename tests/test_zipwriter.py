"""The zip is deterministic: the same tree gives the same bytes whatever the machine does."""

from __future__ import annotations

import hashlib
import os
import random
import stat
import zipfile
from pathlib import Path

import pytest

from pip_lambda.archive.packing import CHUNK
from pip_lambda.archive.writer import COMMENT, collect_entries, write_zip, written_by_pip_lambda
from pip_lambda.errors import UnsafePathError


def make_tree(root: Path, mtime: int, umask_mode: int) -> Path:
    (root / "pkg" / ".libs").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("x = 1\n" * 100)
    (root / "pkg" / ".libs" / "libfoo.so").write_bytes(os.urandom(0) + b"\x7fELF" + bytes(range(256)) * 50)
    (root / "pkg" / "tool.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "pkg" / "tool.sh").chmod(0o700)
    (root / "pkg" / "data.gz").write_bytes(b"\x1f\x8b" + bytes(200))
    (root / "empty").mkdir()
    (root / "café.txt").write_text("unicode name\n")
    for path in root.rglob("*"):
        if path.is_file() and path.name != "tool.sh":
            path.chmod(umask_mode)
        os.utime(path, (mtime, mtime))
    return root


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_tree_same_bytes_whatever_mtimes_modes_and_workers(tmp_path):
    first = make_tree(tmp_path / "a", 1_000_000, 0o600)
    second = make_tree(tmp_path / "b", 2_000_000, 0o664)
    results = [
        write_zip(collect_entries(first), tmp_path / "1.zip", workers=1),
        write_zip(collect_entries(second), tmp_path / "2.zip", workers=2),
        write_zip(collect_entries(second), tmp_path / "8.zip", workers=8),
    ]
    assert len({digest(result.path) for result in results}) == 1
    assert len({result.sha256 for result in results}) == 1
    assert results[0].sha256 == digest(results[0].path)


def test_entries_are_sorted_with_folders_dotfiles_and_forward_slashes(tmp_path):
    result = write_zip(collect_entries(make_tree(tmp_path / "t", 0, 0o644)), tmp_path / "t.zip")
    with zipfile.ZipFile(result.path) as archive:
        names = archive.namelist()
    assert names == sorted(names)
    assert "pkg/.libs/libfoo.so" in names
    assert "empty/" in names
    assert all("\\" not in name for name in names)


def test_modes_timestamps_and_no_extra_fields(tmp_path):
    result = write_zip(collect_entries(make_tree(tmp_path / "t", 0, 0o600)), tmp_path / "t.zip")
    with zipfile.ZipFile(result.path) as archive:
        infos = {info.filename: info for info in archive.infolist()}
    assert stat.S_IMODE(infos["pkg/__init__.py"].external_attr >> 16) == 0o644
    assert stat.S_IMODE(infos["pkg/tool.sh"].external_attr >> 16) == 0o755
    assert stat.S_IMODE(infos["pkg/"].external_attr >> 16) == 0o755
    assert {info.date_time for info in infos.values()} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.extra for info in infos.values()} == {b""}
    assert infos["café.txt"].flag_bits & 0x800


def test_compressed_files_are_stored_and_text_is_deflated(tmp_path):
    result = write_zip(collect_entries(make_tree(tmp_path / "t", 0, 0o644)), tmp_path / "t.zip")
    with zipfile.ZipFile(result.path) as archive:
        assert archive.getinfo("pkg/data.gz").compress_type == zipfile.ZIP_STORED
        assert archive.getinfo("pkg/__init__.py").compress_type == zipfile.ZIP_DEFLATED
        assert archive.testzip() is None
        assert archive.read("pkg/__init__.py") == b"x = 1\n" * 100


def test_source_date_epoch_before_1980_is_clamped(tmp_path):
    result = write_zip(collect_entries(make_tree(tmp_path / "t", 0, 0o644)), tmp_path / "t.zip", source_date_epoch="0")
    with zipfile.ZipFile(result.path) as archive:
        assert archive.infolist()[0].date_time == (1980, 1, 1, 0, 0, 0)


def test_prefix_adds_parent_folders(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    (root / "m.py").write_text("")
    names = [entry.name for entry in collect_entries(root, prefix="python/")]
    assert names == ["python/", "python/m.py"]


def test_symlink_inside_the_tree_is_stored_as_content(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    (root / "real.txt").write_text("content")
    (root / "link.txt").symlink_to("real.txt")
    result = write_zip(collect_entries(root), tmp_path / "t.zip")
    with zipfile.ZipFile(result.path) as archive:
        assert archive.read("link.txt") == b"content"


def test_symlink_pointing_outside_is_refused(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    (tmp_path / "secret").write_text("no")
    (root / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(UnsafePathError, match="refusing to zip the symlink"):
        collect_entries(root)


def test_failed_write_leaves_the_previous_zip(tmp_path):
    root = make_tree(tmp_path / "t", 0, 0o644)
    output = tmp_path / "out.zip"
    output.write_bytes(b"previous good zip")
    entries = collect_entries(root)
    (root / "pkg" / "__init__.py").unlink()
    with pytest.raises(FileNotFoundError):
        write_zip(entries, output)
    assert output.read_bytes() == b"previous good zip"
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")] == []


def test_identical_zip_leaves_the_existing_file_untouched(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text("a = 1\n")
    output = tmp_path / "out.zip"
    write_zip(collect_entries(tree), output)
    os.utime(output, ns=(1_000_000_000, 1_000_000_000))
    inode = output.stat().st_ino
    result = write_zip(collect_entries(tree), output)
    assert output.stat().st_mtime_ns == 1_000_000_000 and output.stat().st_ino == inode
    assert result.sha256 == hashlib.sha256(output.read_bytes()).hexdigest()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.zip", "tree"]


def test_changed_content_replaces_the_zip(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text("a = 1\n")
    output = tmp_path / "out.zip"
    write_zip(collect_entries(tree), output)
    os.utime(output, ns=(1_000_000_000, 1_000_000_000))
    (tree / "a.py").write_text("a = 2\n")
    result = write_zip(collect_entries(tree), output)
    assert output.stat().st_mtime_ns != 1_000_000_000
    assert result.sha256 == hashlib.sha256(output.read_bytes()).hexdigest()


# --- large members in parallel pieces ------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "pkg/sub").mkdir(parents=True)
    rng = random.Random(4)
    words = [rng.randbytes(rng.randint(3, 12)) for _ in range(500)]
    (root / "pkg/big.so").write_bytes(b"".join(rng.choice(words) for _ in range(CHUNK // 3)))  # several chunks
    (root / "pkg/exactly_one_chunk.bin").write_bytes(b"a" * CHUNK)
    (root / "pkg/noise.bin").write_bytes(rng.randbytes(3 * CHUNK + 5))  # incompressible: stored
    (root / "pkg/bundled.whl").write_bytes(b"PK" + b"x" * 1000)  # compressed already: stored
    (root / "pkg/__init__.py").write_text("VALUE = 1\n" * 100)
    (root / "pkg/sub/empty.txt").write_bytes(b"")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    return root


@pytest.mark.parametrize("level", [1, 5, 9])
def test_the_zip_is_identical_whatever_the_number_of_workers(tree, tmp_path, level):
    entries = collect_entries(tree)
    digests = {
        workers: write_zip(entries, tmp_path / f"w{workers}.zip", level=level, workers=workers).sha256
        for workers in (1, 2, 8)
    }
    assert len(set(digests.values())) == 1
    assert hashlib.sha256((tmp_path / "w1.zip").read_bytes()).hexdigest() == digests[1]


def test_every_member_reads_back_whole(tree, tmp_path):
    write_zip(collect_entries(tree), tmp_path / "out.zip", workers=2)
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.testzip() is None
        for path in tree.rglob("*"):
            if path.is_file():
                assert archive.read(path.relative_to(tree).as_posix()) == path.read_bytes()
        methods = {info.filename: info.compress_type for info in archive.infolist()}
    assert methods["pkg/big.so"] == zipfile.ZIP_DEFLATED
    assert methods["pkg/noise.bin"] == zipfile.ZIP_STORED
    assert methods["pkg/bundled.whl"] == zipfile.ZIP_STORED


def test_a_large_member_compresses_about_as_well_in_pieces(tree, tmp_path):
    import zlib

    data = (tree / "pkg/big.so").read_bytes()
    whole = zlib.compressobj(5, zlib.DEFLATED, -zlib.MAX_WBITS)
    single = len(whole.compress(data) + whole.flush())
    write_zip(collect_entries(tree), tmp_path / "out.zip")
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        pieces = archive.getinfo("pkg/big.so").compress_size
    assert pieces <= single * 1.01


# --- how pip-lambda knows its own zips (it replaces no other file at -o) -------------------


def without_comment(data: bytes) -> bytes:
    """The zip as versions before the comment wrote it: the same bytes, the comment length set to 0."""
    end = data[: -len(COMMENT)]
    return end[:-2] + b"\0\0"


def test_every_zip_carries_pip_lambdas_comment_and_is_recognised(tmp_path):
    result = write_zip(collect_entries(make_tree(tmp_path / "t", 0, 0o644)), tmp_path / "t.zip")
    with zipfile.ZipFile(result.path) as archive:
        assert archive.comment == COMMENT == b"written by pip-lambda"
        assert archive.testzip() is None
    assert written_by_pip_lambda(result.path)


def test_zips_of_earlier_versions_are_recognised_by_their_shape(tmp_path):
    result = write_zip(collect_entries(make_tree(tmp_path / "t", 0, 0o644)), tmp_path / "t.zip")
    old = tmp_path / "old.zip"
    old.write_bytes(without_comment(result.path.read_bytes()))
    with zipfile.ZipFile(old) as archive:
        assert archive.comment == b"" and archive.testzip() is None
    assert written_by_pip_lambda(old)


def test_other_zips_and_other_files_are_not_recognised(tmp_path):
    tree = make_tree(tmp_path / "t", 1_000_000_000, 0o644)
    os.utime(tree / "pkg" / "tool.sh", (1_700_000_000, 1_700_000_000))
    python_made = tmp_path / "python.zip"
    with zipfile.ZipFile(python_made, "w") as archive:  # what shutil.make_archive does: each file's own mtime
        for path in sorted(tree.rglob("*")):
            archive.write(path, path.relative_to(tree).as_posix())
    commented = tmp_path / "commented.zip"
    with zipfile.ZipFile(commented, "w") as archive:
        archive.comment = b"built by hand"
        archive.writestr("a.py", "a = 1\n")
    extra = tmp_path / "extra.zip"
    info = zipfile.ZipInfo("a.py")
    info.extra = b"UT\x05\x00\x01\x00\x00\x00\x00"  # as zip -r writes it
    with zipfile.ZipFile(extra, "w") as archive:
        archive.writestr(info, "a = 1\n")
    text = tmp_path / "requirements.txt"
    text.write_text("purepkg\n")
    for path in (python_made, commented, extra, text, tmp_path / "missing.zip"):
        assert not written_by_pip_lambda(path), path
