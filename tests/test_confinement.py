"""A hostile RECORD never makes pip-lambda touch a file outside the package, whichever step reads it.

pip keeps the rows a wheel's own RECORD lists for files it did not install
exactly as written, so a wheel can name any path there.  Each step that reads
RECORD (the clean step and its rewrite, --exclude-package,
--exclude-runtime-provided, --exclude, every --slim rule, --strip's RECORD
refresh, --compile) runs on trees laid out by hand with such rows, next to
sentinel files outside the package that every row aims at; one build with the
real pip installs fabricated hostile wheels.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import pytest

from pip_lambda.pip.requirements import RequirementSet
from pip_lambda.plan.request import TrimOptions
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target
from pip_lambda.tree.clean import clean_site
from pip_lambda.trim.steps import trim

from conftest import make_wheel

TARGET = Target(get_runtime(f"python3.{sys.version_info.minor}"), Arch.X86_64)
NO_REQUIREMENTS = RequirementSet(lines=(), files=())
UP = "../"
BACK = "..\\"

# The site lies at <tmp>/project/build/<site>, as a build's staging folder does: three levels below <tmp>.
SENTINELS = (
    "project/app.py",
    "project/stub.pyi",
    "project/source.c",
    "project/nul.txt",
    "beside.txt",
    "absolute.txt",
    "deep.txt",
    "outside/linked.pyi",
)


def hostile_rows(package: str, tmp: Path, *, symlink: bool = True) -> list[str]:
    """RECORD rows aimed at the sentinels, each escaping in its own way (and each a target of some --slim rule)."""
    rows = [
        f"{package}/tests/{UP * 4}app.py",  # through a tests/ folder: --slim's tests rule
        f"{package}/docs/{UP * 5}beside.txt",  # beside the project, through docs/: --slim's docs rule
        f"{package}/{UP * 3}stub.pyi",  # --slim's type-stubs rule
        f"{package}\\tests\\{BACK * 4}source.c",  # backslashes: --slim's c-sources rule
        f"{package}/tests/\x00/{UP * 5}nul.txt",  # a NUL byte
        str(tmp / "absolute.txt"),  # absolute
        f"{package}/{UP * 40}{str(tmp / 'deep.txt').lstrip('/')}",  # 40 levels up, then down to an absolute path
        f"../../{UP}project/app.py",  # pip's data-scheme form, climbing further
    ]
    if symlink:
        rows.append(f"{package}/link/linked.pyi")  # through a symlinked folder pointing outside
    return rows


def plant_sentinels(tmp: Path) -> dict[Path, bytes]:
    planted = {}
    for name in SENTINELS:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"sentinel {name}\n".encode())
        planted[path] = path.read_bytes()
    return planted


def _row(path: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [path, f"sha256={digest}", str(len(data))]


def lay_out_distribution(site: Path, name: str, extra: dict[str, bytes], rows: list[str], outside: Path) -> None:
    """A distribution as pip leaves it, with ``rows`` added to its RECORD and a folder symlinked to ``outside``."""
    files = {
        f"{name}/__init__.py": b"",
        f"{name}/tests/__init__.py": b"",
        f"{name}/tests/test_it.py": f"import {name}\n".encode(),
        f"{name}/docs/index.rst": b"docs\n",
        f"{name}-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
        f"{name}-1.0.dist-info/INSTALLER": b"pip\n",
        **extra,
    }
    for path, data in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_bytes(data)
    (site / name / "link").symlink_to(outside, target_is_directory=True)
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\r\n")  # as pip writes it
    writer.writerows(_row(path, data) for path, data in files.items())
    writer.writerows([row, "", ""] for row in rows)
    writer.writerow([f"{name}-1.0.dist-info/RECORD", "", ""])
    (site / f"{name}-1.0.dist-info/RECORD").write_text(record.getvalue(), "utf-8")


def lay_out(tmp: Path, keeper_files: dict[str, bytes] | None = None) -> tuple[Path, dict[Path, bytes]]:
    """A site with three hostile distributions: evil, one merely named jmespath, and keeper; the sentinels."""
    planted = plant_sentinels(tmp)
    site = tmp / "project" / "build" / "lambda"
    site.mkdir(parents=True)
    for name in ("evil", "jmespath", "keeper"):
        extra = (keeper_files or {}) if name == "keeper" else {}
        lay_out_distribution(site, name, extra, hostile_rows(name, tmp), tmp / "outside")
    return site, planted


def debug_library(folder: Path) -> bytes:
    from test_strip import debug_library as build  # skips without a C compiler and strip

    return build(folder)


STEPS: dict[str, tuple[TrimOptions, str]] = {
    # step: (options, a file the step removes or adds, to show it ran)
    "exclude-package": (TrimOptions(exclude_packages=("evil",)), "-evil/__init__.py"),
    "exclude-runtime-provided": (TrimOptions(exclude_runtime_provided=True), "-jmespath/__init__.py"),
    "exclude": (TrimOptions(exclude=("*.pyi", "*.c", "*.txt", "docs", "link")), "-keeper/docs/index.rst"),
    "slim": (TrimOptions(slim=True), "-keeper/tests/test_it.py"),
    "strip": (TrimOptions(strip=True), "+keeper/_debug.so"),
    "compile": (TrimOptions(compile=True, python=sys.executable), "+keeper/__pycache__"),
}


def assert_sentinels_intact(planted: dict[Path, bytes]) -> None:
    for path, data in planted.items():
        assert path.is_file() and path.read_bytes() == data, f"{path} was touched"


def assert_records_match_the_tree(site: Path) -> None:
    """Every row names a file inside the site, with its current hash and size."""
    for record in site.glob("*.dist-info/RECORD"):
        for path, digest, _ in csv.reader(io.StringIO(record.read_text("utf-8"))):
            assert (site / path).resolve().is_relative_to(site.resolve()), path
            if digest:
                assert _row(path, (site / path).read_bytes())[1] == digest, path


@pytest.mark.parametrize("step", ["clean", *STEPS])
def test_hostile_record_rows_touch_nothing_outside_and_are_named(tmp_path, step):
    keeper = {"keeper/_debug.so": debug_library(tmp_path)} if step == "strip" else None
    site, planted = lay_out(tmp_path, keeper)
    warnings = clean_site(site)
    if step != "clean":
        options, shows = STEPS[step]
        result = trim(site, options, TARGET, NO_REQUIREMENTS, "/var/task")
        warnings += result.warnings
        assert (site / shows[1:]).exists() is (shows[0] == "+"), f"{step} did not run"
    if keeper:
        assert (site / "keeper/_debug.so").stat().st_size < len(keeper["keeper/_debug.so"]), "strip did not run"
    assert_sentinels_intact(planted)
    assert_records_match_the_tree(site)
    # The clean step drops the rows and says so, once per distribution, naming it; later steps find nothing more.
    escapes = [warning for warning in warnings if "outside the package" in warning]
    assert [warning.split(":")[0] for warning in escapes] == ["evil==1.0", "jmespath==1.0", "keeper==1.0"]
    assert all("names 9 path(s) outside the package" in warning for warning in escapes)
    assert repr(str(tmp_path / "absolute.txt")) not in escapes[0]  # only the first three rows are quoted
    assert "'evil/tests/../../../../app.py'" in escapes[0]


@pytest.mark.parametrize("step", ["exclude-package", "exclude-runtime-provided", "slim"])
def test_steps_that_read_record_stay_inside_even_before_the_clean_step(tmp_path, step):
    site, planted = lay_out(tmp_path)
    trim(site, STEPS[step][0], TARGET, NO_REQUIREMENTS, "/var/task")
    assert_sentinels_intact(planted)


def test_the_trim_result_keeps_file_lists_after_slim_removes_record(tmp_path):
    site, _ = lay_out(tmp_path)
    clean_site(site)
    result = trim(site, TrimOptions(slim=True), TARGET, NO_REQUIREMENTS, "/var/task")
    assert not list(site.glob("*.dist-info/RECORD"))
    keeper = next(dist for dist in result.distributions if dist.name == "keeper")
    assert {"keeper/__init__.py", "keeper-1.0.dist-info/METADATA"} <= set(keeper.files)
    assert "keeper/tests/test_it.py" not in keeper.files  # slim took it before the list was read


def hostile_wheel(directory: Path, name: str, rows: list[str], **kwargs: object) -> Path:
    """A real wheel (conftest.make_wheel) whose RECORD also lists ``rows``."""
    wheel = make_wheel(directory, name, **kwargs)  # type: ignore[arg-type]
    with zipfile.ZipFile(wheel) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    record = next(member for member in members if member.endswith(".dist-info/RECORD"))
    members[record] += "".join(f"{row},,\n" for row in rows).encode()
    with zipfile.ZipFile(wheel, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return wheel


def test_a_build_with_hostile_wheels_touches_nothing_outside_and_warns(tmp_path, project, run):
    planted = plant_sentinels(tmp_path)
    house = tmp_path / "house"
    house.mkdir()
    for name in ("evil", "jmespath", "keeper"):
        files = {
            f"{name}/__init__.py": b"",
            f"{name}/tests/__init__.py": b"",
            f"{name}/tests/test_it.py": f"import {name}\n".encode(),
            f"{name}/docs/index.rst": b"docs\n",
        }
        hostile_wheel(house, name, hostile_rows(name, tmp_path, symlink=False), files=files)
    result = run(
        "install",
        "--runtime",
        "python3.12",
        "--no-index",
        "--find-links",
        str(house),
        "evil",
        "jmespath",
        "keeper",
        "--slim",
        "--exclude-package",
        "evil",
        "--exclude-runtime-provided",
        "--report",
        "build/report.json",
    )
    assert result.exit_code == 0, result.err
    assert_sentinels_intact(planted)
    for name in ("evil", "jmespath", "keeper"):
        assert f"warning: {name}==1.0: its RECORD names 8 path(s) outside the package" in result.err
    report = json.loads((project / "build/report.json").read_text())
    assert sum("outside the package" in warning for warning in report["builds"][0]["warnings"]) == 3
    assert "left out:      evil==1.0, jmespath==1.0" in result.out
    assert not (project / "build/lambda/keeper/tests").exists()
