"""Platform tags and marker values for each runtime and architecture."""

from __future__ import annotations

import pytest

from pip_lambda.errors import UsageError
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target


def target(runtime: str, arch: str = "x86_64") -> Target:
    return Target(get_runtime(runtime), Arch.parse(arch))


def test_python311_x86_64_tags_stop_at_glibc_226():
    tags = target("python3.11").platform_tags
    assert tags[0] == "manylinux_2_26_x86_64"
    assert "manylinux_2_27_x86_64" not in tags
    assert {
        "manylinux_2_17_x86_64",
        "manylinux_2_5_x86_64",
        "manylinux2014_x86_64",
        "manylinux2010_x86_64",
        "manylinux1_x86_64",
    } <= set(tags)


@pytest.mark.parametrize("runtime", ["python3.12", "python3.13", "python3.14"])
def test_al2023_runtimes_reach_glibc_234(runtime):
    tags = target(runtime).platform_tags
    assert tags[0] == "manylinux_2_34_x86_64"
    assert "manylinux_2_28_x86_64" in tags
    assert "manylinux_2_35_x86_64" not in tags


def test_every_glibc_minor_up_to_the_ceiling_is_listed_once():
    tags = target("python3.12", "arm64").platform_tags
    assert tags == (*(f"manylinux_2_{minor}_aarch64" for minor in range(34, 16, -1)), "manylinux2014_aarch64")


def test_arm64_never_lists_x86_tags():
    assert all(tag.endswith("_aarch64") for tag in target("python3.11", "arm64").platform_tags)


@pytest.mark.parametrize(
    ("alias", "expected"), [("amd64", Arch.X86_64), ("AARCH64", Arch.ARM64), ("arm64", Arch.ARM64)]
)
def test_architecture_aliases(alias, expected):
    assert Arch.parse(alias) is expected


def test_unknown_architecture():
    with pytest.raises(UsageError, match="unknown architecture 'ppc64le'"):
        Arch.parse("ppc64le")


def test_marker_environment_is_the_target_not_the_host():
    markers = target("python3.12", "arm64").marker_environment
    assert markers["python_version"] == "3.12"
    assert markers["platform_machine"] == "aarch64"
    assert markers["sys_platform"] == "linux"
    assert markers["platform_system"] == "Linux"
    assert markers["implementation_name"] == "cpython"


def test_loads_platform():
    python311 = target("python3.11")
    assert python311.loads_platform("any")
    assert python311.loads_platform("manylinux2014_x86_64")
    assert not python311.loads_platform("manylinux_2_28_x86_64")
    assert not python311.loads_platform("musllinux_1_2_x86_64")
    assert not python311.loads_platform("macosx_11_0_arm64")


def test_supported_tags_are_lambdas_whatever_this_interpreter_is():
    from packaging.tags import Tag

    supported = target("python3.12").supported_tag_set
    assert Tag("cp312", "none", "any") in supported, "pip accepts cpXY-none-any with --implementation cp"
    assert Tag("cp312", "cp312", "manylinux_2_34_x86_64") in supported
    assert Tag("cp32", "abi3", "manylinux1_x86_64") in supported
    assert not {tag for tag in supported if tag.abi not in ("cp312", "abi3", "none")}


def test_legacy_aliases_and_the_oldest_glibc_come_from_the_runtime_table(monkeypatch):
    from dataclasses import replace

    from pip_lambda.plan import runtimes

    changed = replace(
        runtimes.table(),
        legacy_aliases=(("manylinux2014", (2, 17)),),
        oldest_glibc=(("x86_64", (2, 17)), ("aarch64", (2, 17))),
    )
    monkeypatch.setattr("pip_lambda.plan.target.table", lambda: changed)
    assert target("python3.11").platform_tags[-2:] == ("manylinux_2_17_x86_64", "manylinux2014_x86_64")
