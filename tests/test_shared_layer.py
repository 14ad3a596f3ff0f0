"""--shared-layer NAME: the wheels every function installs identically go into one layer, built once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jsonschema
import pytest

from pip_lambda.archive.writer import COMMENT, ZipResult, carried_size, collect_entries, write_zip
from pip_lambda.cache import key as cachekey
from pip_lambda.cache.request import CacheRequest
from pip_lambda.errors import EXIT_USAGE, UsageError
from pip_lambda.pip.args import parse_pip_args
from pip_lambda.pipeline import check_request
from pip_lambda.plan.request import BuildRequest, TrimOptions, VerifyOptions
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.selection import Selection, Wheel
from pip_lambda.plan.sharing import (
    Savings,
    check_functions,
    layer_request,
    layer_selection,
    left_out,
    shared_wheels,
    without,
)
from pip_lambda.plan.target import Arch, Target
from pip_lambda.report.document import make_report, schema
from pip_lambda.report.summary import shared_layer_lines
from pip_lambda.result import BuildResult
from pip_lambda.shared import SharedBuild, build_shared

TARGET = Target(get_runtime("python3.12"), Arch.X86_64)


def wheel(name: str, version: str = "1.0", sha256: str | None = None, url: str = "") -> Wheel:
    digest = sha256 or (name.encode().hex() + version.encode().hex()).ljust(64, "0")[:64]
    return Wheel(name, version, f"{name}-{version}-py3-none-any.whl", url or f"https://files/{name}", digest)


def selection(*wheels: Wheel, source: str = "pip") -> Selection:
    return Selection(tuple(sorted(wheels, key=lambda item: item.name)), source)


def request(name: str, *arguments: str, target: Target = TARGET, **fields: object) -> BuildRequest:
    built = BuildRequest(
        target, parse_pip_args(list(arguments), target), Path(f"build/{name}"), Path(f"build/{name}.zip")
    )
    return dataclasses.replace(built, **fields)  # type: ignore[arg-type]


FASTAPI, PYDANTIC, ORJSON = wheel("fastapi", "0.110"), wheel("pydantic", "2.6"), wheel("orjson", "3.9")


# --- what goes into the layer ---------------------------------------------------------------------


def test_the_layer_holds_what_every_function_installs_identically():
    api = selection(FASTAPI, PYDANTIC, ORJSON, wheel("httpx"))
    worker = selection(FASTAPI, PYDANTIC, ORJSON, wheel("boto3", "1.34"))
    jobs = selection(FASTAPI, PYDANTIC, ORJSON, wheel("httpx", "2.0"))
    assert shared_wheels([api, worker, jobs]) == (FASTAPI, ORJSON, PYDANTIC)


def test_same_name_and_version_from_another_wheel_file_is_not_shared():
    rebuilt = dataclasses.replace(PYDANTIC, sha256="f" * 64, filename="pydantic-2.6-cp312-manylinux_2_17_x86_64.whl")
    assert shared_wheels([selection(FASTAPI, PYDANTIC), selection(FASTAPI, rebuilt)]) == (FASTAPI,)
    assert shared_wheels([selection(FASTAPI, PYDANTIC), selection(FASTAPI, wheel("pydantic", "2.7"))]) == (FASTAPI,)


def test_the_layers_wheels_are_the_first_functions_and_sorted():
    found_elsewhere = dataclasses.replace(ORJSON, url="https://mirror/orjson")
    shared = shared_wheels([selection(ORJSON, FASTAPI), selection(found_elsewhere, FASTAPI)])
    assert shared == (FASTAPI, ORJSON)


def test_what_a_function_leaves_out_stays_out_of_the_layer():
    boto3 = wheel("boto3", "1.34")
    functions = [selection(FASTAPI, boto3, wheel("jmespath")), selection(FASTAPI, boto3, wheel("jmespath"))]
    kept = [frozenset(), left_out(TrimOptions(exclude_runtime_provided=True))]
    assert shared_wheels(functions, kept) == (FASTAPI,)
    assert shared_wheels(functions, [frozenset(), left_out(TrimOptions(exclude_packages=("FastAPI",)))]) == (
        boto3,
        wheel("jmespath"),
    )


def test_left_out_names_are_canonical_and_include_the_sdk_unit():
    names = left_out(TrimOptions(exclude_packages=("Zope.Interface",), exclude_runtime_provided=True))
    assert {"zope-interface", "boto3", "botocore", "s3transfer", "jmespath"} <= names
    assert left_out(TrimOptions()) == frozenset()


def test_each_function_keeps_only_its_own_wheels():
    httpx = wheel("httpx")
    own = without(selection(FASTAPI, PYDANTIC, httpx, source="pylock.toml"), (FASTAPI, PYDANTIC))
    assert own == selection(httpx, source="pylock.toml")


def test_the_layers_selection_says_what_decided_the_functions():
    assert layer_selection((FASTAPI,), [selection(source="pip"), selection(source="pip")]).source == "pip"
    assert layer_selection((FASTAPI,), [selection(source="pylock.toml"), selection(source="pip")]).source == (
        "pip, pylock.toml"
    )


# --- the targets ----------------------------------------------------------------------------------


def test_a_shared_layer_needs_two_functions_on_one_target():
    with pytest.raises(UsageError, match="needs two function targets or more"):
        check_functions("shared", [("api", request("api"))])
    arm = Target(get_runtime("python3.12"), Arch.ARM64)
    with pytest.raises(UsageError, match=r"the function targets differ \(api python3.12 x86_64; worker python3.12"):
        check_functions("shared", [("api", request("api")), ("worker", request("worker", target=arm))])
    check_functions("shared", [("api", request("api")), ("worker", request("worker"))])


def test_the_layers_request_has_no_requirements_lock_code_or_handler(tmp_path):
    given = request(
        "shared",
        "-r",
        "requirements.txt",
        "fastapi",
        "--index-url",
        "https://index.example/simple",
        code=(tmp_path / "app.py",),
        verify=VerifyOptions(import_test=True, handler="app.handler"),
        selection=selection(FASTAPI, source="pylock.toml"),
    )
    layer = layer_request(given)
    assert layer.layer
    assert layer.code == ()
    assert (layer.selection, layer.sdists, layer.source) == (None, (), None)  # the functions' wheels decide
    assert not layer.pip_args.has_requirements
    assert layer.pip_args.passthrough == ("--index-url", "https://index.example/simple")
    assert (layer.verify.import_test, layer.verify.handler) == (True, None)
    assert (layer.target_dir, layer.output) == (Path("build/shared"), Path("build/shared.zip"))
    with pytest.raises(UsageError, match="the shared layer needs its zip"):
        layer_request(dataclasses.replace(given, output=None))


def test_the_layer_is_checked_and_keyed_by_its_wheels_and_reads_no_requirement_file(project):
    given = request("shared", "-r", "missing.txt", "--index-url", "https://index.example/simple")
    layer = dataclasses.replace(layer_request(given), selection=selection(FASTAPI, PYDANTIC))
    found = check_request(layer)  # neither "nothing to install" nor the missing file
    inputs = cachekey.compute(CacheRequest.of(layer), found)
    assert inputs.document["requirement_files"] == {}
    assert inputs.key == cachekey.compute(CacheRequest.of(layer), check_request(layer)).key
    moved = dataclasses.replace(layer, selection=selection(FASTAPI, wheel("pydantic", "2.7")))
    assert cachekey.compute(CacheRequest.of(moved), check_request(moved)).key != inputs.key


# --- the flow, with resolution and builds stood in for ----------------------------------------------


def result_of(built: BuildRequest, size: int) -> BuildResult:
    zipped = None if built.output is None else ZipResult(built.output, "ab" * 32, size, 3)
    return BuildResult(built, (), 3, size * 3, zipped)


class Builds:
    """Stands in for pip's resolution (fixed selections) and the pipeline's build from a Selection."""

    def __init__(self, selections: dict[str, Selection]) -> None:
        self.selections = selections
        self.built: list[tuple[BuildRequest, Selection]] = []

    def resolve(self, name: str, built: BuildRequest) -> Selection:
        assert built.target_dir.name == name
        return self.selections[name]

    def build(self, name: str, built: BuildRequest, chosen: Selection) -> BuildResult:
        assert built.target_dir.name == name
        self.built.append((built, chosen))
        return result_of(built, 1000 if built.layer else 100 * len(chosen.wheels))


FUNCTIONS = [("api", request("api")), ("jobs", request("jobs")), ("worker", request("worker"))]
LAYER = ("shared", layer_request(request("shared")))


def three(api_extra: Wheel | None = None) -> dict[str, Selection]:
    return {
        "api": selection(FASTAPI, PYDANTIC, ORJSON, api_extra or wheel("httpx")),
        "jobs": selection(FASTAPI, PYDANTIC, ORJSON),
        "worker": selection(FASTAPI, PYDANTIC, ORJSON, wheel("boto3")),
    }


def test_the_layer_is_built_first_then_each_function_without_it_and_deployed_with_it():
    builds = Builds(three())
    done = build_shared(LAYER, FUNCTIONS, resolve=builds.resolve, build=builds.build)
    (layer, layer_wheels), *functions = builds.built
    assert layer == LAYER[1]
    assert layer_wheels.wheels == (FASTAPI, ORJSON, PYDANTIC)
    assert [built.target_dir.name for built, _ in functions] == ["api", "jobs", "worker"]
    assert [[item.name for item in chosen.wheels] for _, chosen in functions] == [["httpx"], [], ["boto3"]]
    assert all(built.with_layers == (Path("build/shared.zip"),) for built, _ in functions)
    assert done.shared == (FASTAPI, ORJSON, PYDANTIC)
    assert [name for name, _ in done.functions] == ["api", "jobs", "worker"]


def test_the_functions_own_layers_come_after_the_shared_one():
    functions = [(name, dataclasses.replace(built, with_layers=(Path("ext.zip"),))) for name, built in FUNCTIONS]
    builds = Builds(three())
    build_shared(LAYER, functions, resolve=builds.resolve, build=builds.build)
    assert builds.built[1][0].with_layers == (Path("build/shared.zip"), Path("ext.zip"))


def test_a_change_to_one_functions_own_requirement_builds_the_same_layer():
    first, second = Builds(three()), Builds(three(api_extra=wheel("httpx", "2.0")))
    for builds in (first, second):
        build_shared(LAYER, FUNCTIONS, resolve=builds.resolve, build=builds.build)
    assert first.built[0] == second.built[0]
    assert first.built[1] != second.built[1]


def test_with_name_every_function_is_resolved_but_one_is_built():
    builds = Builds(three())
    resolved: list[str] = []

    def resolve(name: str, built: BuildRequest) -> Selection:
        resolved.append(name)
        return builds.resolve(name, built)

    done = build_shared(LAYER, FUNCTIONS, resolve=resolve, build=builds.build, only="jobs")
    assert resolved == ["api", "jobs", "worker"]
    assert [built.target_dir.name for built, _ in builds.built] == ["shared", "jobs"]
    assert done.savings is None


def test_functions_sharing_nothing_are_refused():
    builds = Builds({"api": selection(FASTAPI), "jobs": selection(ORJSON), "worker": selection(PYDANTIC)})
    with pytest.raises(UsageError, match="share no distribution: the shared layer shared would be empty"):
        build_shared(LAYER, FUNCTIONS, resolve=builds.resolve, build=builds.build)
    assert builds.built == []


# --- bytes saved, summary and report ----------------------------------------------------------------


def test_the_bytes_saved_against_standalone_zips():
    savings = Savings(functions=3, layer_zip=9_000, function_zips=1_500, carried=8_000)
    assert savings.shared == 10_500
    assert savings.standalone == 25_500
    assert savings.saved == 15_000
    assert savings.fraction == pytest.approx(15_000 / 25_500)


def test_the_summary_and_the_report_name_the_layer_its_hash_and_the_bytes_saved():
    builds = Builds(three())
    done = build_shared(LAYER, FUNCTIONS, resolve=builds.resolve, build=builds.build)
    carried = 1000 - (22 + len(COMMENT)) - (30 + 46 + 2 * 7) - 2 * 2 * 7  # 3 entries: python/ and two others
    assert done.savings == Savings(3, 1000, 200, carried)
    lines = shared_layer_lines(done)
    assert lines[0] == "Shared layer shared: 3 distributions shared by api, jobs, worker"
    assert any("fastapi==0.110, orjson==3.9, pydantic==2.6" in line for line in lines)
    assert lines[-3:] == [
        "  zips:          layer 1000 B + 3 functions 200 B = 1.2 KiB",
        "  standalone:    about 2.7 KiB as 3 functions each carrying the layer's files (estimated, not built)",
        "  saved:         about 1.5 KiB (56%)",
    ]
    results = [("shared", done.layer), *done.functions]
    report = make_report(results, done)
    jsonschema.validate(report, schema())
    entry = report["shared_layer"]
    assert entry["zip"] == {"path": "build/shared.zip", "sha256": "ab" * 32}
    assert entry["functions"] == ["api", "jobs", "worker"]
    assert [item["name"] for item in entry["distributions"]] == ["fastapi", "orjson", "pydantic"]
    standalone = 200 + 3 * carried
    assert entry["zip_bytes"] == {
        "layer": 1000,
        "functions": 200,
        "standalone_estimate": standalone,
        "saved": standalone - 1200,
    }


def test_a_layers_files_carried_by_a_function_zip_take_what_the_layer_zip_holds_less_the_folder(tmp_path):
    layer, function = tmp_path / "layer", tmp_path / "function"
    for site in (layer / "python", function):
        (site / "lib").mkdir(parents=True)
        (site / "lib" / "__init__.py").write_bytes(b"VALUE = 1\n" * 50)
        (site / "lib-1.0.dist-info").mkdir()
        (site / "lib-1.0.dist-info" / "METADATA").write_text("Name: lib\nVersion: 1.0\n")
    layer_zip = write_zip(collect_entries(layer), tmp_path / "layer.zip")
    function_zip = write_zip(collect_entries(function), tmp_path / "function.zip")
    empty_zip = write_zip([], tmp_path / "empty.zip")
    assert carried_size(layer_zip, "python/") == function_zip.size - empty_zip.size


def test_no_savings_without_zips():
    layer = result_of(LAYER[1], 1000)
    function = result_of(dataclasses.replace(FUNCTIONS[0][1], output=None), 100)
    shared = SharedBuild("shared", layer, (("api", function), ("jobs", function)), (FASTAPI,), ("api", "jobs"))
    assert shared.savings is None
    jsonschema.validate(make_report([("shared", layer)], shared), schema())


# --- the command line ------------------------------------------------------------------------------


PYPROJECT = """\
[tool.pip-lambda]
runtime = "python3.12"
{top}
[tool.pip-lambda.targets.api]
requirements = ["api.txt"]
{api}
[tool.pip-lambda.targets.worker]
requirements = ["worker.txt"]
"""


def configure(project: Path, top: str = "", api: str = "") -> None:
    (project / "pyproject.toml").write_text(PYPROJECT.format(top=top, api=api))


def test_install_refuses_shared_layer(project, run):
    result = run("install", "--shared-layer", "shared", "fastapi")
    assert result.exit_code == EXIT_USAGE
    assert "--shared-layer is an option of 'pip-lambda build'" in result.err


def test_one_target_cannot_set_the_shared_layer(project, run):
    configure(project, api='shared-layer = "shared"')
    result = run("build")
    assert result.exit_code == EXIT_USAGE
    assert "[tool.pip-lambda.targets.api]" in result.err
    assert "one target cannot set it" in result.err


def test_the_shared_layer_needs_two_function_targets(project, run):
    (project / "pyproject.toml").write_text(
        '[tool.pip-lambda]\nshared-layer = "shared"\n[tool.pip-lambda.targets.api]\nrequirements = ["api.txt"]\n'
    )
    result = run("build")
    assert result.exit_code == EXIT_USAGE
    assert "needs two function targets or more to share with (function targets: api)" in result.err


@pytest.mark.parametrize(
    ("name", "words"),
    [("shared", "--name shared names the shared layer"), ("nope", "no named target 'nope'")],
)
def test_name_must_be_a_function_target(project, run, name, words):
    configure(project, top='shared-layer = "shared"')
    with (project / "pyproject.toml").open("a") as pyproject:
        pyproject.write("[tool.pip-lambda.targets.shared]\nslim = true\n")
    result = run("build", "--name", name)
    assert result.exit_code == EXIT_USAGE
    assert words in result.err


def test_a_layer_written_over_a_function_is_refused(project, run):
    configure(project, top='shared-layer = "shared"', api='target = "build/shared"')
    result = run("build")
    assert result.exit_code == EXIT_USAGE
    assert "both write build/shared" in result.err
