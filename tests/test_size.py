"""Why a package is big and why each part is there: the analysis, the summary, the report and ``pip-lambda size``."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from pip_lambda.archive import reader
from pip_lambda.cache.jsondata import Malformed
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target
from pip_lambda.report.size import CODE, AnalysedDistribution, Chains, PackageFile, SizeAnalysis, analyse, chain_text

from conftest import FakePip, _Wheel, make_wheel

PY312 = Target(get_runtime("python3.12"), Arch.X86_64)
PY311 = Target(get_runtime("python3.11"), Arch.X86_64)

# webapp -> framework -> utils, webapp -> orm[pg] -> utils, orm[pg] -> pgdriver; markers leave the rest out.
GRAPH = {
    "webapp": ["framework>=1", "orm[pg]"],
    "framework": ["utils", 'colorama; sys_platform == "win32"', 'oldcompat; python_version < "3.12"'],
    "orm": ["utils", 'pgdriver; extra == "pg"', 'mysqldriver; extra == "mysql"'],
    "utils": [],
    "pgdriver": [],
    "oldcompat": [],
}
EXTRAS = {"orm": ("pg", "mysql")}


def installed(*names: str, site: str = "") -> list[AnalysedDistribution]:
    return [
        AnalysedDistribution(
            name, "1.0", (f"{site}{name}/__init__.py",), tuple(GRAPH[name]), EXTRAS.get(name, ()), site
        )
        for name in names
    ]


def files(*names: str, site: str = "", size: int = 100) -> list[PackageFile]:
    return [PackageFile(f"{site}{name}/__init__.py", size, size // 2) for name in names]


def by_name(analysis: SizeAnalysis) -> dict[str, object]:
    return {part.name: part for part in analysis.parts}


EVERYTHING = ("webapp", "framework", "orm", "utils", "pgdriver")


def test_chains_follow_requires_dist_for_the_target_with_extras_as_requested():
    analysis = analyse(
        files(*EVERYTHING),
        installed(*EVERYTHING),
        requested=[("webapp", frozenset())],
        environment=PY312.marker_environment,
        zip_size=1000,
    )
    parts = by_name(analysis)
    assert parts["webapp"].chain == ("webapp",) and parts["webapp"].requested
    assert parts["framework"].chain == ("webapp", "framework")
    assert parts["pgdriver"].chain == ("webapp", "orm", "pgdriver")  # orm's extra pg, asked for by webapp
    assert chain_text(parts["pgdriver"]) == "← orm ← webapp"
    assert analysis.chains is Chains.REQUIREMENTS


def test_a_distribution_reached_by_several_chains_shows_the_shortest_and_counts_the_others():
    analysis = analyse(
        files(*EVERYTHING),
        installed(*EVERYTHING),
        requested=[("webapp", frozenset())],
        environment=PY312.marker_environment,
        zip_size=1000,
    )
    utils = by_name(analysis)["utils"]
    assert utils.chain == ("webapp", "framework", "utils")  # shortest; ties broken by name
    assert utils.other_chains == 1  # webapp -> orm -> utils
    assert chain_text(utils) == "← framework ← webapp (+1 other chain)"


def test_markers_are_evaluated_for_the_target_not_this_machine():
    names = (*EVERYTHING, "oldcompat")
    for target, expected in ((PY311, ("webapp", "framework", "oldcompat")), (PY312, ("oldcompat",))):
        analysis = analyse(
            files(*names),
            installed(*names),
            requested=[("webapp", frozenset())],
            environment=target.marker_environment,
            zip_size=None,
        )
        assert by_name(analysis)["oldcompat"].chain == expected


def test_an_extra_nobody_asked_for_is_not_followed():
    analysis = analyse(
        files("orm", "utils", "pgdriver"),
        installed("orm", "utils", "pgdriver"),
        requested=[("orm", frozenset())],
        environment=PY312.marker_environment,
        zip_size=None,
    )
    pgdriver = by_name(analysis)["pgdriver"]
    assert pgdriver.chain == ("pgdriver",) and not pgdriver.requested
    assert chain_text(pgdriver) == "top level (nothing requires it)"


def test_without_requirements_the_chains_start_at_what_nothing_requires():
    """A lock installs a flat list: its top level is what nothing else in it requires."""
    analysis = analyse(
        files(*EVERYTHING),
        installed(*EVERYTHING),
        requested=None,
        environment=PY312.marker_environment,
        zip_size=None,
    )
    parts = by_name(analysis)
    assert analysis.chains is Chains.UNREQUIRED
    assert parts["webapp"].chain == ("webapp",) and not parts["webapp"].requested
    assert parts["pgdriver"].chain == ("webapp", "orm", "pgdriver")


def test_a_cycle_ends_and_each_chain_counts_once():
    cyclic = [
        AnalysedDistribution("a", "1", ("a.py",), ("b",)),
        AnalysedDistribution("b", "1", ("b.py",), ("c",)),
        AnalysedDistribution("c", "1", ("c.py",), ("a", "b")),
    ]
    analysis = analyse(
        [PackageFile(f"{name}.py", 1) for name in "abc"],
        cyclic,
        requested=None,
        environment=PY312.marker_environment,
        zip_size=None,
    )
    parts = by_name(analysis)
    assert parts["a"].chain == ("a",)
    assert parts["c"].chain == ("a", "b", "c")
    assert (parts["a"].other_chains, parts["b"].other_chains, parts["c"].other_chains) == (0, 0, 0)


def test_shares_are_compressed_bytes_over_the_zip_and_unowned_files_are_your_code():
    package = [
        PackageFile("utils/__init__.py", 600, 300),
        PackageFile("utils-1.0.dist-info/METADATA", 100, 50),
        PackageFile("app.py", 300, 150),
    ]
    utils = AnalysedDistribution("utils", "1.0", ("utils/__init__.py", "utils-1.0.dist-info/METADATA"), ())
    analysis = analyse(package, [utils], requested=[("utils", frozenset())], environment={}, zip_size=1000)
    assert [(part.name, part.unzipped, part.zipped) for part in analysis.parts] == [
        ("utils", 700, 350),
        (CODE, 300, 150),
    ]
    assert analysis.share(analysis.parts[0]) == pytest.approx(0.35)
    assert chain_text(analysis.parts[1]) == "your code"
    assert [(item.path, item.owner) for item in analysis.largest_files] == [
        ("utils/__init__.py", "utils"),
        ("app.py", CODE),
        ("utils-1.0.dist-info/METADATA", "utils"),
    ]


def test_largest_folders_are_two_levels_below_the_site():
    package = [
        PackageFile("python/numpy/_core/lib/a.so", 500),
        PackageFile("python/numpy/_core/b.py", 100),
        PackageFile("python/numpy.libs/openblas.so", 800),
        PackageFile("python/numpy/__init__.py", 10),
    ]
    numpy = AnalysedDistribution("numpy", "2.0", tuple(item.path for item in package), (), (), "python/")
    (part,) = analyse(package, [numpy], requested=None, environment={}, zip_size=None).parts
    assert [(folder.path, folder.size) for folder in part.folders] == [
        ("python/numpy.libs", 800),
        ("python/numpy/_core", 600),
        ("python/numpy", 10),
    ]


def test_the_analysis_reads_back_from_json_and_refuses_damage():
    analysis = analyse(
        files(*EVERYTHING),
        installed(*EVERYTHING),
        requested=[("webapp", frozenset())],
        environment=PY312.marker_environment,
        zip_size=1000,
    )
    document = json.loads(json.dumps(analysis.to_json()))
    assert SizeAnalysis.from_json(document) == analysis
    document["parts"][0]["chain"] = "webapp"
    with pytest.raises(Malformed):
        SizeAnalysis.from_json(document)


# --- builds ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph_house(tmp_path_factory: pytest.TempPathFactory) -> Path:
    house = tmp_path_factory.mktemp("graph-house")
    for name, requires in GRAPH.items():
        data = {f"{name}/__init__.py": b"# " + name.encode() * (2000 if name == "utils" else 10)}
        make_wheel(house, name, requires=requires, extras=EXTRAS.get(name, ()), files=data)
    return house


@pytest.fixture
def graph(graph_house: Path) -> list[str]:
    return ["--runtime", "python3.12", "--no-index", "--find-links", str(graph_house)]


def summary_table(out: str) -> dict[str, str]:
    lines = out.split("largest distributions", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return {line.split()[0]: line for line in lines}


@pytest.mark.usefixtures("fake_pip")
def test_the_summary_says_why_each_distribution_is_there_and_its_share_of_the_zip(project, run, graph):
    (project / "app.py").write_text("def handler(event, context):\n    return 1\n" + "#" * 20_000)
    result = run("install", *graph, "webapp", "--code", "app.py")
    assert result.exit_code == 0, result.err
    rows = summary_table(result.out)
    assert rows["utils"].endswith("← framework ← webapp (+1 other chain)")
    assert rows["webapp"].endswith("requested")
    assert "% of the zip" in rows["utils"]
    assert "(your" in rows and rows["(your"].endswith("your code")


@pytest.mark.usefixtures("fake_pip")
def test_the_report_holds_every_part_with_its_zipped_bytes(project, run, graph):
    result = run("install", *graph, "webapp", "--report", "report.json")
    assert result.exit_code == 0, result.err
    size = json.loads((project / "report.json").read_text())["builds"][0]["size"]
    with zipfile.ZipFile(project / "build/lambda.zip") as archive:
        compressed = {info.filename: info.compress_size for info in archive.infolist()}
    parts = {part["name"]: part for part in size["parts"]}
    assert set(parts) == set(EVERYTHING)
    assert sum(part["zipped_size"] for part in parts.values()) == sum(compressed.values())
    utils = parts["utils"]
    assert utils["zipped_size"] == sum(size for name, size in compressed.items() if name.startswith("utils"))
    assert utils["share"] == pytest.approx(
        utils["zipped_size"] / (project / "build/lambda.zip").stat().st_size, abs=1e-6
    )
    assert size["zip_size"] == (project / "build/lambda.zip").stat().st_size


@pytest.mark.usefixtures("fake_pip")
def test_a_lock_installed_without_dependencies_starts_chains_at_what_nothing_requires(project, run, graph):
    (project / "requirements.lock").write_text("\n".join([*EVERYTHING[:3], "orm[pg]", "utils", "pgdriver"]) + "\n")
    result = run("install", *graph, "--no-deps", "-r", "requirements.lock", "--report", "report.json")
    assert result.exit_code == 0, result.err
    size = json.loads((project / "report.json").read_text())["builds"][0]["size"]
    assert size["chains"] == "unrequired"
    assert {part["name"]: part["chain"] for part in size["parts"]}["pgdriver"] == ["webapp", "orm", "pgdriver"]


# --- pip-lambda size ------------------------------------------------------------------------------


def install_like_pip(wheels: Path, names: list[str], tree: Path) -> None:
    """What ``pip install -t tree`` leaves: each wheel unpacked, bin/ and INSTALLER included."""
    for name in names:
        (path,) = wheels.glob(f"{name}-*.whl")
        FakePip.unpack(_Wheel(path, name, parse_wheel_filename(path.name)[1], 0), tree, True, False)


def zip_like_zip_r(tree: Path, archive: Path, prefix: str = "") -> None:
    """What ``zip -r`` writes: folders and files, deflated, in walk order."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(tree.rglob("*")):
            out.write(path, prefix + path.relative_to(tree).as_posix())


@pytest.fixture
def foreign(tmp_path: Path, graph_house: Path) -> Path:
    """A function zip another tool built (pip install -t + zip -r), with a handler of its own."""
    tree = tmp_path / "tree"
    tree.mkdir()
    install_like_pip(graph_house, list(EVERYTHING), tree)
    (tree / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    zip_like_zip_r(tree, tmp_path / "function.zip")
    return tmp_path / "function.zip"


def test_size_of_a_zip_another_tool_built(run, foreign):
    result = run("size", "--runtime", "python3.12", str(foreign))
    assert result.exit_code == 0, result.err
    rows = summary_table(result.out)
    assert rows["pgdriver"].endswith("← orm ← webapp")
    assert rows["webapp"].endswith("top level (nothing requires it)")
    assert "(your" in rows
    assert "chains start at what nothing else in the package requires" in result.out


def test_size_json_of_a_layer_zip_detects_the_layout(run, tmp_path, graph_house):
    tree = tmp_path / "tree"
    tree.mkdir()
    install_like_pip(graph_house, ["orm", "utils"], tree)
    zip_like_zip_r(tree, tmp_path / "layer.zip", prefix="python/")
    result = run("size", "--runtime", "python3.12", "--json", str(tmp_path / "layer.zip"))
    assert result.exit_code == 0, result.err
    document = json.loads(result.out)
    assert (document["schema"], document["version"]) == ("pip-lambda-size", 1)
    (package,) = document["packages"]
    parts = {part["name"]: part for part in package["parts"]}
    assert parts["utils"]["chain"] == ["orm", "utils"]
    assert parts["utils"]["folders"][0]["path"] == "python/utils"
    assert CODE not in parts  # bin/ files are listed in RECORD (../../bin/…): they are orm's and utils's own


def test_size_reads_only_metadata_members_of_a_zip(run, foreign, monkeypatch):
    streamed: list[str] = []
    real = reader.ZipReader.stream

    def recording(self, member, **kwargs):
        streamed.append(member.name)
        return real(self, member, **kwargs)

    monkeypatch.setattr(reader.ZipReader, "stream", recording)
    assert run("size", "--runtime", "python3.12", str(foreign)).exit_code == 0
    assert streamed and all(name.split("/")[-1] in ("METADATA", "RECORD", "top_level.txt") for name in streamed)


def test_a_zip_above_lambdas_limit_is_measured_not_refused(run, tmp_path):
    """``verify`` refuses to unpack it (exit 5); measuring reads no more than the metadata."""
    archive = tmp_path / "huge.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("big.bin", b"x" * 10)
    data = bytearray(archive.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 300_000_000)  # the declared uncompressed size
    archive.write_bytes(bytes(data))
    result = run("size", "--runtime", "python3.12", "--json", str(archive))
    assert result.exit_code == 0, result.err
    assert json.loads(result.out)["packages"][0]["unpacked_size"] == 300_000_000
    assert run("verify", "--runtime", "python3.12", str(archive)).exit_code == 5


@pytest.mark.usefixtures("fake_pip")
def test_size_of_a_folder_and_of_a_report_give_the_builds_own_chains(project, run, graph):
    assert run("install", *graph, "webapp", "--report", "report.json").exit_code == 0
    from_report = run("size", "report.json")
    assert from_report.exit_code == 0, from_report.err
    assert "chains start at the build's top-level requirements" in from_report.out
    assert summary_table(from_report.out)["webapp"].endswith("requested")
    from_folder = run("size", "--runtime", "python3.12", "build/lambda")
    assert from_folder.exit_code == 0, from_folder.err
    assert summary_table(from_folder.out)["utils"].endswith("← framework ← webapp (+1 other chain)")


@pytest.mark.usefixtures("fake_pip")
def test_a_report_without_the_analysis_says_the_chains_are_unknown(project, run, graph):
    assert run("install", *graph, "webapp", "--report", "report.json").exit_code == 0
    document = json.loads((project / "report.json").read_text())
    del document["builds"][0]["size"]
    (project / "old.json").write_text(json.dumps(document))
    result = run("size", "old.json")
    assert result.exit_code == 0, result.err
    assert summary_table(result.out)["utils"].endswith("chain unknown")
    assert "note: the report has no size analysis" in result.out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"hello", "is not a zip, a folder or a JSON report"),
        (b"PK\x03\x04cut short", "is damaged"),
        (b'{"report_version": 7, "builds": []}', "is not a pip-lambda JSON report"),
        (b"{not json", "is not a pip-lambda JSON report"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run, tmp_path, content, message):
    path = tmp_path / "input"
    if content is not None:
        path.write_bytes(content)
    result = run("size", str(path))
    assert result.exit_code == 2
    assert message in result.err and result.err.count("\n") == 1 and "Traceback" not in result.err


def test_size_help_has_a_real_example(run):
    result = run("size", "--help")
    assert result.exit_code == 0
    assert "pip-lambda size build/lambda.zip" in result.out
    assert "size" in run("--help").out
