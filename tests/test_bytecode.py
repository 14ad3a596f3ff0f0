"""--compile: unchecked-hash bytecode from the runtime's Python, used from a read-only tree, reproducible."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from pip_lambda.errors import EXIT_ENVIRONMENT

from conftest import interpreter_for, make_wheel, make_writable, zip_names

SOURCE = {
    # A frozenset constant is marshalled in string-hash order, which differs between processes unless seeded.
    "compiled/__init__.py": b"from .core import answer\n\ndef known(kind):\n    return kind in {'alpha', 'beta', 'gamma', 'delta'}\n",
    "compiled/core.py": b"def answer():\n    return 42\n",
    "compiled/py2only.py": b"print 'never valid Python 3'\n",
}


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("compile-house")
    make_wheel(folder, "compiled", files=SOURCE)
    return folder


@pytest.fixture
def local(house: Path) -> list[str]:
    return ["--runtime", "python3.12", "--no-index", "--find-links", str(house)]


def build_compiled(folder: Path, run, local) -> Path:
    folder.mkdir(parents=True)
    os.chdir(folder)
    (folder / "handler.py").write_text(
        "import compiled\n\ndef handler(event, context):\n    return compiled.answer()\n"
    )
    result = run("install", *local, "compiled", "--code", "handler.py", "--compile")
    assert result.exit_code == 0, result.err
    assert re.search(r"\n  compile +\+[\d,]+ B", result.out)
    return folder / "build/lambda.zip"


def test_bytecode_is_unchecked_hash_for_the_runtime(project, run, local):
    interpreter_for("python3.12")
    archive = build_compiled(project / "a", run, local)
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        headers = {name: zipped.read(name)[:16] for name in names if name.endswith(".pyc")}
    assert set(headers) == {
        "__pycache__/handler.cpython-312.pyc",
        "compiled/__pycache__/__init__.cpython-312.pyc",
        "compiled/__pycache__/core.cpython-312.pyc",
    }
    for header in headers.values():
        assert int.from_bytes(header[4:8], "little") == 0b01, "PEP 552 flags: hash-based, not checked"
    assert not [name for name in names if "dist-info/__pycache__" in name]


def run_from(python: list[str], folder: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that imports from ``folder`` and may not write bytecode."""
    return subprocess.run(
        [*python, "-I", "-B", "-c", f"import sys; sys.path.insert(0, {str(folder)!r})\n{code}"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )


def test_bytecode_is_used_from_a_read_only_folder(project, run, local, tmp_path):
    python = interpreter_for("python3.12")
    archive = build_compiled(project / "a", run, local)
    folder = tmp_path / "task"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(folder)
    # Unchecked-hash bytecode is never compared with its source: a changed source proves the .pyc is what runs.
    (folder / "compiled/core.py").write_text("def answer():\n    return 'the source was compiled again'\n")
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    before = sorted(folder.rglob("*"))
    try:
        done = run_from(
            python, folder, "import handler, compiled.core as c; print(handler.handler(None, None), c.__cached__)"
        )
    finally:
        make_writable([folder])
    answer, cached = done.stdout.split()
    assert answer == "42", done.stderr
    assert cached.endswith("compiled/__pycache__/core.cpython-312.pyc")
    assert sorted(folder.rglob("*")) == before


def test_compiled_zips_are_byte_identical(tmp_path, run, local, monkeypatch):
    interpreter_for("python3.12")
    monkeypatch.chdir(tmp_path)
    first = build_compiled(tmp_path / "one", run, local)
    second = build_compiled(tmp_path / "two" / "deeper", run, local)
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()


def test_bytecode_records_the_lambda_path_not_the_build_folder(project, run, local):
    interpreter_for("python3.12")
    archive = build_compiled(project / "a", run, local)
    with zipfile.ZipFile(archive) as zipped:
        data = zipped.read("compiled/__pycache__/core.cpython-312.pyc")
    assert b"/var/task/compiled/core.py" in data
    assert str(project).encode() not in data


def test_compile_without_an_interpreter_fails_before_pip_runs(project, run, local, monkeypatch, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("PYENV_ROOT", str(empty))
    monkeypatch.setenv("HOME", str(empty))
    result = run("install", *local, "compiled", "--compile")
    assert result.exit_code == EXIT_ENVIRONMENT
    assert "error: --compile needs a Python 3.12 interpreter to write bytecode python3.12 can load" in result.err
    assert "pyenv install 3.12" in result.err and "--python PATH" in result.err
    assert not (project / "build").exists()


def test_compile_with_a_wrong_explicit_interpreter_fails_clearly(project, run, local):
    result = run("install", *local, "compiled", "--compile", "--python", "/no/such/python")
    assert result.exit_code == EXIT_ENVIRONMENT
    assert "error: --python /no/such/python is not a working Python 3.12" in result.err


def test_compile_runs_after_host_bytecode_is_dropped_and_after_exclude(project, run, local):
    interpreter_for("python3.12")
    (project / "app" / "__pycache__").mkdir(parents=True)
    (project / "app" / "main.py").write_text("x = 1\n")
    (project / "app" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"host bytecode")
    result = run("install", *local, "compiled", "--code", "app", "--exclude", "compiled/core.py", "--compile")
    assert result.exit_code == 0, result.err
    compiled = sorted(name for name in zip_names(project / "build/lambda.zip") if name.endswith(".pyc"))
    assert compiled == ["app/__pycache__/main.cpython-312.pyc", "compiled/__pycache__/__init__.cpython-312.pyc"]


def test_layer_bytecode_records_the_layer_path(project, run, local):
    interpreter_for("python3.12")
    result = run("install", *local, "compiled", "--layer", "--compile")
    assert result.exit_code == 0, result.err
    with zipfile.ZipFile(project / "build/layer.zip") as zipped:
        data = zipped.read("python/compiled/__pycache__/core.cpython-312.pyc")
    assert b"/opt/python/compiled/core.py" in data
