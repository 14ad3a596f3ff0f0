"""The wheel-tags check decides as packaging.tags does, and words the reason by hand.

The expected verdicts are computed here from packaging.tags with the platform
lists spelled out, independently of Target.platform_tags.
"""

from __future__ import annotations

import itertools
import random

import pytest
from packaging.tags import Tag, compatible_tags, cpython_tags

from pip_lambda.checks.findings import Level
from pip_lambda.checks.tags import tag_problem
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target


def target(runtime: str, arch: str = "x86_64") -> Target:
    return Target(get_runtime(runtime), Arch.parse(arch))


def platforms(machine: str, ceiling: int) -> list[str]:
    oldest = 5 if machine == "x86_64" else 17
    legacy = ["manylinux2014", "manylinux2010", "manylinux1"] if machine == "x86_64" else ["manylinux2014"]
    return [f"manylinux_2_{minor}_{machine}" for minor in range(ceiling, oldest - 1, -1)] + [
        f"{alias}_{machine}" for alias in legacy
    ]


def pip_accepts(version: tuple[int, int], machine: str, ceiling: int) -> frozenset[Tag]:
    """What pip accepts with --implementation cp --python-version X.Y and a --platform per tag."""
    interpreter = f"cp{version[0]}{version[1]}"
    plats = platforms(machine, ceiling)
    return frozenset(
        [
            *cpython_tags(version, abis=[interpreter], platforms=plats),
            *compatible_tags(version, interpreter=interpreter, platforms=plats),
        ]
    )


INTERPRETERS = ["cp38", "cp311", "cp312", "cp313", "cp3", "cp2", "py3", "py2", "py311", "py312", "py313", "pp310"]
ABIS = ["none", "abi3", "cp38", "cp311", "cp312", "cp313", "cp313t", "cp312d", "pypy310_pp73"]
PLATFORMS = [
    "any",
    "manylinux1_x86_64",
    "manylinux2014_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux_2_26_x86_64",
    "manylinux_2_28_x86_64",
    "manylinux_2_34_x86_64",
    "manylinux_2_35_x86_64",
    "linux_x86_64",
    "manylinux2014_aarch64",
    "manylinux_2_34_aarch64",
    "musllinux_1_2_x86_64",
    "macosx_11_0_arm64",
    "win_amd64",
]
TARGETS = [
    ("python3.11", "x86_64", (3, 11), 26),
    ("python3.12", "x86_64", (3, 12), 34),
    ("python3.12", "arm64", (3, 12), 34),
]
# 250 tags drawn from the product, with every supported one of the product for python3.12 x86_64 kept in.
_ALL = [Tag(*parts) for parts in itertools.product(INTERPRETERS, ABIS, PLATFORMS)]
_SUPPORTED_312 = [tag for tag in _ALL if tag in pip_accepts((3, 12), "x86_64", 34)]
_OTHERS = [tag for tag in _ALL if tag not in _SUPPORTED_312]
SYNTHETIC = sorted([*_SUPPORTED_312, *random.Random(12).sample(_OTHERS, 250 - len(_SUPPORTED_312))], key=str)


@pytest.mark.parametrize(("runtime", "arch", "version", "ceiling"), TARGETS)
def test_the_verdict_is_membership_in_the_tags_pip_accepts(runtime, arch, version, ceiling):
    accepted = pip_accepts(version, "aarch64" if arch == "arm64" else "x86_64", ceiling)
    chosen = target(runtime, arch)
    assert len(SYNTHETIC) == 250
    wrong = [str(tag) for tag in SYNTHETIC if (tag_problem(tag, chosen) is None) != (tag in accepted)]
    assert wrong == []
    assert any(tag in accepted for tag in SYNTHETIC) and any(tag not in accepted for tag in SYNTHETIC)


@pytest.mark.parametrize(
    ("tag", "runtime", "words"),
    [
        ("cp311-none-manylinux_2_17_x86_64", "python3.12", "a cpXY-none wheel is for that CPython version only"),
        ("cp312-cp312-any", "python3.12", "a wheel built for the ABI cp312 names a platform, never any"),
        ("py3-abi3-manylinux2014_x86_64", "python3.12", "the stable ABI (abi3) goes with a cp3X interpreter tag"),
        ("pp310-pypy310_pp73-manylinux2014_x86_64", "python3.12", "a PyPy wheel"),
        ("cp313-cp313t-manylinux2014_x86_64", "python3.13", "a free-threaded CPython wheel"),
        ("cp312-cp312d-manylinux2014_x86_64", "python3.12", "a wheel for the ABI cp312d"),
        ("cp313-abi3-manylinux2014_x86_64", "python3.12", "a wheel for Python 3.13"),
        ("py3-none-musllinux_1_2_x86_64", "python3.12", "a musl wheel"),
        ("py3-none-macosx_11_0_arm64", "python3.12", "a macOS wheel"),
        ("cp312-cp312-win_amd64", "python3.12", "a Windows wheel"),
        ("cp311-cp311-manylinux2014_aarch64", "python3.11", "another platform or architecture"),
    ],
)
def test_each_refused_tag_has_its_reason(tag, runtime, words):
    problem = tag_problem(Tag(*tag.split("-")), target(runtime))
    assert problem is not None
    level, reason, fix = problem
    assert level is Level.ERROR
    assert words in reason and tag in reason
    assert fix


def test_a_newer_glibc_names_the_runtimes_that_have_it_from_the_table():
    _, reason, fix = tag_problem(Tag("cp311", "cp311", "manylinux_2_28_x86_64"), target("python3.11")) or ()
    assert "a wheel for glibc 2.28 (cp311-cp311-manylinux_2_28_x86_64), newer than python3.11's glibc 2.26" in reason
    assert fix.endswith("or a runtime with a newer glibc (python3.12+ has 2.34)")
    _, _, fix = tag_problem(Tag("cp312", "cp312", "manylinux_2_35_x86_64"), target("python3.12")) or ()
    assert fix.endswith("; no Lambda runtime has a glibc that new yet")


def test_a_local_linux_build_is_a_warning():
    level, reason, _ = tag_problem(Tag("cp312", "cp312", "linux_x86_64"), target("python3.12")) or ()
    assert level is Level.WARNING
    assert "a locally built wheel" in reason


@pytest.mark.parametrize(
    "tag", ["cp312-none-any", "py3-none-any", "cp38-abi3-manylinux1_x86_64", "cp312-none-manylinux_2_34_x86_64"]
)
def test_tags_pip_installs_load(tag):
    assert tag_problem(Tag(*tag.split("-")), target("python3.12")) is None
