"""Explaining pip's failures from one probe's log: which files pip saw, and why none loads on the target."""

from __future__ import annotations

import pytest

from pip_lambda.errors import NoCompatibleWheelError, PipFailedError, UsageError
from pip_lambda.pip.failures import Misfit, classify, explain, misfit, offered_files
from pip_lambda.pip.sdists import SdistOnlyError
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target

PY311 = Target(get_runtime("python3.11"), Arch.X86_64)
PY312 = Target(get_runtime("python3.12"), Arch.X86_64)

LOG = """\
Looking in links: /srv/wheels
Skipping link: none of the wheel's tags (cp313-cp313-manylinux2014_x86_64) are compatible (run pip debug --verbose to show compatible tags): file:///srv/wheels/pkg-2.0-cp313-cp313-manylinux2014_x86_64.whl
Skipping link: No sources permitted for pkg: file:///srv/wheels/pkg-2.0.tar.gz
Skipping link: 1.5 Requires-Python >=3.13: https://files.example/pkg-1.5-py3-none-any.whl#sha256=00 (from https://index.example/simple/pkg/) (requires-python:>=3.13)
Found link file:///srv/wheels/pkg-1.0-py3-none-any.whl, version: 1.0
Skipping link: wrong project name (not pkg): file:///srv/wheels/other-1.0-py3-none-any.whl
Found link file:///srv/wheels/pkg-1.0-py3-none-any.whl, version: 1.0
  Link: file:///srv/wheels/pkg-9.0-py3-none-any.whl is not a line pip names files on
Found link file:///srv/wheels/My%2EPkg-0.1.tar.gz, version: 0.1
"""


def test_the_probe_log_names_every_file_of_the_project_newest_first():
    files = offered_files(LOG, "PKG")
    assert [(item.filename, item.requires_other_python) for item in files] == [
        ("pkg-2.0-cp313-cp313-manylinux2014_x86_64.whl", False),
        ("pkg-2.0.tar.gz", False),
        ("pkg-1.5-py3-none-any.whl", True),
        ("pkg-1.0-py3-none-any.whl", False),
    ]
    assert [item.filename for item in offered_files(LOG, "my-pkg")] == ["My.Pkg-0.1.tar.gz"]


@pytest.mark.parametrize(
    ("target", "wheel", "expected"),
    [
        (PY311, "x-1.0-cp311-abi3-manylinux_2_28_x86_64.whl", Misfit.NEWER_GLIBC),
        (PY312, "x-1.0-cp311-abi3-manylinux_2_28_x86_64.whl", None),
        (PY312, "x-1.0-py3-none-manylinux_2_35_x86_64.whl", Misfit.NEWER_GLIBC),
        (PY312, "x-1.0-py3-none-manylinux_2_35_aarch64.whl", Misfit.OTHER_PLATFORM),
        (PY312, "x-1.0-py3-none-musllinux_1_2_x86_64.whl", Misfit.OTHER_PLATFORM),
        (PY312, "x-1.0-cp312-cp312-win_amd64.whl", Misfit.OTHER_PLATFORM),
        (PY312, "x-1.0-cp313-cp313-manylinux2014_x86_64.whl", Misfit.OTHER_PYTHON),
        (PY312, "x-1.0-cp311-cp311-manylinux2014_x86_64.whl", Misfit.OTHER_PYTHON),
        (PY312, "x-1.0-cp311-none-manylinux_2_17_x86_64.whl", Misfit.OTHER_PYTHON),
        (PY312, "x-1.0-cp312-abi3-manylinux_2_17_x86_64.whl", None),
        (PY312, "x-1.0-py2.py3-none-any.whl", None),
    ],
)
def test_each_wheel_is_judged_by_the_target_s_tags(target, wheel, expected):
    (offered,) = offered_files(f"Found link file:///w/{wheel}, version: 1.0", "x")
    assert misfit(offered, target) is expected


def _explained(requirement: str, *wheels: str, target: Target = PY312) -> Exception | None:
    log = "".join(f"Skipping link: reason: file:///w/{wheel}\n" for wheel in wheels)
    return classify(requirement, offered_files(log, "x"), target, "detail")


def test_the_reasons_come_in_order_and_name_the_newest_file():
    error = _explained("x", "x-2.0-cp313-cp313-manylinux2014_x86_64.whl", "x-1.0-py3-none-manylinux_2_35_x86_64.whl")
    assert isinstance(error, NoCompatibleWheelError)
    assert error.message.startswith("x: no wheel loads on python3.12 (glibc 2.34)")
    assert "(x-1.0-py3-none-manylinux_2_35_x86_64.whl)" in error.message
    error = _explained("x", "x-2.0-py3-none-macosx_11_0_arm64.whl", "x-1.0-py3-none-win_amd64.whl")
    assert error is not None and "only for other platforms (x-2.0-py3-none-macosx_11_0_arm64.whl)" in str(error)


def test_a_newer_glibc_names_the_runtimes_that_have_it():
    error = _explained("x", "x-1.0-cp311-abi3-manylinux_2_28_x86_64.whl", target=PY311)
    assert isinstance(error, NoCompatibleWheelError)
    assert error.hint.startswith("use a runtime with glibc 2.28 or newer (python3.12, python3.13")


def test_only_an_sdist_names_the_newest_matching_one():
    error = _explained("x<3", "x-3.0.tar.gz", "x-2.0.tar.gz", "x-1.0.tar.gz")
    assert isinstance(error, SdistOnlyError)
    assert (error.name, error.requirement, error.sdist) == ("x", "x<3", "x-2.0.tar.gz")


def test_no_matching_release_lists_what_the_index_has():
    error = _explained("x==9", *(f"x-1.{minor}-py3-none-any.whl" for minor in range(7)))
    assert error is not None
    assert str(error) == "x: no release matching x==9 was found; the index has 1.6, 1.5, 1.4, 1.3, 1.2, ..."
    assert "on the configured indexes" in str(_explained("x"))


def test_a_loadable_wheel_leaves_pip_s_own_message():
    assert _explained("x", "x-1.0-py3-none-any.whl", "x-1.0-py3-none-win_amd64.whl") is None


@pytest.mark.parametrize(
    ("detail", "kind", "words"),
    [
        ("ERROR: no such option: --frobnicate", UsageError, "unknown option --frobnicate"),
        ("ERROR: --hash option requires 1 argument", UsageError, "--hash needs a value"),
        ("ERROR: THESE PACKAGES DO NOT MATCH THE HASHES", PipFailedError, "does not match the --hash"),
        ("OSError: [Errno 28] No space left on device", Exception, "no space left on the disk"),
        ("ERROR: something else", PipFailedError, "pip failed"),
    ],
)
def test_known_failures_need_no_probe(detail, kind, words):
    explained = explain(PipFailedError("pip failed", detail=detail), PY312, (), {})
    assert isinstance(explained, kind)
    assert words in str(explained)
