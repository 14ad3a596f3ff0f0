"""Every versioned-symbol family the runtime's OS provides is checked: GLIBC (elf-glibc), and GLIBCXX, CXXABI
and GCC (elf-gcc-runtime), against the runtime table. ELF files are built by hand (tests/elf_samples.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from elf_samples import build_elf

from pip_lambda.checks.binaries import Package, check_binary
from pip_lambda.checks.findings import Finding
from pip_lambda.errors import EXIT_VERIFY_FAILED
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target

PACKAGE = Package(frozenset({"pkg/_native.so"}), ("", "lib"))


def findings(
    tmp_path: Path, runtime: str, libraries: Sequence[tuple[str, Sequence[str]]], **files: bytes
) -> list[Finding]:
    path = tmp_path / "_native.so"
    path.write_bytes(build_elf(libraries=libraries, runpath="$ORIGIN/../pkg.libs"))
    package = Package(frozenset({"pkg/_native.so", *files}), ("", "lib"))
    return check_binary("pkg/_native.so", path, "pkg==1.0", Target(get_runtime(runtime), Arch.X86_64), package)


def checks(found: list[Finding]) -> list[str]:
    return sorted(finding.check for finding in found if finding.level.value == "error")


@pytest.mark.parametrize(
    ("node", "library", "fails_on", "passes_on"),
    [
        ("GLIBCXX_3.4.24", "libstdc++.so.6", [], ["python3.8", "python3.11", "python3.12"]),
        ("GLIBCXX_3.4.25", "libstdc++.so.6", ["python3.11"], ["python3.12"]),
        ("GLIBCXX_3.4.29", "libstdc++.so.6", ["python3.8", "python3.11"], ["python3.12", "python3.14"]),
        ("GLIBCXX_3.4.30", "libstdc++.so.6", ["python3.11", "python3.14"], []),
        ("CXXABI_1.3.11", "libstdc++.so.6", [], ["python3.11"]),
        ("CXXABI_1.3.13", "libstdc++.so.6", ["python3.11"], ["python3.12"]),
        ("CXXABI_1.3.14", "libstdc++.so.6", ["python3.12"], []),
        ("CXXABI_TM_1", "libstdc++.so.6", [], ["python3.8", "python3.14"]),
        ("CXXABI_FLOAT128", "libstdc++.so.6", [], ["python3.11"]),
        ("CXXABI_LDBL_1.3", "libstdc++.so.6", ["python3.12"], []),
        ("GCC_7.0.0", "libgcc_s.so.1", [], ["python3.11", "python3.12"]),
        ("GCC_11.0", "libgcc_s.so.1", ["python3.11"], ["python3.12"]),
        ("GCC_13.0.0", "libgcc_s.so.1", ["python3.12"], []),
    ],
)
def test_gcc_runtime_families_are_checked_against_the_runtimes_os(tmp_path, node, library, fails_on, passes_on):
    for runtime in fails_on:
        assert checks(findings(tmp_path, runtime, [(library, [node])])) == ["elf-gcc-runtime"], runtime
    for runtime in passes_on:
        assert checks(findings(tmp_path, runtime, [(library, [node])])) == [], runtime


def test_the_finding_names_the_nodes_the_os_and_the_runtimes_that_have_them(tmp_path):
    (finding,) = findings(
        tmp_path, "python3.11", [("libstdc++.so.6", ["GLIBCXX_3.4.19", "GLIBCXX_3.4.29", "CXXABI_1.3.13"])]
    )
    assert finding.reason == (
        "needs GLIBCXX_3.4.29, CXXABI_1.3.13, newer than python3.11's libstdc++ and libgcc_s "
        "(GCC 7.3, Amazon Linux 2: up to GLIBCXX_3.4.24, CXXABI_1.3.11): "
        "Lambda fails with \"version 'GLIBCXX_3.4.29' not found\""
    )
    assert finding.fix.endswith("or a runtime with a newer C++ runtime (python3.12+ has GCC 11's)")
    (finding,) = findings(tmp_path, "python3.12", [("libstdc++.so.6", ["GLIBCXX_3.4.32"])])
    assert finding.fix.endswith("; no Lambda runtime has a C++ runtime that new yet")


def test_glibc_and_gcc_runtime_are_separate_findings(tmp_path):
    found = findings(tmp_path, "python3.11", [("libc.so.6", ["GLIBC_2.28"]), ("libstdc++.so.6", ["GLIBCXX_3.4.29"])])
    assert checks(found) == ["elf-gcc-runtime", "elf-glibc"]
    glibc = next(finding for finding in found if finding.check == "elf-glibc")
    assert glibc.fix.endswith("or a runtime with a newer glibc (python3.12+ has 2.34)")


def test_named_glibc_nodes_map_to_their_release(tmp_path):
    (finding,) = findings(tmp_path, "python3.12", [("libc.so.6", ["GLIBC_2.17", "GLIBC_ABI_DT_RELR"])])
    assert finding.check == "elf-glibc"
    assert "needs glibc 2.36 (GLIBC_ABI_DT_RELR)" in finding.reason
    assert finding.fix.endswith("; no Lambda runtime has a glibc that new yet")


def test_a_bundled_c_plus_plus_runtime_under_its_own_name_is_not_checked(tmp_path):
    """auditwheel renames what it bundles (libstdc++-1a2b.so.6): the versions come from that copy, not the OS."""
    bundled = "libstdc++-1a2b3c.so.6.0.29"
    found = findings(tmp_path, "python3.11", [(bundled, ["GLIBCXX_3.4.29"])], **{f"pkg.libs/{bundled}": b""})
    assert checks(found) == []
    assert checks(findings(tmp_path, "python3.11", [(bundled, ["GLIBCXX_3.4.29"])])) == ["elf-gcc-runtime"]


def test_other_families_are_left_alone(tmp_path):
    assert (
        checks(findings(tmp_path, "python3.8", [("libssl.so.1.1", ["OPENSSL_1_1_0"]), ("libz.so.1", ["ZLIB_1.2.9"])]))
        == []
    )


def test_verify_fails_a_glibcxx_3_4_29_binary_for_python311(tmp_path, run):
    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg/__init__.py").write_text("")
    (tree / "pkg/_native.so").write_bytes(
        build_elf(libraries=[("libstdc++.so.6", ["GLIBCXX_3.4.29"])], python_init=False)
    )
    result = run("verify", str(tree), "--runtime", "python3.11", "--json")
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert [finding["check"] for finding in json.loads(result.out)["findings"]] == ["elf-gcc-runtime"]
    assert run("verify", str(tree), "--runtime", "python3.12").exit_code == 0
