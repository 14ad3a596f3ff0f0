"""BuildResult as the cache keeps it: explicit, versioned JSON; anything else read back is refused, never half read."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pip_lambda.archive.writer import ZipResult
from pip_lambda.cache.jsondata import Malformed
from pip_lambda.checks.findings import Finding, Level
from pip_lambda.pip.args import parse_pip_args
from pip_lambda.plan.request import BuildRequest
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target
from pip_lambda.report.size import Chains, Folder, LargeFile, Part, SizeAnalysis
from pip_lambda.report.summary import summary_lines
from pip_lambda.result import JSON_VERSION, BuildResult, Reused
from pip_lambda.tree.distributions import Distribution
from pip_lambda.trim.steps import TrimResult

TARGET = Target(get_runtime("python3.12"), Arch.X86_64)
REQUEST = BuildRequest(TARGET, parse_pip_args(["purepkg"], TARGET), Path("build/lambda"), Path("build/lambda.zip"))
PURE = Distribution("purepkg", "1.0", "purepkg-1.0.dist-info", ("purepkg/__init__.py", "bin/purepkg-cli"), 120)
GONE = Distribution("boto3", "1.0", "boto3-1.0.dist-info", ("boto3/__init__.py",), 7)
SIZE = SizeAnalysis(
    1234,
    999,
    (
        Part("purepkg", "1.0", 3, 120, 80, ("purepkg",), 0, True, (Folder("purepkg", 100),)),
        Part("(your code)", None, 1, 14, 14, None),
    ),
    (LargeFile("purepkg/__init__.py", 100, 70, "purepkg"),),
    Chains.REQUIREMENTS,
    ("a note",),
)


def full_result() -> BuildResult:
    """A result with every field set to something other than its default."""
    return BuildResult(
        REQUEST,
        distributions=(PURE,),
        file_count=4,
        unzipped_size=1234,
        zip=ZipResult(Path("build/lambda.zip"), "ab" * 32, 999, 6),
        warnings=("a warning",),
        timings={"pip": 1.5, "zip": 0.25, "total": 2.0},
        trim=TrimResult(2000, 1234, (("slim:tests", 700), ("compile", -34)), ("boto3==1.0",), (PURE,), ("trimmed",)),
        findings=(Finding(Level.WARNING, "wheel-tags", "purepkg==1.0", "purepkg/x.so", "why", "fix"),),
        reused=Reused.FROM_CACHE,
        size=SIZE,
    )


def test_a_result_reads_back_equal_to_what_was_written():
    result = full_result()
    document = json.loads(json.dumps(result.to_json()))
    assert BuildResult.from_json(document, REQUEST) == result


INPUTS = {"request", "layers"}
"""Fields the caller has on its own: the request, and the layers each build reads again."""


def test_every_field_but_the_inputs_is_spelled_out_in_the_document():
    defaults = {field.name for field in dataclasses.fields(BuildResult)} - INPUTS
    assert set(full_result().to_json()) == defaults | {"version"}
    assert all(
        getattr(full_result(), name) != field.default
        for field in dataclasses.fields(BuildResult)
        if (name := field.name) not in INPUTS and field.default is not dataclasses.MISSING
    ), "full_result() must set every field, or a field could go missing from the JSON unnoticed"


def test_the_zip_path_is_the_reading_request_s_output():
    elsewhere = dataclasses.replace(REQUEST, output=Path("other/fn.zip"))
    result = BuildResult.from_json(full_result().to_json(), elsewhere)
    assert result.zip is not None
    assert result.zip.path == Path("other/fn.zip")


def test_a_result_with_a_zip_is_refused_for_a_build_without_one():
    with pytest.raises(Malformed):
        BuildResult.from_json(full_result().to_json(), dataclasses.replace(REQUEST, output=None))


def test_another_version_is_refused():
    document = full_result().to_json()
    document["version"] = JSON_VERSION + 1
    with pytest.raises(Malformed):
        BuildResult.from_json(document, REQUEST)


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every place in a JSON document (the root excluded)."""
    found: list[tuple[object, ...]] = []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for name, child in children:
        found.append((*prefix, name))
        found += _paths(child, (*prefix, name))
    return found


WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), wrong=WRONG_VALUES, delete=st.booleans())
def test_a_damaged_document_is_refused_or_read_whole_never_a_crash(data, wrong, delete):
    document = full_result().to_json()
    damaged = copy.deepcopy(document)
    path = data.draw(st.sampled_from(_paths(damaged)))
    parent = damaged
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = wrong
    try:
        result = BuildResult.from_json(damaged, REQUEST)
    except Malformed:
        return
    # Read whole: only a change to a value of the same type can be accepted, and it reads back as written.
    assert BuildResult.from_json(result.to_json(), REQUEST) == result


@pytest.mark.parametrize(
    ("reused", "line"),
    [
        (Reused.NO, None),
        (Reused.UP_TO_DATE, "nothing changed since the last build"),
        (Reused.FROM_CACHE, "reused the result of an identical earlier build"),
    ],
)
def test_the_summary_says_how_a_result_was_reused(reused, line):
    text = "\n".join(summary_lines(dataclasses.replace(full_result(), reused=reused)))
    if line is None:
        assert "cache:" not in text
    else:
        assert line in text
