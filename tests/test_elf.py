"""The ELF reader does work bounded by the file's size: hostile headers end in CorruptElf, never in a long loop.

The hostile files run in a subprocess with a generous timeout, so a reader
that trusts a count fails the test instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from elf_samples import build_elf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pip_lambda.checks.elf import MAX_NAME, CorruptElf, ElfInfo, read_elf
from pip_lambda.errors import EXIT_VERIFY_FAILED

from conftest import make_wheel

# In the sample's .dynstr, "libc.so.6" starts at 1 and "GLIBC_2.2.5" at 11.
LIBC, GLIBC_2_2_5 = 1, 11


def verneed(*records: tuple[str, tuple[int, ...]]) -> bytes:
    """Raw .gnu.version_r records: ("need", (count, file, aux, next)) or ("aux", (name, next))."""
    packed = b""
    for kind, fields in records:
        if kind == "need":
            count, file, aux, following = fields
            packed += struct.pack("<HHIII", 1, count, file, aux, following)
        else:
            name, following = fields
            packed += struct.pack("<IHHII", 0, 0, 2, name, following)
    return packed


def shared_chain(needs: int, auxes: int) -> bytes:
    """``needs`` libraries whose version lists all point at one chain of ``auxes`` versions (quadratic work)."""
    chain_at = 16 * needs
    records = [("need", (auxes, LIBC, chain_at - 16 * index, 16 if index < needs - 1 else 0)) for index in range(needs)]
    records += [("aux", (GLIBC_2_2_5, 16 if index < auxes - 1 else 0)) for index in range(auxes)]
    return verneed(*records)


HOSTILE = {
    "version_r_claims_4e9_entries": build_elf(sections={".gnu.version_r": {"info": 0xFFFFFFFF}}),
    "version_r_claims_one_entry_more_than_it_holds": build_elf(sections={".gnu.version_r": {"info": 4}}),
    "version_r_past_the_end": build_elf(sections={".gnu.version_r": {"offset": 1 << 40}}),
    "version_r_next_leaves_the_section": build_elf(
        verneed=verneed(("need", (1, LIBC, 16, 0x7FFFFFF0)), ("aux", (GLIBC_2_2_5, 0)), ("aux", (0, 0))),
        sections={".gnu.version_r": {"info": 2}},
    ),
    "version_aux_next_wraps_around": build_elf(
        verneed=verneed(("need", (2, LIBC, 16, 0)), ("aux", (GLIBC_2_2_5, 0xFFFFFFF0))),
        sections={".gnu.version_r": {"info": 1}},
    ),
    "version_aux_points_outside": build_elf(
        verneed=verneed(("need", (1, LIBC, 0x10000, 0)), ("aux", (GLIBC_2_2_5, 0))),
        sections={".gnu.version_r": {"info": 1}},
    ),
    "version_chains_shared_by_every_library": build_elf(
        verneed=shared_chain(40, 40), sections={".gnu.version_r": {"info": 40}}
    ),
    "version_name_outside_the_strings": build_elf(
        verneed=verneed(("need", (1, LIBC, 16, 0)), ("aux", (1 << 30, 0))), sections={".gnu.version_r": {"info": 1}}
    ),
    "65535_section_headers": build_elf(header={"e_shnum": 0xFFFF}),
    "extended_section_count": build_elf(header={"e_shnum": 0}, sections={"": {"size": 1 << 40}}),
    "section_headers_of_8_bytes": build_elf(header={"e_shentsize": 8}),
    "section_table_past_the_end": build_elf(header={"e_shoff": 1 << 40}),
    "a_second_dynamic_symbol_table": build_elf(sections={".text": {"type": 11, "link": 1, "entsize": 24}}),
    "symbol_entry_size_0": build_elf(sections={".dynsym": {"entsize": 0}}),
    "symbol_entry_size_absurd": build_elf(sections={".dynsym": {"entsize": 1 << 40}}),
    "symbol_table_of_a_terabyte": build_elf(sections={".dynsym": {"size": 1 << 40}}),
    "dynamic_section_without_dt_null": build_elf(dynamic_null=False),
    "dynamic_strings_not_a_string_table": build_elf(sections={".dynamic": {"link": 5}}),
    "dynamic_strings_link_out_of_range": build_elf(sections={".dynamic": {"link": 9999}}),
    "run_path_longer_than_path_max": build_elf(runpath="x" * (MAX_NAME + 10)),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What read_elf did with each hostile file, from one subprocess that must finish within a generous timeout."""
    folder = tmp_path_factory.mktemp("hostile")
    for name, data in HOSTILE.items():
        (folder / f"{name}.so").write_bytes(data)
    script = (
        "import json, sys, pathlib\n"
        "from pip_lambda.checks.elf import CorruptElf, read_elf\n"
        "result = {}\n"
        "for path in sorted(pathlib.Path(sys.argv[1]).glob('*.so')):\n"
        "    try:\n"
        "        read_elf(path)\n"
        "        result[path.stem] = 'read'\n"
        "    except CorruptElf as error:\n"
        "        result[path.stem] = 'corrupt: %s' % error\n"
        "    except Exception as error:\n"
        "        result[path.stem] = 'crashed: %r' % error\n"
        "print(json.dumps(result))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder)], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout)


def test_the_sample_reads_as_built(tmp_path):
    library = tmp_path / "sample.so"
    library.write_bytes(
        build_elf(libraries=(("libc.so.6", ("GLIBC_2.17",)), ("libstdc++.so.6", ("GLIBCXX_3.4.29", "CXXABI_1.3.13"))))
    )
    info = read_elf(library)
    assert (info.machine, info.bits, info.python_init) == ("x86_64", 64, True)
    assert info.needed == ("libc.so.6", "libstdc++.so.6")
    assert info.search_paths == ("$ORIGIN/../lib",)
    assert info.version_needs == (
        ("libc.so.6", "GLIBC_2.17"),
        ("libstdc++.so.6", "GLIBCXX_3.4.29"),
        ("libstdc++.so.6", "CXXABI_1.3.13"),
    )
    library.write_bytes(build_elf(python_init=False))
    assert not read_elf(library).python_init


def test_a_version_count_that_lies_low_is_read_as_the_loader_reads_it(tmp_path):
    """vn_cnt is not what the loader follows: vna_next is; a count above the chain stops at its end."""
    library = tmp_path / "sample.so"
    library.write_bytes(
        build_elf(
            verneed=verneed(("need", (0xFFFF, LIBC, 16, 0)), ("aux", (GLIBC_2_2_5, 0))),
            sections={".gnu.version_r": {"info": 1}},
        )
    )
    assert read_elf(library).version_needs == (("libc.so.6", "GLIBC_2.2.5"),)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_header_is_a_corrupt_file(outcomes, name):
    assert outcomes[name].startswith("corrupt: "), outcomes[name]


def test_the_hostile_files_are_small():
    assert len(HOSTILE["version_r_claims_4e9_entries"]) < 1100


def test_verify_names_the_hostile_binary_as_a_binary_format_error(tmp_path):
    """The 1.3 KB wheel of the review: verify ends with exit 4 and a binary-format finding, not hours later."""
    files = {"hostile/__init__.py": b"", "hostile/_native.so": HOSTILE["version_r_claims_4e9_entries"]}
    wheel = make_wheel(tmp_path, "hostile", tag="cp312-abi3-manylinux2014_x86_64", files=files)
    done = subprocess.run(
        [sys.executable, "-m", "pip_lambda", "verify", str(wheel), "--runtime", "python3.12", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == EXIT_VERIFY_FAILED, done.stderr
    (finding,) = json.loads(done.stdout)["findings"]
    assert (finding["check"], finding["path"]) == ("binary-format", "hostile/_native.so")
    assert "a corrupt ELF file (.gnu.version_r claims 4294967295 entries" in finding["reason"]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mutated")


SAMPLE = build_elf(libraries=(("libc.so.6", ("GLIBC_2.17",)), ("libstdc++.so.6", ("GLIBCXX_3.4.29",))))


@settings(max_examples=300, deadline=2000, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(st.tuples(st.integers(0, len(SAMPLE) - 1), st.integers(0, 255)), min_size=1, max_size=12),
    keep=st.integers(16, len(SAMPLE)),
)
def test_mutated_bytes_give_an_elf_info_or_corrupt_elf(scratch, changes, keep):
    data = bytearray(SAMPLE)
    for position, value in changes:
        data[position] = value
    path = scratch / "mutated.so"
    path.write_bytes(bytes(data[:keep]))
    with contextlib.suppress(CorruptElf):
        assert isinstance(read_elf(path), ElfInfo)
