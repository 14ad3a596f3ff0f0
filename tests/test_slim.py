"""--slim: each named rule on fabricated packages, what must survive, and real pandas/numpy afterwards."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from pip_lambda.trim.slim import RULES, imported_names

from conftest import interpreter_for, make_wheel, make_writable, unzip_read_only, zip_names

FAT = {
    "fat/__init__.py": b"from . import core\n",
    "fat/core.py": b"def answer():\n    return 42\n",
    "fat/core.pyi": b"def answer() -> int: ...\n",
    "fat/py.typed": b"",
    "fat/_speed.c": b"int speed;\n",
    "fat/_speed.pyx": b"cdef int speed\n",
    "fat/_speed.pxd": b"cdef int speed\n",
    "fat/src/vector.cpp": b"int v;\n",
    "fat/include/fat.h": b"int fat;\n",
    "fat/include/fat.hpp": b"int fat;\n",
    "fat/tests/__init__.py": b"",
    "fat/tests/test_core.py": b"import fat\n\ndef test_answer():\n    assert fat.core.answer() == 42\n",
    "fat/tests/data/sample.json": b"{}\n",
    "fat/sub/tests/test_sub.py": b"import fat\n",
    "fat/docs/index.rst": b"Fat\n===\n",
    "fat/examples/demo.py": b"import fat\nprint(fat.core.answer())\n",
    "fat/testdata/big.bin": b"x" * 100,
    "fat/conftest.py": b"from fat.tests import test_core\n",
    "fat-1.0.dist-info/licenses/LICENSE": b"MIT\n",
}


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("slim-house")
    make_wheel(folder, "fat", files=FAT, scripts=["fat-cli"])
    # Packages that import their own tests or docs, each in a different way: all must keep them.
    make_wheel(
        folder,
        "selfabs",
        files={"selfabs/__init__.py": b"import selfabs.tests.helpers\n", "selfabs/tests/helpers.py": b"h = 1\n"},
    )
    make_wheel(
        folder,
        "selfrel",
        files={
            "selfrel/__init__.py": b"",
            "selfrel/api.py": b"from .tests import helpers\n",
            "selfrel/tests/__init__.py": b"",
            "selfrel/tests/helpers.py": b"from ..docs import text\n",
            "selfrel/docs/__init__.py": b"",
            "selfrel/docs/text.py": b"t = 'doc'\n",
        },
    )
    make_wheel(
        folder,
        "selfdyn",
        files={
            "selfdyn/__init__.py": b"import importlib\nmod = importlib.import_module('selfdyn.tests.fixtures')\n",
            "selfdyn/tests/fixtures.py": b"f = 1\n",
        },
    )
    # A data folder called test (no Python files) and a top-level tests folder are not test suites inside a package.
    make_wheel(
        folder,
        "datapkg",
        files={"datapkg/__init__.py": b"", "datapkg/test/table.csv": b"a,b\n", "tests/__init__.py": b""},
    )
    return folder


@pytest.fixture
def local(house: Path) -> list[str]:
    return ["--runtime", "python3.12", "--no-index", "--find-links", str(house)]


@pytest.fixture
def slimmed(project: Path, run, local) -> tuple[set[str], str]:
    (project / "app").mkdir()
    (project / "app" / "handler.py").write_text("import selfrel.api\n")
    (project / "app" / "tests").mkdir()
    (project / "app" / "tests" / "test_handler.py").write_text("import app.handler\n")
    result = run("install", *local, "fat", "selfabs", "selfrel", "selfdyn", "datapkg", "--code", "app", "--slim")
    assert result.exit_code == 0, result.err
    return set(zip_names(project / "build/lambda.zip")), result.out


def test_tests_rule_removes_test_suites_inside_packages(slimmed):
    names, _ = slimmed
    assert not [name for name in names if name.startswith(("fat/tests", "fat/sub/tests"))]
    assert "fat/testdata/big.bin" in names


def test_type_stubs_rule(slimmed):
    names, _ = slimmed
    assert "fat/core.pyi" not in names and "fat/py.typed" not in names
    assert "fat/core.py" in names


def test_c_sources_rule(slimmed):
    names, _ = slimmed
    for source in ("fat/_speed.c", "fat/_speed.pyx", "fat/_speed.pxd", "fat/src/vector.cpp", "fat/include/fat.h"):
        assert source not in names
    assert "fat/include/" not in names and "fat/src/" not in names, "emptied folders go too"


def test_docs_rule(slimmed):
    names, _ = slimmed
    assert not [name for name in names if name.startswith(("fat/docs", "fat/examples"))]


def test_record_rule_keeps_metadata_entry_points_and_licences(slimmed):
    names, _ = slimmed
    assert not [name for name in names if name.endswith(".dist-info/RECORD")]
    assert {
        "fat-1.0.dist-info/METADATA",
        "fat-1.0.dist-info/entry_points.txt",
        "fat-1.0.dist-info/licenses/LICENSE",
        "fat-1.0.dist-info/WHEEL",
    } <= names


@pytest.mark.parametrize(
    "kept",
    [
        "selfabs/tests/helpers.py",
        "selfrel/tests/helpers.py",
        "selfrel/docs/text.py",
        "selfdyn/tests/fixtures.py",
        "datapkg/test/table.csv",
        "tests/__init__.py",
        "app/tests/test_handler.py",
    ],
)
def test_what_code_imports_or_does_not_own_survives(slimmed, kept):
    names, _ = slimmed
    assert kept in names


def test_summary_gives_bytes_saved_per_rule(slimmed):
    _, out = slimmed
    saved = {rule: int(size.replace(",", "")) for rule, size in re.findall(r"slim:([\w-]+)\s+-([\d,]+) B", out)}
    assert set(saved) == {rule.name for rule in RULES}
    tests = [
        "fat/tests/__init__.py",
        "fat/tests/test_core.py",
        "fat/tests/data/sample.json",
        "fat/sub/tests/test_sub.py",
    ]
    # Each rule's bytes are its files' plus their rows in RECORD.
    assert saved["tests"] > sum(len(FAT[name]) for name in tests)
    assert saved["type-stubs"] > len(FAT["fat/core.pyi"]) + len(FAT["fat/py.typed"])
    before = int(re.search(r"before\s+([\d,]+) B", out).group(1).replace(",", ""))
    after = int(re.search(r"after\s+([\d,]+) B", out).group(1).replace(",", ""))
    assert after == before - sum(saved.values())


def test_importlib_metadata_still_works(slimmed, project):
    code = "import importlib.metadata as m; print(m.version('fat'), m.entry_points(group='console_scripts')['fat-cli'].value)"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(project / "build/lambda")}
    done = subprocess.run([sys.executable, "-B", "-c", code], capture_output=True, text=True, env=env, check=False)
    assert done.stdout.split() == ["1.0", "fat:main"], done.stderr


@pytest.mark.parametrize(
    ("source", "path", "expected"),
    [
        (b"import a.tests.x", "a/mod.py", {"a.tests.x"}),
        (b"from . import tests", "a/__init__.py", {"a", "a.tests"}),
        (b"from .tests import h", "a/b.py", {"a.tests", "a.tests.h"}),
        (b"from ..docs import t", "a/b/c.py", {"a.docs", "a.docs.t"}),
        (b"x = 'a.tests.fixtures'", "a/b.py", {"a.tests.fixtures"}),
    ],
)
def test_imported_names_resolve_relative_imports(source, path, expected):
    assert imported_names(source, PurePosixPath(path)) >= expected


@pytest.mark.network
def test_pandas_and_numpy_work_after_slim(network, project, run, tmp_path):
    python = interpreter_for("python3.12")
    result = run("install", "--runtime", "python3.12", "pandas", "--slim")
    assert result.exit_code == 0, result.err
    names = zip_names(project / "build/lambda.zip")
    assert not [name for name in names if name.startswith(("pandas/tests/", "numpy/_core/tests/"))]
    assert "pandas/_testing/__init__.py" in names and "numpy/testing/__init__.py" in names
    folder = unzip_read_only(project / "build/lambda.zip", tmp_path / "ro")
    code = (
        "import importlib.metadata, numpy, pandas\n"
        "frame = pandas.DataFrame({'k': ['a', 'b', 'a'], 'v': numpy.arange(3.0)})\n"
        "print(frame.groupby('k')['v'].sum().to_dict(), importlib.metadata.version('pandas') == pandas.__version__)\n"
    )
    try:
        done = subprocess.run(
            [*python, "-I", "-B", "-c", f"import sys; sys.path.insert(0, {str(folder)!r})\n{code}"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            check=False,
        )
    finally:
        make_writable([folder])
    assert done.stdout.strip() == "{'a': 2.0, 'b': 1.0} True", done.stderr
