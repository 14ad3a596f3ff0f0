"""Shared fixtures: an isolated pip environment, a wheelhouse of fabricated wheels, a CLI runner."""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import os
import socket
import struct
import tarfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import pip_lambda
from pip_lambda.cli.main import main
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target
from pip_lambda.system.interpreters import find_interpreter


def pytest_report_header() -> list[str]:
    import pip

    return [f"pip-lambda {pip_lambda.__version__} from {Path(pip_lambda.__file__).parent}, pip {pip.__version__}"]


@pytest.fixture(autouse=True)
def isolated_pip_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No pip configuration of this machine (extra indexes, find-links, constraints) reaches a test,
    and each test has a build cache of its own."""
    for name in list(os.environ):
        if name.startswith(("PIP_", "PIP_LAMBDA_")) or name == "SOURCE_DATE_EPOCH":
            monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_LAMBDA_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(
    directory: Path,
    name: str,
    version: str = "1.0",
    tag: str = "py3-none-any",
    *,
    requires: Sequence[str] = (),
    files: dict[str, bytes] | None = None,
    scripts: Sequence[str] = (),
    requires_python: str | None = None,
    extras: Sequence[str] = (),
) -> Path:
    """Write a real wheel: METADATA, WHEEL with its tags, RECORD with hashes, optional console scripts."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    contents = dict(files if files is not None else {f"{module}/__init__.py": f"__version__ = {version!r}\n".encode()})
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {requirement}" for requirement in requires]
    metadata += [f"Provides-Extra: {extra}" for extra in extras]
    if requires_python:
        metadata.append(f"Requires-Python: {requires_python}")
    contents[f"{dist_info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    pure = "true" if tag.endswith("-none-any") else "false"
    tags = "".join(f"Tag: {python}-{abi}-{platform}\n" for python, abi, platform in _expand(tag))
    contents[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: pip-lambda-tests\nRoot-Is-Purelib: {pure}\n{tags}".encode()
    )
    if scripts:
        entry_points = "[console_scripts]\n" + "".join(f"{script} = {module}:main\n" for script in scripts)
        contents[f"{dist_info}/entry_points.txt"] = entry_points.encode()
    contents[f"{dist_info}/top_level.txt"] = f"{module}\n".encode()
    record = [_record_line(path, data) for path, data in contents.items()] + [f"{dist_info}/RECORD,,"]
    contents[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = directory / f"{module}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, data in contents.items():
            wheel.writestr(member, data)
    return path


def _expand(tag: str) -> Iterator[tuple[str, str, str]]:
    python, abi, platform = tag.split("-")
    for py in python.split("."):
        for ab in abi.split("."):
            for plat in platform.split("."):
                yield py, ab, plat


def make_sdist(directory: Path, name: str, version: str = "1.0") -> Path:
    path = directory / f"{name}-{version}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        data = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
        info = tarfile.TarInfo(f"{name}-{version}/PKG-INFO")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


EM_X86_64 = 62
EM_AARCH64 = 183


def elf_header(machine: int = EM_X86_64) -> bytes:
    """The smallest valid ELF file: a 64-bit little-endian shared-object header with no sections."""
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    return struct.pack("<16sHHIQQQIHHHHHH", ident, 3, machine, 1, 0, 0, 0, 0, 64, 56, 0, 64, 0, 0)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels for every tag case the tests need, served to the real pip with --find-links."""
    house = tmp_path_factory.mktemp("wheelhouse")
    so = {"glibcpkg/__init__.py": b"", "glibcpkg/_native.so": elf_header(EM_X86_64)}
    arm_so = {"glibcpkg/__init__.py": b"", "glibcpkg/_native.so": elf_header(EM_AARCH64)}
    make_wheel(house, "purepkg", scripts=["purepkg-cli"])
    make_wheel(house, "glibcpkg", "1.0", "cp311.cp312.cp313-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64", files=so)
    make_wheel(
        house, "glibcpkg", "1.0", "cp311.cp312.cp313-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64", files=arm_so
    )
    make_wheel(house, "glibcpkg", "2.0", "cp311.cp312.cp313-abi3-manylinux_2_28_x86_64", files=so)
    make_wheel(house, "glibcpkg", "2.0", "cp311.cp312.cp313-abi3-manylinux_2_28_aarch64", files=arm_so)
    make_wheel(house, "newglibc", "1.0", "cp311.cp312-abi3-manylinux_2_28_x86_64")
    make_wheel(house, "edge34", "1.0", "py3-none-manylinux_2_34_x86_64")
    make_wheel(house, "legacy1", "1.0", "py3-none-manylinux1_x86_64")
    make_wheel(house, "maconly", "1.0", "py3-none-macosx_11_0_arm64")
    make_wheel(house, "muslonly", "1.0", "py3-none-musllinux_1_2_x86_64")
    make_wheel(house, "armonly", "1.0", "py3-none-manylinux2014_aarch64")
    make_wheel(house, "cp313only", "1.0", "cp313-cp313-manylinux2014_x86_64")
    make_sdist(house, "sdistonly")
    make_wheel(
        house,
        "markerpkg",
        requires=[
            'dep-old; python_version < "3.12"',
            'dep-new; python_version >= "3.12"',
            'dep-arm; platform_machine == "aarch64"',
            'dep-x86; platform_machine == "x86_64"',
            'dep-linux; sys_platform == "linux"',
            'dep-darwin; sys_platform == "darwin"',
        ],
    )
    for dep in ("dep-old", "dep-new", "dep-arm", "dep-x86", "dep-linux", "dep-darwin"):
        make_wheel(house, dep)
    return house


@dataclass
class Run:
    exit_code: int
    out: str
    err: str


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder, made the current folder."""
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run ``pip-lambda`` in-process and capture what it prints."""

    def runner(*args: str) -> Run:
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return runner


@pytest.fixture
def offline(wheelhouse: Path) -> list[str]:
    """pip arguments that keep pip on the local wheelhouse."""
    return ["--no-index", "--find-links", str(wheelhouse)]


@pytest.fixture
def serve() -> Iterator[Callable[[Path], str]]:
    """Serve a folder over HTTP on 127.0.0.1: pip reads its listing as find-links, the cache key cannot list it."""
    servers: list[ThreadingHTTPServer] = []

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    def start(folder: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def zip_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


# --- network tests -------------------------------------------------------------------------


def _online() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def network() -> None:
    if not _online():
        pytest.skip("no network: PyPI is unreachable")


def interpreter_for(runtime: str, arch: str = "x86_64") -> list[str]:
    """A command running the runtime's Python on this machine, or skip the test."""
    command = find_interpreter(Target(get_runtime(runtime), Arch.parse(arch)))
    if command is None:
        pytest.skip(f"no {runtime} {arch} interpreter on this machine")
    return command


def unzip_read_only(archive: Path, destination: Path) -> Path:
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(destination)
    for path in sorted(destination.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    destination.chmod(0o555)
    return destination


def make_writable(paths: Iterable[Path]) -> None:
    for root in paths:
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
