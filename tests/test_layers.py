"""--with-layer: a function counted, warned about and verified together with the layers it is deployed with."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
from elf_samples import build_elf

from pip_lambda.checks.findings import Level
from pip_lambda.errors import EXIT_OK, EXIT_TOO_LARGE, EXIT_USAGE, EXIT_VERIFY_FAILED, SizeLimitError, UsageError
from pip_lambda.plan.layers import Layer, layer_findings, read_layer
from pip_lambda.plan.limits import UNZIPPED_LIMIT, check_unzipped
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target
from pip_lambda.report.document import schema
from pip_lambda.tree.distributions import Distribution

from conftest import make_wheel

HOST = f"python{sys.version_info[0]}.{sys.version_info[1]}"
"""The runtime of the Python running the tests, so the import test can use it."""
TARGET = Target(get_runtime(HOST), Arch.X86_64)


@pytest.fixture
def house(tmp_path: Path) -> Path:
    """Wheels of two versions of one distribution, and one that only a layer carries."""
    folder = tmp_path / "house"
    folder.mkdir()
    make_wheel(folder, "shared", "1.0")
    make_wheel(folder, "shared", "2.0")
    make_wheel(folder, "layeronly", files={"layeronly/__init__.py": b"VALUE = 42\n"})
    make_wheel(folder, "other")
    return folder


def build(run, house: Path, *arguments: str) -> object:
    return run("install", "--runtime", HOST, "--no-index", "--find-links", str(house), *arguments)


def build_layer(run, house: Path, name: str, *requirements: str) -> Path:
    """A layer zip built by pip-lambda itself (--layer)."""
    result = build(run, house, "--layer", "-t", f"build/{name}", *requirements)
    assert result.exit_code == EXIT_OK, result.err
    return Path(f"build/{name}.zip")


def stub_layer(path: Path, size: int, name: str = "bigdep") -> Path:
    """A layer declaring ``size`` bytes unzipped, most of them in a file it does not hold: no disk for big sizes."""
    dist_info = f"{name}-1.0.dist-info"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"python/{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        archive.writestr(
            f"python/{dist_info}/RECORD", f"{name}/data.bin,,\n{dist_info}/METADATA,,\n{dist_info}/RECORD,,\n"
        )
        small = sum(info.file_size for info in archive.infolist())
        archive.writestr(f"python/{name}/data.bin", b"")
        archive.infolist()[-1].file_size = size - small  # written to the central directory when the zip closes
    return path


def layer_of(name: str, size: int, *distributions: Distribution) -> Layer:
    return Layer(Path(name), "0" * 64, size, ("python",), distributions, ())


def dist(name: str, version: str = "1.0", size: int = 0) -> Distribution:
    return Distribution(name, version, f"{name}-{version}.dist-info", (), size)


# --- reading a layer zip ---------------------------------------------------------------------------


@pytest.mark.usefixtures("fake_pip")
def test_a_layer_built_by_pip_lambda_is_read_from_its_central_directory(project, run, house):
    zipped = build_layer(run, house, "deps", "shared==1.0", "other")
    layer = read_layer(zipped, TARGET)
    with zipfile.ZipFile(zipped) as archive:
        files = [info for info in archive.infolist() if not info.is_dir()]
        assert layer.unzipped_size == sum(info.file_size for info in files)
        shared_files = [info for info in files if info.filename.startswith("python/shared")]
    assert [(item.name, item.version) for item in layer.distributions] == [("other", "1.0"), ("shared", "1.0")]
    assert layer.distributions[1].size == sum(info.file_size for info in shared_files)
    assert layer.sites == ("python",)
    assert layer.sha256 == hashlib.sha256(zipped.read_bytes()).hexdigest()


@pytest.mark.usefixtures("fake_pip")
def test_a_slim_layer_without_record_still_counts_its_package(project, run, house):
    zipped = build_layer(run, house, "slim", "layeronly", "--slim")
    (layer,) = [read_layer(zipped, TARGET)]
    (only,) = layer.distributions
    assert "layeronly/__init__.py" in only.files
    assert only.size >= len(b"VALUE = 42\n")


def test_a_layer_for_this_python_in_site_packages_is_on_the_path(tmp_path):
    site = f"python/lib/{HOST}/site-packages"
    path = tmp_path / "layer.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{site}/mod-1.0.dist-info/METADATA", "Name: mod\nVersion: 1.0\n\nlong description\n")
        archive.writestr(f"{site}/mod.py", "x = 1\n")
        archive.writestr("python/lib/python3.6/site-packages/old.py", "x = 1\n")
        archive.writestr("lib/libfoo.so.1", b"\x7fELF")
    layer = read_layer(path, TARGET)
    assert layer.sites == (site, "python")
    assert [(item.name, item.version) for item in layer.distributions] == [("mod", "1.0")]
    assert layer.libraries == ("libfoo.so.1",)
    assert layer.foreign_sites == ("python/lib/python3.6/site-packages",)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not a zip at all", "is not a zip file"),
        (b"PK\x03\x04" + bytes(40), "is damaged"),
    ],
    ids=["not-a-zip", "cut-short"],
)
def test_a_damaged_layer_is_a_usage_error(project, run, content, words):
    Path("layer.zip").write_bytes(content)
    Path("app.py").write_text("")
    result = run("install", "--runtime", HOST, "--with-layer", "layer.zip", "--code", "app.py")
    assert result.exit_code == EXIT_USAGE
    assert words in result.err


def test_a_missing_layer_or_a_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        read_layer(tmp_path / "missing.zip", TARGET)
    with pytest.raises(UsageError, match="is a folder"):
        read_layer(tmp_path, TARGET)


@pytest.mark.usefixtures("fake_pip")
def test_a_function_zip_given_as_a_layer_is_refused(project, run, house):
    assert build(run, house, "-t", "build/fn", "other").exit_code == EXIT_OK
    result = build(run, house, "--with-layer", "build/fn.zip", "shared")
    assert result.exit_code == EXIT_USAGE
    assert "build/fn.zip is a function package, not a layer" in result.err


@pytest.mark.usefixtures("fake_pip")
def test_more_than_five_layers_is_a_usage_error(project, run, house):
    zipped = build_layer(run, house, "deps", "other")
    result = build(run, house, *["--with-layer", str(zipped)] * 6, "shared")
    assert result.exit_code == EXIT_USAGE
    assert "6 layers given with --with-layer; a Lambda function can have at most 5" in result.err


@pytest.mark.usefixtures("fake_pip")
def test_a_layer_without_python_folder_is_a_warning_and_still_counts(project, run, house):
    with zipfile.ZipFile("native.zip", "w") as archive:
        archive.writestr("lib/libfoo.so.1", bytes(5000))
    result = build(run, house, "--with-layer", "native.zip", "shared")
    assert result.exit_code == EXIT_OK, result.err
    assert "the layer has no python/ folder" in result.err
    assert "5,000 bytes still count toward the limit" in result.err


# --- the budget --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("fake_pip")
def test_function_and_layers_over_the_limit_are_refused_before_anything_is_replaced(project, run, house):
    assert build(run, house, "shared==2.0").exit_code == EXIT_OK
    zip_before = Path("build/lambda.zip").read_bytes()
    tree_before = sorted(str(path) for path in Path("build").rglob("*"))
    stub_layer(Path("big.zip"), UNZIPPED_LIMIT - 100)  # fits alone; the function tips it over
    result = build(run, house, "--with-layer", "big.zip", "shared==2.0", "other")
    assert result.exit_code == EXIT_TOO_LARGE, result.err
    assert "the function and its layer are" in result.err
    assert f"big.zip {UNZIPPED_LIMIT - 100:,}" in result.err
    assert "largest: bigdep 262.1 MB (layer big.zip), " in result.err
    assert "shared 0.0 MB (function)" in result.err
    assert Path("build/lambda.zip").read_bytes() == zip_before
    assert sorted(str(path) for path in Path("build").rglob("*")) == tree_before


def test_layers_alone_over_the_limit_fail_before_pip_runs(project, run, house, fake_pip):
    stub_layer(Path("a.zip"), UNZIPPED_LIMIT // 2, "half")
    stub_layer(Path("b.zip"), UNZIPPED_LIMIT // 2 + 1, "more")
    result = build(run, house, "--with-layer", "a.zip", "--with-layer", "b.zip", "shared")
    assert result.exit_code == EXIT_TOO_LARGE
    assert "the 2 layers given with --with-layer are, before the function," in result.err
    assert fake_pip.commands == []
    assert not Path("build").exists()


def test_the_budget_names_the_biggest_across_function_and_layers():
    layers = [
        layer_of("deps.zip", 200_000_000, dist("numpy", "2.0", 38_000_000), dist("pyarrow", "15", 120_000_000)),
        layer_of("tools.zip", 10_000_000, dist("tiny", "1", 1_000)),
    ]
    with pytest.raises(SizeLimitError) as raised:
        check_unzipped(60_000_000, [dist("pandas", "2.2", 59_000_000)], layers)
    message = raised.value.message
    assert "the function and its 2 layers are 270,000,000 bytes unzipped" in message
    assert "(function 60,000,000; deps.zip 200,000,000; tools.zip 10,000,000)" in message
    assert message.endswith(
        "largest: pyarrow 120.0 MB (layer deps.zip), pandas 59.0 MB (function), numpy 38.0 MB (layer deps.zip), "
        "tiny 0.0 MB (layer tools.zip)"
    )
    check_unzipped(UNZIPPED_LIMIT - 210_000_000, [], layers)  # exactly at the limit fits


# --- warnings about distributions carried twice ------------------------------------------------------


@pytest.mark.usefixtures("fake_pip")
def test_a_distribution_in_function_and_layer_is_a_warning_naming_both_versions(project, run, house):
    zipped = build_layer(run, house, "deps", "shared==1.0")
    result = build(run, house, "--with-layer", str(zipped), "shared==2.0", "--report", "report.json")
    assert result.exit_code == EXIT_OK, result.err
    assert "the layer deps.zip also carries shared 1.0: the function's copy (2.0) wins on sys.path" in result.err
    (entry,) = json.loads(Path("report.json").read_text())["builds"]
    (finding,) = entry["findings"]
    assert (finding["check"], finding["distribution"], finding["level"]) == (
        "layer-shadowing",
        "shared==2.0",
        "warning",
    )


def test_two_layers_carrying_one_distribution_mix_it():
    first = layer_of("a.zip", 10, dist("shared", "1.0"))
    second = layer_of("b.zip", 10, dist("shared", "2.0"))
    (finding,) = layer_findings([first, second], [dist("other")], TARGET)
    assert finding.level is Level.WARNING
    assert finding.distribution == "shared==2.0"
    assert "the layer a.zip also carries shared 1.0" in finding.reason
    assert "files of 2.0 and 1.0 can mix" in finding.reason
    assert layer_findings([first], [dist("other")], TARGET) == []


@pytest.mark.usefixtures("fake_pip")
def test_the_warnings_come_with_no_verify_too(project, run, house):
    zipped = build_layer(run, house, "deps", "shared==1.0")
    result = build(run, house, "--with-layer", str(zipped), "shared==2.0", "--no-verify")
    assert result.exit_code == EXIT_OK, result.err
    assert "the function's copy (2.0) wins on sys.path" in result.err


# --- summary, report, configuration, cache ----------------------------------------------------------


@pytest.mark.usefixtures("fake_pip")
def test_the_summary_and_the_report_count_the_layers(project, run, house):
    zipped = build_layer(run, house, "deps", "shared==1.0", "other")
    layer_size = read_layer(zipped, TARGET).unzipped_size
    result = build(run, house, "--with-layer", str(zipped), "layeronly", "--report", "report.json")
    assert result.exit_code == EXIT_OK, result.err
    report = json.loads(Path("report.json").read_text())
    jsonschema.validate(report, schema())
    (entry,) = report["builds"]
    total = entry["unpacked_size"] + layer_size
    assert entry["unpacked_size_with_layers"] == total
    (layer,) = entry["layers"]
    assert layer["path"] == str(zipped)
    assert layer["unpacked_size"] == layer_size
    assert [(item["name"], item["version"]) for item in layer["distributions"]] == [("other", "1.0"), ("shared", "1.0")]
    row = next(line for line in result.out.splitlines() if "unzipped, with layers" in line)
    assert f"{total:,} B" in row
    assert "with layers:" in result.out


@pytest.mark.usefixtures("fake_pip")
def test_an_up_to_date_rebuild_reports_the_layers_and_a_changed_layer_rebuilds(project, run, house):
    zipped = build_layer(run, house, "deps", "shared==1.0")
    arguments = ("--with-layer", str(zipped), "layeronly", "--report", "report.json")
    assert build(run, house, *arguments).exit_code == EXIT_OK
    again = build(run, house, *arguments)
    assert "nothing changed since the last build" in again.out
    assert json.loads(Path("report.json").read_text())["builds"][0]["layers"][0]["path"] == str(zipped)
    build_layer(run, house, "deps", "shared==2.0")
    changed = build(run, house, *arguments)
    assert changed.exit_code == EXIT_OK
    assert "nothing changed" not in changed.out
    assert json.loads(Path("report.json").read_text())["builds"][0]["layers"][0]["distributions"][0]["version"] == "2.0"


@pytest.mark.usefixtures("fake_pip")
def test_the_configuration_key_is_relative_to_the_file_that_names_it(project, run, house, monkeypatch):
    build_layer(run, house, "deps", "shared==1.0")
    (project / "pyproject.toml").write_text('[tool.pip-lambda]\nwith-layer = ["build/deps.zip"]\n')
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    result = build(run, house, "-t", "out/fn", "shared==2.0")
    assert result.exit_code == EXIT_OK, result.err
    assert "the layer deps.zip also carries shared 1.0" in result.err


# --- verification sees the layers at /opt ------------------------------------------------------------


APP = b"import layeronly\n\ndef handler(event, context):\n    return layeronly.VALUE\n"


@pytest.mark.usefixtures("fake_pip")
def test_the_import_test_sees_a_layer_only_distribution(project, run, house):
    zipped = build_layer(run, house, "deps", "layeronly")
    Path("app.py").write_bytes(APP)
    checked = ("--code", "app.py", "--handler", "app.handler", "--python", sys.executable)
    without = build(run, house, *checked, "shared")
    assert without.exit_code == EXIT_VERIFY_FAILED
    assert "No module named 'layeronly'" in without.err
    with_layer = build(run, house, *checked, "shared", "--with-layer", str(zipped))
    assert with_layer.exit_code == EXIT_OK, with_layer.err
    verified = run(
        "verify", "build/lambda.zip", "--runtime", HOST, "--handler", "app.handler", "--python", sys.executable,
        "--with-layer", str(zipped), "--json",
    )  # fmt: skip
    assert verified.exit_code == EXIT_OK, verified.err
    document = json.loads(verified.out)
    assert document["with_layers"] == [{"path": str(zipped), "sha256": read_layer(zipped, TARGET).sha256}]
    alone = run("verify", "build/lambda.zip", "--runtime", HOST, "--handler", "app.handler", "--python", sys.executable)
    assert alone.exit_code == EXIT_VERIFY_FAILED
    shown = run("verify", "build/lambda.zip", "--runtime", HOST, "--with-layer", str(zipped))
    assert f"verify: no problems in build/lambda.zip for {HOST} x86_64 with {zipped} (" in shown.out


def test_later_layers_are_unpacked_over_earlier_ones(project, run, tmp_path):
    for name, value in (("first", 1), ("second", 2)):
        with zipfile.ZipFile(f"{name}.zip", "w") as archive:
            archive.writestr("python/which.py", f"VALUE = {value}\n")
    app = tmp_path / "fn"
    app.mkdir()
    (app / "app.py").write_text("import which\n\ndef handler(event, context):\n    assert which.VALUE == 2\n")
    (app / "check.py").write_text("import which\nassert which.VALUE == 2, which.VALUE\n")
    common = ("verify", str(app), "--runtime", HOST, "--import", "--python", sys.executable)
    assert run(*common, "--with-layer", "first.zip", "--with-layer", "second.zip").exit_code == EXIT_OK
    failed = run(*common, "--with-layer", "second.zip", "--with-layer", "first.zip")
    assert failed.exit_code == EXIT_VERIFY_FAILED
    assert "AssertionError: 1" in failed.out


def test_a_library_in_a_layers_lib_folder_is_found(tmp_path, run):
    tree = tmp_path / "fn"
    tree.mkdir()
    needs = build_elf(libraries=(("libc.so.6", ("GLIBC_2.2.5",)), ("libfoo.so.1", ("FOO_1",))), runpath=None)
    (tree / "native.so").write_bytes(needs)
    native = tmp_path / "native.zip"
    with zipfile.ZipFile(native, "w") as archive:
        archive.writestr("lib/libfoo.so.1", b"")
    alone = run("verify", str(tree), "--runtime", HOST, "--json")
    assert "elf-needed" in {finding["check"] for finding in json.loads(alone.out)["findings"]}
    together = run("verify", str(tree), "--runtime", HOST, "--json", "--with-layer", str(native))
    assert together.exit_code == EXIT_OK, together.err
    assert "elf-needed" not in {finding["check"] for finding in json.loads(together.out)["findings"]}


def test_verify_refuses_a_function_and_layers_over_the_limit(tmp_path, run):
    tree = tmp_path / "fn"
    tree.mkdir()
    (tree / "app.py").write_bytes(bytes(200))
    stub_layer(tmp_path / "big.zip", UNZIPPED_LIMIT - 100)
    result = run("verify", str(tree), "--runtime", HOST, "--with-layer", str(tmp_path / "big.zip"))
    assert result.exit_code == EXIT_TOO_LARGE
    assert "the function and its layer are 262,144,100 bytes unzipped" in result.err
