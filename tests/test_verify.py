"""pip-lambda verify and the verification of every install: fabricated trees, wheels and binaries."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pip_lambda.checks.elf import BinaryKind, CorruptElf, kind_of, read_elf
from pip_lambda.checks.findings import JSON_SCHEMA, JSON_VERSION
from pip_lambda.errors import EXIT_NO_WHEEL, EXIT_USAGE, EXIT_VERIFY_FAILED

from conftest import EM_AARCH64, elf_header, make_wheel

# The first bytes of a 64-bit arm64 Mach-O dylib (magic, CPU_TYPE_ARM64, subtype, MH_BUNDLE) and of a PE file.
MACH_O = b"\xcf\xfa\xed\xfe" + struct.pack("<iiIIII", 0x0100000C, 0, 8, 0, 0, 0) + bytes(4)
PE = b"MZ" + bytes(58) + struct.pack("<I", 64) + b"PE\x00\x00" + struct.pack("<H", 0x8664) + bytes(18)

NEEDS_GLIBC_2_28 = """
extern int fcntl64(int, int, ...);
int use_fcntl(int fd) { return fcntl64(fd, 1); }
"""
USES_GLIBC_PRIVATE = """
extern int __libc_alloca_cutoff(unsigned long);
int use_private(void) { return __libc_alloca_cutoff(10); }
"""
EXTENSION = "void *PyInit_native(void) { return 0; }\n"


@pytest.fixture(scope="session")
def cc(tmp_path_factory: pytest.TempPathFactory):
    """Compile C source into a shared library; skips when the machine has no C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler on this machine")
    folder = tmp_path_factory.mktemp("cc")
    count = iter(range(1000))

    def compile_library(source: str, *flags: str) -> bytes:
        number = next(count)
        (folder / f"{number}.c").write_text(source)
        output = folder / f"{number}.so"
        subprocess.run(
            [compiler, "-shared", "-fPIC", "-o", str(output), str(folder / f"{number}.c"), *flags], check=True
        )
        return output.read_bytes()

    compile_library.folder = folder  # type: ignore[attr-defined]
    return compile_library


def as_aarch64(data: bytes) -> bytes:
    """The same ELF file claiming to be AArch64 (e_machine is the 2 bytes at offset 18)."""
    return data[:18] + struct.pack("<H", EM_AARCH64) + data[20:]


def installed_tree(folder: Path, *wheels: Path) -> Path:
    """Unpack wheels into ``folder`` as a plain 'pip install --target' or an unzip would."""
    folder.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(folder)
    return folder


def tree_with(tmp_path: Path, files: dict[str, bytes], tag: str = "cp311-abi3-manylinux2014_x86_64") -> Path:
    wheel = make_wheel(tmp_path, "nativepkg", tag=tag, files={"nativepkg/__init__.py": b"", **files})
    return installed_tree(tmp_path / "tree", wheel)


# --- the binary reader ------------------------------------------------------------------------


def test_kinds_are_told_apart_by_their_first_bytes(tmp_path):
    for name, data, kind in [
        ("a.so", elf_header(), BinaryKind.ELF),
        ("b.so", MACH_O, BinaryKind.MACH_O),
        ("c.pyd", PE, BinaryKind.PE),
        ("d.py", b"print('hi')\n", BinaryKind.OTHER),
    ]:
        (tmp_path / name).write_bytes(data)
        assert kind_of(tmp_path / name) is kind


def test_elf_reader_gives_machine_versions_and_python_init(tmp_path, cc):
    library = tmp_path / "native.so"
    library.write_bytes(cc(NEEDS_GLIBC_2_28 + EXTENSION))
    info = read_elf(library)
    assert (info.machine, info.bits) == ("x86_64", 64)
    assert "GLIBC_2.28" in info.versions
    assert "libc.so.6" in info.needed
    assert info.python_init
    library.write_bytes(as_aarch64(library.read_bytes()))
    assert read_elf(library).machine == "aarch64"


def test_a_truncated_elf_is_corrupt(tmp_path, cc):
    library = tmp_path / "native.so"
    library.write_bytes(cc(EXTENSION)[:200])
    with pytest.raises(CorruptElf):
        read_elf(library)


# --- the command ------------------------------------------------------------------------------


def test_a_clean_build_verifies_with_exit_0(project, run, offline):
    assert run("install", "--runtime", "python3.12", *offline, "glibcpkg", "purepkg").exit_code == 0
    result = run("verify", "build/lambda.zip", "--runtime", "python3.12")
    assert result.exit_code == 0, result.out
    assert "verify: no problems in build/lambda.zip for python3.12 x86_64 (2 distributions" in result.out


def test_verify_reads_folders_too(project, run, offline):
    assert run("install", "--runtime", "python3.11", *offline, "glibcpkg", "--no-zip").exit_code == 0
    assert run("verify", "build/lambda", "--runtime", "python3.11").exit_code == 0


def test_verify_of_a_missing_path_is_a_usage_error(project, run):
    result = run("verify", "nothing.zip", "--runtime", "python3.12")
    assert result.exit_code == EXIT_USAGE
    assert "error: nothing.zip does not exist" in result.err
    assert run("verify").exit_code == EXIT_USAGE


def test_verify_help_lists_checks_and_exit_codes(run):
    result = run("verify", "--help")
    assert result.exit_code == 0
    for words in (
        "--runtime",
        "--arch",
        "--layer",
        "--import",
        "--handler",
        "--python",
        "--json",
        "elf-glibc",
        "4 errors found",
    ):
        assert words in result.out


@pytest.mark.parametrize(
    ("tag", "runtime", "words"),
    [
        ("py3-none-musllinux_1_2_x86_64", "python3.12", "a musl wheel"),
        ("py3-none-macosx_11_0_arm64", "python3.12", "a macOS wheel"),
        ("cp312-cp312-win_amd64", "python3.12", "a Windows wheel"),
        ("pp310-pypy310_pp73-manylinux2014_x86_64", "python3.10", "a PyPy wheel"),
        ("cp313-cp313t-manylinux2014_x86_64", "python3.13", "a free-threaded CPython wheel"),
        ("cp312-cp312-manylinux2014_x86_64", "python3.11", "a wheel for Python 3.12"),
        ("cp312-abi3-manylinux2014_x86_64", "python3.11", "a wheel for Python 3.12"),
        ("cp311-cp311-manylinux_2_28_x86_64", "python3.11", "a wheel for glibc 2.28"),
        ("cp312-cp312-manylinux_2_35_x86_64", "python3.12", "a wheel for glibc 2.35"),
        ("cp311-cp311-manylinux2014_aarch64", "python3.11", "another platform or architecture"),
    ],
)
def test_each_bad_wheel_tag_is_an_error(tmp_path, run, tag, runtime, words):
    tree = installed_tree(tmp_path / "tree", make_wheel(tmp_path, "badtag", tag=tag))
    result = run("verify", str(tree), "--runtime", runtime)
    assert result.exit_code == EXIT_VERIFY_FAILED, result.out
    assert "badtag==1.0" in result.out
    assert "badtag-1.0.dist-info/WHEEL" in result.out
    assert words in result.out


@pytest.mark.parametrize(
    ("tag", "runtime"),
    [
        ("py3-none-any", "python3.9"),
        ("py2.py3-none-any", "python3.14"),
        ("cp38-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64", "python3.11"),
        ("cp312-cp312-manylinux_2_34_x86_64", "python3.12"),
        ("cp311-cp311-manylinux_2_28_x86_64.manylinux2014_x86_64", "python3.11"),
    ],
)
def test_loadable_wheel_tags_pass(tmp_path, run, tag, runtime):
    tree = installed_tree(tmp_path / "tree", make_wheel(tmp_path, "goodtag", tag=tag))
    assert run("verify", str(tree), "--runtime", runtime).exit_code == 0


def test_a_locally_built_linux_wheel_is_a_warning(tmp_path, run):
    tree = installed_tree(tmp_path / "tree", make_wheel(tmp_path, "local", tag="cp312-cp312-linux_x86_64"))
    result = run("verify", str(tree), "--runtime", "python3.12")
    assert result.exit_code == 0
    assert "warning" in result.out
    assert "a locally built wheel" in result.out


def test_glibc_2_28_binary_fails_on_python311_and_passes_on_python312(tmp_path, run, cc):
    tree = tree_with(tmp_path, {"nativepkg/_helper.so": cc(NEEDS_GLIBC_2_28)})
    result = run("verify", str(tree), "--runtime", "python3.11")
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "nativepkg/_helper.so" in result.out
    assert "needs glibc 2.28 (GLIBC_2.28), newer than python3.11's glibc 2.26" in result.out
    assert run("verify", str(tree), "--runtime", "python3.12").exit_code == 0


def test_glibc_private_is_an_error(tmp_path, run, cc):
    tree = tree_with(tmp_path, {"nativepkg/_private.so": cc(USES_GLIBC_PRIVATE)})
    result = run("verify", str(tree), "--runtime", "python3.12")
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "uses GLIBC_PRIVATE symbols" in result.out


def test_aarch64_binary_fails_for_x86_64_and_passes_for_arm64(tmp_path, run, cc):
    data = as_aarch64(cc("int answer(void) { return 42; }\n"))
    tree = tree_with(tmp_path, {"nativepkg/_arm.so": data}, tag="cp312-abi3-manylinux2014_aarch64")
    result = run("verify", str(tree), "--runtime", "python3.12", "--arch", "x86_64")
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "nativepkg/_arm.so" in result.out
    assert "built for aarch64 (64-bit), not x86_64" in result.out
    assert run("verify", str(tree), "--runtime", "python3.12", "--arch", "arm64").exit_code == 0


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("nativepkg/_speedups.cpython-312-darwin.so", MACH_O, "a Mach-O (macOS) binary, not ELF"),
        ("nativepkg/_speedups.pyd", PE, "a PE (Windows) binary, not ELF"),
    ],
)
def test_mach_o_and_pe_files_are_named_as_such(tmp_path, run, name, data, words):
    tree = tree_with(tmp_path, {name: data})
    result = run("verify", str(tree), "--runtime", "python3.12")
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert name in result.out
    assert words in result.out
    assert "invalid ELF header" in result.out


def test_a_corrupt_elf_file_is_an_error(tmp_path, run):
    tree = tree_with(tmp_path, {"nativepkg/_native.so": b"\x7fELF garbage"})
    result = run("verify", str(tree), "--runtime", "python3.12")
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "a corrupt ELF file" in result.out


@pytest.mark.parametrize(
    ("name", "runtime", "ok", "words"),
    [
        ("native.cpython-312-x86_64-linux-gnu.so", "python3.12", True, ""),
        ("native.abi3.so", "python3.12", True, ""),
        ("native.so", "python3.12", True, ""),
        ("native.cpython-313-x86_64-linux-gnu.so", "python3.12", False, "for Python 3.13 on x86_64-linux-gnu"),
        ("native.cpython-313t-x86_64-linux-gnu.so", "python3.13", False, "Python 3.13 free-threaded"),
        ("native.cpython-312-aarch64-linux-gnu.so", "python3.12", False, "for Python 3.12 on aarch64-linux-gnu"),
    ],
)
def test_extension_module_suffixes(tmp_path, run, cc, name, runtime, ok, words):
    tree = tree_with(tmp_path, {f"nativepkg/{name}": cc(EXTENSION)})
    result = run("verify", str(tree), "--runtime", runtime)
    assert (result.exit_code == 0) is ok, result.out
    assert words in result.out
    if not ok:
        assert "extension module" in result.out


def test_needed_libraries_resolve_through_origin_run_paths(tmp_path, run, cc):
    library = cc("int helper(void) { return 1; }\n", "-Wl,-soname,libhelper-1a2b.so")
    folder = cc.folder
    (folder / "libhelper-1a2b.so").write_bytes(library)
    user = cc(
        "int helper(void);\nint call(void) { return helper(); }\n",
        f"-L{folder}",
        "-l:libhelper-1a2b.so",
        "-Wl,-rpath,$ORIGIN/../nativepkg.libs",
    )
    tree = tree_with(tmp_path, {"nativepkg/_user.so": user, "nativepkg.libs/libhelper-1a2b.so": library})
    result = run("verify", str(tree), "--runtime", "python3.12")
    assert result.exit_code == 0
    assert "warning" not in result.out

    (tree / "nativepkg.libs/libhelper-1a2b.so").unlink()
    result = run("verify", str(tree), "--runtime", "python3.12")
    assert result.exit_code == 0, "a missing library is a warning, not an error"
    assert "needs libhelper-1a2b.so, which is neither in the package" in result.out


def test_a_library_in_lib_is_found_as_lambda_finds_it(tmp_path, run, cc):
    library = cc("int helper(void) { return 1; }\n", "-Wl,-soname,libhelper.so")
    (cc.folder / "libhelper.so").write_bytes(library)
    user = cc("int helper(void);\nint call(void) { return helper(); }\n", f"-L{cc.folder}", "-l:libhelper.so")
    tree = tree_with(tmp_path, {"nativepkg/_user.so": user, "lib/libhelper.so": library})
    assert "warning" not in run("verify", str(tree), "--runtime", "python3.12").out


@pytest.mark.parametrize(
    ("content", "ok"),
    [
        ("/home/me/src/project\n", False),
        ("../../elsewhere\n", False),
        ("import __editable___project_1_0_finder; __editable___project_1_0_finder.install()\n", False),
        ("# a comment\nvendored\n", True),
        ("import os; os.environ.setdefault('X', '1')\n", True),
    ],
)
def test_pth_files_pointing_outside_are_errors(tmp_path, run, content, ok):
    tree = installed_tree(tmp_path / "tree", make_wheel(tmp_path, "purepkg"))
    (tree / "project.pth").write_text(content)
    result = run("verify", str(tree), "--runtime", "python3.12")
    assert (result.exit_code == 0) is ok, result.out
    if not ok:
        assert "project.pth" in result.out


def test_direct_url_to_a_local_path_is_an_error(tmp_path, run):
    tree = installed_tree(tmp_path / "tree", make_wheel(tmp_path, "purepkg"))
    direct_url = {"url": "file:///home/me/src/purepkg", "dir_info": {"editable": True}}
    (tree / "purepkg-1.0.dist-info/direct_url.json").write_text(json.dumps(direct_url))
    result = run("verify", str(tree), "--runtime", "python3.12")
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "an editable install from file:///home/me/src/purepkg" in result.out
    (tree / "purepkg-1.0.dist-info/direct_url.json").write_text(
        json.dumps({"url": "https://example.com/purepkg-1.0.tar.gz", "archive_info": {}})
    )
    assert run("verify", str(tree), "--runtime", "python3.12").exit_code == 0


def test_a_partial_sdk_is_a_warning_and_the_whole_sdk_is_fine(tmp_path, run):
    wheels = [make_wheel(tmp_path, name) for name in ("boto3", "botocore", "s3transfer")]
    partial = installed_tree(tmp_path / "partial", *wheels[:2])
    result = run("verify", str(partial), "--runtime", "python3.12")
    assert result.exit_code == 0
    assert "warning" in result.out
    assert "bundles boto3==1.0, botocore==1.0 but not s3transfer" in result.out
    whole = installed_tree(tmp_path / "whole", *wheels)
    assert "warning" not in run("verify", str(whole), "--runtime", "python3.12").out


def test_json_output_follows_the_documented_schema(tmp_path, run):
    tree = installed_tree(tmp_path / "tree", make_wheel(tmp_path, "badtag", tag="py3-none-macosx_11_0_arm64"))
    result = run("verify", str(tree), "--runtime", "python3.12", "--json")
    assert result.exit_code == EXIT_VERIFY_FAILED
    document = json.loads(result.out)
    assert (document["schema"], document["version"]) == (JSON_SCHEMA, JSON_VERSION)
    assert (document["runtime"], document["arch"], document["layer"], document["ok"]) == (
        "python3.12",
        "x86_64",
        False,
        False,
    )
    assert document["errors"] == 1 and document["warnings"] == 0
    assert document["import_test"] is None
    (finding,) = document["findings"]
    assert set(finding) == {"level", "check", "distribution", "path", "reason", "fix"}
    assert (finding["level"], finding["check"], finding["distribution"]) == ("error", "wheel-tags", "badtag==1.0")


# --- layers -----------------------------------------------------------------------------------


def test_a_layer_verifies_with_layer(project, run, offline):
    assert run("install", "--layer", "--runtime", "python3.12", *offline, "glibcpkg").exit_code == 0
    assert run("verify", "build/layer.zip", "--layer", "--runtime", "python3.12").exit_code == 0
    result = run("verify", "build/layer.zip", "--runtime", "python3.12")
    assert "pass --layer if this is a layer" in result.out


def test_a_layer_without_python_folder_or_for_another_python_fails(tmp_path, run):
    tree = installed_tree(tmp_path / "tree", make_wheel(tmp_path, "purepkg"))
    result = run("verify", str(tree), "--layer", "--runtime", "python3.12")
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "a layer without a python/ folder" in result.out
    other = installed_tree(tmp_path / "other/python/lib/python3.11/site-packages", make_wheel(tmp_path, "purepkg"))
    assert other.is_dir()
    result = run("verify", str(tmp_path / "other"), "--layer", "--runtime", "python3.12")
    assert "site-packages of another Python" in result.out


# --- install verifies its result --------------------------------------------------------------


@pytest.fixture
def mac_house(tmp_path):
    """A wheel whose tags claim Linux but whose extension module is a Mach-O file."""
    house = tmp_path / "machouse"
    house.mkdir()
    files = {"fakelinux/__init__.py": b"", "fakelinux/_speedups.cpython-312-x86_64-linux-gnu.so": MACH_O}
    make_wheel(house, "fakelinux", tag="cp312-cp312-manylinux2014_x86_64", files=files)
    return house


def test_install_fails_on_errors_and_keeps_the_last_zip(project, run, offline, mac_house):
    assert run("install", "--runtime", "python3.12", *offline, "purepkg").exit_code == 0
    before = (project / "build/lambda.zip").read_bytes()
    result = run("install", "--runtime", "python3.12", *offline, "--find-links", str(mac_house), "fakelinux")
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "fakelinux/_speedups.cpython-312-x86_64-linux-gnu.so" in result.err
    assert "a Mach-O (macOS) binary" in result.err
    assert "error: the package would not load on python3.12 x86_64: 1 error, 0 warnings" in result.err
    assert (project / "build/lambda.zip").read_bytes() == before
    assert not list(project.glob("build/.*pip-lambda-*")), "the staging folder is removed"


def test_no_verify_skips_verification(project, run, offline, mac_house):
    result = run(
        "install", "--no-verify", "--runtime", "python3.12", *offline, "--find-links", str(mac_house), "fakelinux"
    )
    assert result.exit_code == 0, result.err


def test_install_shows_warnings_and_succeeds(project, run, tmp_path):
    for name in ("boto3", "botocore"):
        make_wheel(tmp_path, name)
    result = run("install", "--runtime", "python3.12", "--no-index", "--find-links", str(tmp_path), "boto3", "botocore")
    assert result.exit_code == 0, result.err
    assert "warning: boto3==1.0 boto3-1.0.dist-info: bundles boto3==1.0, botocore==1.0 but not s3transfer" in result.err


# --- the import smoke test --------------------------------------------------------------------


def host_python_tree(tmp_path: Path, module_source: bytes) -> Path:
    files = {"smoke/__init__.py": module_source}
    return installed_tree(tmp_path / "tree", make_wheel(tmp_path, "smoke", files=files))


def host_runtime() -> str:
    return f"python{sys.version_info[0]}.{sys.version_info[1]}"


def test_import_test_passes_for_importable_modules(tmp_path, run):
    tree = host_python_tree(tmp_path, b"VALUE = 1\n")
    result = run("verify", str(tree), "--runtime", host_runtime(), "--import", "--python", sys.executable)
    assert result.exit_code == 0, result.out
    assert "import test of 1 module with" in result.out


def test_import_test_reports_the_module_and_the_exception(tmp_path, run):
    tree = host_python_tree(tmp_path, b"import not_installed_anywhere\n")
    result = run("verify", str(tree), "--runtime", host_runtime(), "--import", "--python", sys.executable)
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "import smoke failed: ModuleNotFoundError: No module named 'not_installed_anywhere'" in result.out


def test_import_test_runs_on_a_read_only_tree(tmp_path, run):
    source = b"import pathlib\npathlib.Path(__file__).with_name('written').write_text('x')\n"
    tree = host_python_tree(tmp_path, source)
    run("verify", str(tree), "--runtime", host_runtime(), "--import", "--python", sys.executable)
    assert not (tree / "smoke/written").exists(), "the verified tree itself is never written"
    assert not list(tree.rglob("__pycache__")), "no bytecode is written"


def test_import_test_imports_the_handler(tmp_path, run):
    tree = host_python_tree(tmp_path, b"")
    (tree / "app.py").write_text("def handler(event, context):\n    return 1\n")
    runtime = host_runtime()
    result = run("verify", str(tree), "--runtime", runtime, "--handler", "app.handler", "--python", sys.executable)
    assert result.exit_code == 0, result.out
    assert "import test of 1 module" in result.out, "--handler implies --import"
    result = run(
        "verify", str(tree), "--runtime", runtime, "--import", "--handler", "app.missing", "--python", sys.executable
    )
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "import the handler failed: AttributeError: module 'app' has no function 'missing'" in result.out


def test_import_test_names_runtime_provided_modules_as_warnings(tmp_path, run):
    tree = host_python_tree(tmp_path, b"import boto3\n")
    result = run("verify", str(tree), "--runtime", host_runtime(), "--import", "--python", sys.executable)
    assert result.exit_code == 0
    assert "which the Lambda runtime provides" in result.out


def test_import_test_is_skipped_once_without_an_interpreter(tmp_path, run):
    tree = host_python_tree(tmp_path, b"")
    result = run("verify", str(tree), "--runtime", "python3.12", "--arch", "arm64", "--import", "--json")
    assert result.exit_code == 0
    status = json.loads(result.out)["import_test"]
    assert status["ran"] is False
    assert "so the import test was skipped" in status["note"]
    assert result.err.count("import test was skipped") == 1


def test_a_python_that_does_not_fit_is_a_usage_error(tmp_path, run):
    tree = host_python_tree(tmp_path, b"")
    other = "python3.12" if sys.version_info[:2] != (3, 12) else "python3.13"
    result = run("verify", str(tree), "--runtime", other, "--import", "--python", sys.executable)
    assert result.exit_code == EXIT_USAGE
    assert f"is not a Python {other[6:]} interpreter for x86_64" in result.err


def test_install_verify_import_fails_the_build(project, run, tmp_path):
    make_wheel(tmp_path, "broken", files={"broken/__init__.py": b"raise RuntimeError('boom at import')\n"})
    args = ("install", "--runtime", host_runtime(), "--no-index", "--find-links", str(tmp_path), "broken")
    result = run(*args, "--verify-import", "--python", sys.executable)
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "import broken failed: RuntimeError: boom at import" in result.err
    assert run(*args).exit_code == 0, "without --verify-import nothing is imported"


# --- sdist-only requirements ------------------------------------------------------------------

BACKEND = """
import base64, hashlib, io, os, zipfile

TAG = {tag!r}

def _record(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "{name}-1.0-%s.whl" % TAG
    files = {{
        "{name}/__init__.py": b"BUILT = True\\n",
        "{name}-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: {name}\\nVersion: 1.0\\n",
        "{name}-1.0.dist-info/WHEEL": ("Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: %s\\n" % TAG).encode(),
    }}
    record = [_record(path, data) for path, data in files.items()] + ["{name}-1.0.dist-info/RECORD,,"]
    files["{name}-1.0.dist-info/RECORD"] = ("\\n".join(record) + "\\n").encode()
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
    return name
"""


def buildable_sdist(directory: Path, name: str, tag: str) -> Path:
    """An sdist with an in-tree build backend that writes a wheel with ``tag`` (no network needed)."""
    import io
    import tarfile

    root = f"{name}-1.0"
    files = {
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        "pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
        "backend.py": BACKEND.format(name=name, tag=tag),
    }
    path = directory / f"{root}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{root}/{member}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def sdist_house(tmp_path):
    house = tmp_path / "sdists"
    house.mkdir()
    buildable_sdist(house, "puresrc", "py3-none-any")
    buildable_sdist(house, "nativesrc", "cp312-cp312-linux_x86_64")
    return house


def test_sdist_only_requirement_fails_naming_the_sdist_file(project, run, sdist_house):
    result = run("install", "--runtime", "python3.12", "--no-index", "--find-links", str(sdist_house), "puresrc")
    assert result.exit_code == EXIT_NO_WHEEL
    assert "puresrc: only a source distribution (sdist) matches puresrc (puresrc-1.0.tar.gz)" in result.err
    assert "--allow-sdist puresrc" in result.err


@pytest.mark.parametrize("allowed", ["puresrc", "PureSrc", ":all:"])
def test_allow_sdist_builds_a_pure_wheel_and_installs_it(project, run, sdist_house, allowed):
    result = run(
        "install",
        "--runtime",
        "python3.12",
        "--no-index",
        "--find-links",
        str(sdist_house),
        "--allow-sdist",
        allowed,
        "puresrc",
    )
    assert result.exit_code == 0, result.err
    assert "puresrc==1.0" in result.out
    assert "this runs its build code" in result.err
    assert (project / "build/lambda/puresrc/__init__.py").read_text() == "BUILT = True\n"


def test_allow_sdist_refuses_a_platform_wheel_with_advice(project, run, sdist_house):
    result = run(
        "install",
        "--runtime",
        "python3.12",
        "--no-index",
        "--find-links",
        str(sdist_house),
        "--allow-sdist",
        "nativesrc",
        "nativesrc",
    )
    assert result.exit_code == EXIT_NO_WHEEL
    assert (
        "nativesrc: building nativesrc-1.0.tar.gz on this machine produced a platform wheel (nativesrc-1.0-cp312-cp312-linux_x86_64.whl)"
        in result.err
    )
    assert "public.ecr.aws/sam/build-python3.12" in result.err
    assert not (project / "build/lambda").exists()


def test_allow_sdist_for_another_name_still_fails(project, run, sdist_house):
    result = run(
        "install",
        "--runtime",
        "python3.12",
        "--no-index",
        "--find-links",
        str(sdist_house),
        "--allow-sdist",
        "other",
        "puresrc",
    )
    assert result.exit_code == EXIT_NO_WHEEL


def test_install_help_says_allow_sdist_runs_build_code(run):
    assert "RUNS THE SDIST'S BUILD CODE" in run("install", "--help").out.replace("\n", " ").replace("  ", " ")


def test_import_test_goes_on_after_a_crash(tmp_path, run):
    crash = make_wheel(tmp_path, "aaa_crash", files={"aaa_crash/__init__.py": b"import os\nos.abort()\n"})
    broken = make_wheel(tmp_path, "zzz_broken", files={"zzz_broken/__init__.py": b"raise ValueError('later')\n"})
    tree = installed_tree(tmp_path / "tree", crash, broken)
    result = run("verify", str(tree), "--runtime", host_runtime(), "--import", "--python", sys.executable)
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "the interpreter crashed importing aaa_crash (SIGABRT)" in result.out
    assert "import zzz_broken failed: ValueError: later" in result.out


def test_import_test_catches_an_extension_module_that_fails_to_initialise(tmp_path, run, cc):
    suffix = f".cpython-{sys.version_info[0]}{sys.version_info[1]}-x86_64-linux-gnu.so"
    tree = tree_with(tmp_path, {f"nativepkg/native{suffix}": cc(EXTENSION)}, tag="py3-none-any")
    (tree / "nativepkg/__init__.py").write_text("from . import native\n")
    assert run("verify", str(tree), "--runtime", host_runtime()).exit_code == 0, "statically it looks fine"
    result = run("verify", str(tree), "--runtime", host_runtime(), "--import", "--python", sys.executable)
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "import nativepkg failed: SystemError" in result.out


def test_a_layer_is_imported_from_opt_python(project, run, offline):
    assert run("install", "--layer", "--runtime", host_runtime(), *offline, "purepkg").exit_code == 0
    result = run(
        "verify", "build/layer.zip", "--layer", "--runtime", host_runtime(), "--import", "--python", sys.executable
    )
    assert result.exit_code == 0, result.out
    assert "import test of 1 module with" in result.out


def test_modules_come_from_record_without_top_level_txt(tmp_path, run):
    tree = host_python_tree(tmp_path, b"raise ImportError('found through RECORD')\n")
    (tree / "smoke-1.0.dist-info/top_level.txt").unlink()
    result = run("verify", str(tree), "--runtime", host_runtime(), "--import", "--python", sys.executable)
    assert "import smoke failed: ImportError: found through RECORD" in result.out


def test_verify_takes_the_runtime_from_the_configuration(project, run, tmp_path):
    (project / "pyproject.toml").write_text('[tool.pip-lambda]\nruntime = "python3.11"\n')
    tree = installed_tree(tmp_path / "tree", make_wheel(tmp_path, "newer", tag="cp311-cp311-manylinux_2_28_x86_64"))
    result = run("verify", str(tree))
    assert result.exit_code == EXIT_VERIFY_FAILED
    assert "for python3.11 x86_64" in result.out
    assert run("verify", str(tree), "--runtime", "python3.12").exit_code == EXIT_VERIFY_FAILED, "cp311 on 3.12"
