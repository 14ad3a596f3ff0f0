"""The runtime table is data, and every entry is checked against what AWS documents."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

import pip_lambda
from pip_lambda.errors import EnvironmentProblem, UsageError
from pip_lambda.plan.runtimes import (
    BrokenTable,
    all_runtimes,
    default_runtime,
    get_runtime,
    parse_table,
    runtime_provided,
    runtimes_providing,
    table,
)

EXPECTED = {
    "python3.8": ("Amazon Linux 2", (2, 26)),
    "python3.9": ("Amazon Linux 2", (2, 26)),
    "python3.10": ("Amazon Linux 2", (2, 26)),
    "python3.11": ("Amazon Linux 2", (2, 26)),
    "python3.12": ("Amazon Linux 2023", (2, 34)),
    "python3.13": ("Amazon Linux 2023", (2, 34)),
    "python3.14": ("Amazon Linux 2023", (2, 34)),
}


@pytest.mark.parametrize(("name", "expected"), EXPECTED.items())
def test_each_runtime_has_its_os_and_glibc(name, expected):
    runtime = get_runtime(name)
    assert (runtime.os, runtime.glibc) == expected
    assert runtime.architectures == ("x86_64", "arm64")
    assert runtime.released < runtime.deprecated <= runtime.block_create <= runtime.block_update


def test_the_table_lists_python38_to_python314_in_order():
    assert [runtime.name for runtime in all_runtimes()] == list(EXPECTED)


def test_a_bare_version_names_the_runtime():
    assert get_runtime("3.12").name == "python3.12"


def test_unknown_runtime_lists_the_choices():
    with pytest.raises(UsageError) as raised:
        get_runtime("python2.7")
    assert "python3.8, python3.9" in raised.value.hint


def test_default_runtime_follows_the_interpreter():
    assert default_runtime((3, 13)).name == "python3.13"


def test_default_runtime_without_a_lambda_runtime_is_an_error():
    with pytest.raises(UsageError, match=r"Lambda has no runtime for this interpreter.s Python 3\.7"):
        default_runtime((3, 7))


def test_deprecation_notice_names_the_dates():
    runtime = get_runtime("python3.9")
    assert runtime.deprecation_notice(datetime.date(2025, 1, 1)) is None
    notice = runtime.deprecation_notice(datetime.date(2026, 11, 27))
    assert notice is not None
    assert "deprecated since 2025-12-15" in notice and "2027-02-01" in notice and "2027-03-03" in notice


def test_deprecated_runtime_builds_with_a_warning(project, run, offline):
    result = run("install", "--runtime", "python3.9", *offline, "purepkg")
    assert result.exit_code == 0, result.err
    assert "warning: python3.9 is deprecated since 2025-12-15" in result.err


# --- the table is validated data ----------------------------------------------------------------


def shipped() -> dict:
    return json.loads((Path(pip_lambda.__file__).parent / "data/runtimes.json").read_text("utf-8"))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda raw: raw["runtimes"][0].pop("python"), "runtimes[0]: missing field python"),
        (lambda raw: raw["runtimes"][1].update(glibc="2.26"), "runtimes[1]: unknown field glibc"),
        (lambda raw: raw["runtimes"][2].update(released=20230418), "runtimes[2].released: expected a non-empty string"),
        (
            lambda raw: raw["runtimes"][2].update(released="2023-13-01"),
            "runtimes[2].released: '2023-13-01' is not a date",
        ),
        (lambda raw: raw["runtimes"][3].update(python="3.x"), "runtimes[3].python: '3.x' is not a version like 2.26"),
        (lambda raw: raw["runtimes"][3].update(name="python3.99"), "does not match python 3.11"),
        (lambda raw: raw["runtimes"][4].update(os="Amazon Linux 3"), "runtimes[4].os: 'Amazon Linux 3' is not one of"),
        (lambda raw: raw["runtimes"][4].update(architectures=["x86_64", "ppc64le"]), "runtimes[4].architectures"),
        (lambda raw: raw["runtimes"][5].update(deprecated="2020-01-01"), "expected released < deprecated"),
        (lambda raw: raw["runtimes"].reverse(), "comes after python3.14; list them oldest first"),
        (
            lambda raw: raw["operating_systems"][1]["symbol_versions"].update(GLIBCXX="3.4.20"),
            "python3.12's OS has older GLIBCXX than python3.11's",
        ),
        (
            lambda raw: raw["operating_systems"][0]["symbol_versions"].pop("GLIBC"),
            "expected an object with at least GLIBC",
        ),
        (
            lambda raw: raw["operating_systems"][0]["symbol_versions"].update(GLIBC="2.26.1"),
            "is not a version like 2.26",
        ),
        (lambda raw: raw["named_symbol_versions"].update(GLIBC_ABI_X="2.40"), "expected a numbered node of its family"),
        (lambda raw: raw["manylinux"]["legacy_aliases"].update(manylinux1="2.30"), "list the newest alias first"),
        (lambda raw: raw["manylinux"]["oldest_glibc"].pop("aarch64"), "expected exactly aarch64, x86_64"),
        (lambda raw: raw["runtime_provided"].update(sdk=[]), "runtime_provided.sdk: expected a non-empty list"),
        (lambda raw: raw["runtime_provided"].update(modules=["python-dateutil"]), "expected module names"),
        (lambda raw: raw.pop("runtimes"), "runtimes.json: missing field runtimes"),
    ],
)
def test_a_broken_table_names_the_field(change, words):
    raw = shipped()
    change(raw)
    with pytest.raises(BrokenTable) as raised:
        parse_table(raw)
    assert words in str(raised.value)


def test_the_shipped_table_is_valid_and_comments_are_allowed():
    raw = shipped()
    assert any(key.startswith("_comment") for key in raw)
    assert parse_table(raw).runtimes == all_runtimes()


def test_a_broken_shipped_file_is_one_clear_error(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    raw = shipped()
    raw["runtimes"][0]["python"] = 3.8
    (tmp_path / "data/runtimes.json").write_text(json.dumps(raw))
    monkeypatch.setattr("pip_lambda.plan.runtimes.resources.files", lambda package: tmp_path)
    table.cache_clear()
    try:
        with pytest.raises(EnvironmentProblem) as raised:
            get_runtime("python3.12")
    finally:
        table.cache_clear()
    assert "runtime table" in raised.value.message
    assert "runtimes[0].python: expected a non-empty string, got 3.8" in raised.value.message
    assert "reinstall pip-lambda" in raised.value.hint


@pytest.mark.parametrize(
    ("name", "families"),
    [
        ("python3.11", {"GLIBC": (2, 26), "GLIBCXX": (3, 4, 24), "CXXABI": (1, 3, 11), "GCC": (7, 0, 0)}),
        ("python3.12", {"GLIBC": (2, 34), "GLIBCXX": (3, 4, 29), "CXXABI": (1, 3, 13), "GCC": (11, 0)}),
    ],
)
def test_each_os_has_the_highest_version_of_each_family(name, families):
    system = get_runtime(name).system
    assert dict(system.symbol_versions) == families
    assert system.gcc == {"python3.11": "7.3", "python3.12": "11"}[name]


def test_the_sdk_is_listed_once_and_read_by_every_step():
    from pip_lambda.trim import runtime_provided as trim_step

    provided = runtime_provided()
    assert provided.sdk == ("boto3", "botocore", "s3transfer")
    assert trim_step.SDK == ("boto3", "botocore", "s3transfer", "jmespath")
    assert {"dateutil", "urllib3", "six"} <= provided.modules
    assert {"boto3", "jmespath"} <= provided.modules


def test_runtimes_providing_a_version_come_from_the_table():
    assert [runtime.name for runtime in runtimes_providing(["GLIBC_2.28"])] == [
        "python3.12",
        "python3.13",
        "python3.14",
    ]
    assert runtimes_providing(["GLIBCXX_3.4.30"]) == ()
    assert len(runtimes_providing(["OPENSSL_1_1_0"])) == len(all_runtimes()), "families not in the table pass"
