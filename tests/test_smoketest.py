"""The import smoke test: what it imports does not depend on trimming, and what it runs in sees nothing of this machine."""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path

import pytest

from pip_lambda.checks.smoketest import site_modules, top_level_modules
from pip_lambda.errors import EXIT_VERIFY_FAILED
from pip_lambda.tree.distributions import find_distributions

from conftest import make_wheel


def host_runtime() -> str:
    return f"python{sys.version_info[0]}.{sys.version_info[1]}"


def without_top_level(wheel: Path) -> Path:
    """The wheel rewritten without top_level.txt (nor its RECORD row): RECORD alone names its modules."""
    with zipfile.ZipFile(wheel) as archive:
        members = {name: archive.read(name) for name in archive.namelist() if not name.endswith("/top_level.txt")}
    record = next(name for name in members if name.endswith("/RECORD"))
    rows = [row for row in members[record].decode().splitlines() if "/top_level.txt," not in row]
    members[record] = ("\n".join(rows) + "\n").encode()
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return wheel


@pytest.fixture
def record_only_house(tmp_path: Path) -> Path:
    """A wheel of three top-level modules, each failing at import with its own name, known only from RECORD."""
    house = tmp_path / "house"
    house.mkdir()
    files = {
        "alpha/__init__.py": b"raise RuntimeError('alpha ran')\n",
        "beta.py": b"raise RuntimeError('beta ran')\n",
        "gamma/__init__.py": b"raise RuntimeError('gamma ran')\n",
        "gamma/tests/__init__.py": b"",
        "gamma/tests/test_gamma.py": b"",
    }
    without_top_level(make_wheel(house, "threemods", files=files))
    return house


def imported(err: str) -> list[str]:
    return sorted(set(re.findall(r"import (\w+) failed: RuntimeError: \1 ran", err)))


@pytest.mark.parametrize("slim", [[], ["--slim"]], ids=["plain", "slim"])
def test_the_modules_imported_do_not_depend_on_slim_removing_record(project, run, record_only_house, slim):
    result = run(
        "install",
        "--runtime",
        host_runtime(),
        "--no-index",
        "--find-links",
        str(record_only_house),
        "threemods",
        "--verify-import",
        "--python",
        sys.executable,
        *slim,
    )
    assert result.exit_code == EXIT_VERIFY_FAILED, result.err
    assert imported(result.err) == ["alpha", "beta", "gamma"]


def test_a_tree_without_metadata_imports_its_top_level_entries(tmp_path, run):
    tree = tmp_path / "foreign"
    for name, text in {
        "pkg/__init__.py": "raise RuntimeError('pkg ran')\n",
        "mod.py": "raise RuntimeError('mod ran')\n",
        "data/readme.txt": "not a package\n",
        "lib/libhelper.so.1": "",
        "__init__.py": "",
    }.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    result = run("verify", str(tree), "--runtime", host_runtime(), "--import", "--python", sys.executable, "--json")
    assert result.exit_code == EXIT_VERIFY_FAILED
    document = json.loads(result.out)
    assert document["import_test"]["modules"] == ["mod", "pkg"]
    assert {finding["path"] for finding in document["findings"]} == {"mod", "pkg"}


def test_site_and_distribution_modules(tmp_path):
    site = tmp_path / "site"
    wheel = make_wheel(
        tmp_path,
        "demo",
        files={"demo/__init__.py": b"", "demo_ext.cpython-312-x86_64-linux-gnu.so": b"", "helper.py": b""},
    )
    with zipfile.ZipFile(without_top_level(wheel)) as archive:
        archive.extractall(site)
    (distribution,) = find_distributions(site)
    assert top_level_modules(site, distribution) == ["demo", "demo_ext", "helper"]
    assert site_modules(site) == ["demo", "demo_ext", "helper"]


PROBE = b"""
import json, os
home = os.environ.get("HOME", "")
raise RuntimeError("ENV " + json.dumps({
    "keys": sorted(os.environ),
    "home": home,
    "home_entries": os.listdir(home) if home and os.path.isdir(home) else None,
    "tmp_writable": os.access(os.environ.get("TMPDIR", "/nonexistent"), os.W_OK),
}))
"""


def test_the_import_runs_with_an_empty_home_and_no_credentials(tmp_path, run, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    monkeypatch.setenv("GITHUB_TOKEN", "do-not-leak")
    tree = tmp_path / "tree"
    with zipfile.ZipFile(make_wheel(tmp_path, "envprobe", files={"envprobe/__init__.py": PROBE})) as archive:
        archive.extractall(tree)
    result = run("verify", str(tree), "--runtime", host_runtime(), "--import", "--python", sys.executable)
    assert "do-not-leak" not in result.out
    seen = json.loads(re.search(r"ENV (\{.*\})", result.out).group(1))
    assert set(seen["keys"]) <= {"PATH", "LANG", "LD_LIBRARY_PATH", "HOME", "TMPDIR", "LC_CTYPE"}
    assert {"HOME", "TMPDIR"} <= set(seen["keys"])
    assert seen["home"] != str(Path.home())
    assert seen["home_entries"] == []
    assert seen["tmp_writable"] is True
