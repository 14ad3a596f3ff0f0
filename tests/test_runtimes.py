"""The runtime table is data, and every entry is checked against what AWS documents."""

from __future__ import annotations

import datetime

import pytest

from pip_lambda.errors import UsageError
from pip_lambda.plan.runtimes import all_runtimes, default_runtime, get_runtime

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
