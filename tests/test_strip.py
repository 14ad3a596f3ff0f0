"""--strip: debug symbols go from shared objects that pass the checks; anything doubtful stays as it was."""

from __future__ import annotations

import base64
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target
from pip_lambda.trim.strip import strip_files

from conftest import make_wheel

TAG = "cp312-cp312-manylinux_2_17_x86_64"
TARGET = Target(get_runtime("python3.12"), Arch.X86_64)


def debug_library(folder: Path) -> bytes:
    """A real x86_64 shared object with debug information, or skip."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None or not shutil.which("strip"):
        pytest.skip("needs a C compiler and strip")
    source = folder / "seven.c"
    source.write_text("int seven(void) { return 7; }\n")
    output = folder / "libseven.so"
    command = [compiler, "-g", "-O0", "-shared", "-fPIC", "-Wl,-soname,libseven.so", "-o", str(output), str(source)]
    subprocess.run(command, check=True)
    return output.read_bytes()


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    folder = tmp_path_factory.mktemp("strip-house")
    library = debug_library(folder)
    make_wheel(
        folder,
        "native",
        tag=TAG,
        files={
            "native/__init__.py": b"",
            "native/_seven.so": library,
            "native/fake.so": b"\x7fELF but not really an ELF file",
            "native/text.so": b"not an ELF file at all",
        },
    )
    return folder, library


@pytest.fixture
def local(house) -> list[str]:
    # The deliberately broken .so files would fail verification, which these tests are not about.
    return ["--runtime", "python3.12", "--no-index", "--find-links", str(house[0]), "--no-verify"]


def test_debug_symbols_are_stripped_and_the_library_still_loads(project, run, local, house):
    result = run("install", *local, "native", "--strip")
    assert result.exit_code == 0, result.err
    stripped = project / "build/lambda/native/_seven.so"
    assert stripped.stat().st_size < len(house[1])
    assert ctypes.CDLL(str(stripped)).seven() == 7
    assert b".debug_info" not in stripped.read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(stripped.read_bytes()).digest()).rstrip(b"=").decode()
    record = (project / "build/lambda/native-1.0.dist-info/RECORD").read_text()
    assert f"native/_seven.so,sha256={digest},{stripped.stat().st_size}" in record
    assert re.search(r"\n  strip +-[\d,]+ B", result.out)


def test_files_that_are_not_valid_elf_are_left_alone(project, run, local):
    assert run("install", *local, "native", "--strip").exit_code == 0
    assert (project / "build/lambda/native/fake.so").read_bytes() == b"\x7fELF but not really an ELF file"
    assert (project / "build/lambda/native/text.so").read_bytes() == b"not an ELF file at all"


def fake_strip(folder: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Put a ``strip`` (and its cross-named twin) running ``script`` first on PATH."""
    folder.mkdir()
    for name in ("strip", "x86_64-linux-gnu-strip"):
        tool = folder / name
        tool.write_text(f"#!/bin/sh\n{script}\n")
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")


def test_a_failing_strip_keeps_the_original(project, run, local, house, monkeypatch, tmp_path):
    fake_strip(tmp_path / "bin", "echo 'strip: cannot do that' >&2; exit 1", monkeypatch)
    assert run("install", *local, "native", "--strip").exit_code == 0
    assert (project / "build/lambda/native/_seven.so").read_bytes() == house[1]


def test_a_strip_that_writes_a_broken_file_keeps_the_original(project, run, local, house, monkeypatch, tmp_path):
    # Arguments are: --strip-debug -o OUTPUT INPUT; write a short, invalid ELF file as the output.
    fake_strip(tmp_path / "bin", 'printf "\\177ELF broken" > "$3"', monkeypatch)
    assert run("install", *local, "native", "--strip").exit_code == 0
    assert (project / "build/lambda/native/_seven.so").read_bytes() == house[1]
    assert not list((project / "build/lambda/native").glob("*.pip-lambda-strip"))


def test_a_copy_with_another_dynamic_section_keeps_the_original(tmp_path, house, monkeypatch):
    library = tmp_path / "site" / "libseven.so"
    library.parent.mkdir()
    library.write_bytes(house[1])
    # A smaller, valid ELF file that differs only in its soname, a string of the same length.
    other = tmp_path / "libsevex.so"
    source = tmp_path / "seven.c"
    source.write_text("int seven(void) { return 7; }\n")
    compiler = shutil.which("gcc") or shutil.which("cc") or "cc"
    command = [compiler, "-g", "-O0", "-shared", "-fPIC", "-Wl,-soname,libsevex.so", "-o", str(other), str(source)]
    subprocess.run(command, check=True)
    subprocess.run(["strip", "--strip-debug", str(other)], check=True)
    fake_strip(tmp_path / "bin", f'cp {other} "$3"', monkeypatch)
    result = strip_files(tmp_path / "site", ["libseven.so"], TARGET)
    assert result.stripped == () and result.kept == ("libseven.so",)
    assert library.read_bytes() == house[1]


def test_without_strip_the_build_warns_and_keeps_everything(tmp_path, house, monkeypatch):
    library = tmp_path / "site" / "libseven.so"
    library.parent.mkdir()
    library.write_bytes(house[1])
    monkeypatch.setenv("PATH", str(tmp_path))
    result = strip_files(tmp_path / "site", ["libseven.so"], TARGET)
    assert result.tool is None and result.kept == ("libseven.so",)
    assert library.read_bytes() == house[1]


def test_a_hostile_binary_is_kept_as_it_is_without_walking_it(tmp_path, monkeypatch):
    from elf_samples import build_elf

    hostile = build_elf(sections={".gnu.version_r": {"info": 0xFFFFFFFF}, ".dynamic": {"size": 1 << 40}})
    (tmp_path / "evil.so").write_bytes(hostile)
    tool = tmp_path / "strip"
    tool.write_text("#!/bin/sh\nexit 0\n")  # never reached: the file is refused before strip runs
    tool.chmod(0o755)
    monkeypatch.setattr("pip_lambda.trim.strip.find_strip", lambda target: str(tool))
    walked: list[Path] = []
    monkeypatch.setattr("pip_lambda.trim.strip._fingerprint", walked.append)
    result = strip_files(tmp_path, ["evil.so"], Target(get_runtime("python3.12"), Arch.X86_64))
    assert result.kept == ("evil.so",)
    assert walked == []  # pyelftools never walked it: the bounded reader refused it first
    assert (tmp_path / "evil.so").read_bytes() == hostile
