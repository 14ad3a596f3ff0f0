"""Shared fixtures: an isolated pip environment, a wheelhouse of fabricated wheels, a CLI runner."""

from __future__ import annotations

import base64
import csv
import email.parser
import functools
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

import pip_lambda
from pip_lambda.cli.main import main
from pip_lambda.pip import args as pipargs
from pip_lambda.pip.requirements import local_location, read_requirements
from pip_lambda.pip.run import PipRunner, subprocess_runner, using_runner
from pip_lambda.pip.seam import MARKERS_VARIABLE
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


# --- pip processes: counted, or carried out in-process --------------------------------------------


def runs_pip(command: Sequence[str]) -> bool:
    """Whether a command line starts pip (``-m pip`` or pip-lambda's marker seam)."""
    return any(
        first == "-m" and second in ("pip", "pip_lambda.pip.seam") for first, second in zip(command, command[1:])
    )


@pytest.fixture
def pip_processes(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The command line of every pip process the test starts, counted where any process starts (subprocess.Popen)."""
    started: list[list[str]] = []
    real = subprocess.Popen

    class Counting(real):  # type: ignore[misc,valid-type]
        def __init__(self, command: Sequence[str], *args: object, **kwargs: object) -> None:
            if runs_pip(command):
                started.append([str(part) for part in command])
            super().__init__(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Counting)
    return started


@dataclass
class _Install:
    """What a ``pip install --target DIR`` command line asks for."""

    target: Path
    python: tuple[int, int] = (3, 12)
    platforms: list[str] = field(default_factory=list)
    no_deps: bool = False
    dry_run: bool = False
    report: Path | None = None
    links: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    constraint_files: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)


def _parse_install(arguments: Sequence[str]) -> _Install:
    request = _Install(Path())
    for token in pipargs.tokenize(arguments):
        option, value = token.option, token.value or ""
        if token.is_positional:
            request.requirements.append(value)
        elif option is pipargs.TARGET:
            request.target = Path(value)
        elif option is pipargs.PYTHON_VERSION:
            request.python = (int(value.split(".")[0]), int(value.split(".")[1]))
        elif option is pipargs.PLATFORM:
            request.platforms.append(value)
        elif option is pipargs.FIND_LINKS:
            request.links.append(value)
        elif option in (pipargs.REQUIREMENT, pipargs.CONSTRAINT):
            request.files.append(value)
            if option is pipargs.CONSTRAINT:
                request.constraint_files.append(value)
        elif option is pipargs.NO_DEPS:
            request.no_deps = True
        elif token.spelling == "--dry-run":
            request.dry_run = True
        elif token.spelling == "--report":
            request.report = Path(value)
        elif option is None and token.spelling != pipargs.SEPARATOR:
            raise AssertionError(f"the fake pip does not know {token.spelling}")
    return request


@dataclass(frozen=True)
class _Wheel:
    path: Path
    name: str
    version: Version
    rank: int
    """Of its best tag among the target's, as pip ranks them (lower is better)."""

    def requires(self) -> list[Requirement]:
        with zipfile.ZipFile(self.path) as wheel:
            member = next(name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
            metadata = email.parser.BytesParser().parsebytes(wheel.read(member))
        return [Requirement(text) for text in metadata.get_all("Requires-Dist") or []]


class _NotFound(Exception):
    pass


class FakePip:
    """``pip install --target DIR`` and ``pip download --dest DIR`` carried out in-process, for tests not about pip.

    It understands what pip-lambda asks of pip: the target's ``--platform`` and
    ``--python-version`` flags, ``--no-deps``, ``--dry-run``, ``--report``,
    requirements on the command line (``name==1.0``, ``name @ file:///….whl``)
    and in ``-r``/``-c`` files, ``--find-links``/``--no-index``.  Wheels are chosen
    from the find-links folders by the target's tags (newest version, best tag),
    dependencies followed with markers evaluated for the target, and each wheel is
    unpacked by ``installer`` into pip's --target layout (``lib/python`` moved into
    the folder, RECORD rows relative to it), as pip writes it.
    """

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str], environment: Mapping[str, str], line: Callable[[str], None]) -> int:
        self.commands.append(list(command))
        arguments, download = list(command[4:]), None
        if list(command[1:4]) == ["-m", "pip_lambda.pip.seam", "download"] and arguments[0] == "--dest":
            arguments, download = arguments[2:], Path(arguments[1])  # pip download: the chosen files, copied
        elif list(command[1:4]) != ["-m", "pip_lambda.pip.seam", "install"]:
            raise AssertionError(f"the fake pip only installs and downloads: {command}")
        request = _parse_install(arguments)
        found = read_requirements(request.files, request.constraint_files)
        links = [*request.links, *found.find_links]
        wanted = [Requirement(text) for text in request.requirements] + [
            Requirement(item.text) for item in found.requirements
        ]
        constraints = [Requirement(item.text) for item in found.lines if item.constraint]
        markers = json.loads(environment.get(MARKERS_VARIABLE, "{}"))
        try:
            picks = self.resolve(request, wanted, constraints, links, markers)
        except _NotFound as missing:
            line(f"ERROR: Could not find a version that satisfies the requirement {missing} (from versions: none)")
            line(f"ERROR: No matching distribution found for {missing}")
            return 1
        if download is not None:
            download.mkdir(parents=True, exist_ok=True)
            for wheel, _, _ in picks:
                shutil.copyfile(wheel.path, download / wheel.path.name)
            line("Saved " + " ".join(wheel.path.name for wheel, _, _ in picks))
            return 0
        if request.report is not None:
            request.report.write_text(json.dumps({"version": "1", "install": [self.report(pick) for pick in picks]}))
        if not request.dry_run:
            request.target.mkdir(parents=True, exist_ok=True)
            for wheel, requested, direct in picks:
                self.unpack(wheel, request.target, requested, direct)
        line("Successfully installed " + " ".join(f"{wheel.name}-{wheel.version}" for wheel, _, _ in picks))
        return 0

    @staticmethod
    def candidates(links: Sequence[str], tags: Sequence[Tag]) -> list[_Wheel]:
        ranks = {tag: rank for rank, tag in reversed(list(enumerate(tags)))}
        found = []
        for link in links:
            folder = local_location(link)
            for path in sorted(folder.glob("*.whl")) if folder is not None and folder.is_dir() else ():
                name, version, _build, wheel_tags = parse_wheel_filename(path.name)
                rank = min((ranks[tag] for tag in wheel_tags if tag in ranks), default=None)
                if rank is not None:
                    found.append(_Wheel(path, name, version, rank))
        return found

    def resolve(
        self,
        request: _Install,
        wanted: list[Requirement],
        constraints: list[Requirement],
        links: list[str],
        markers: Mapping[str, str],
    ) -> list[tuple[_Wheel, bool, bool]]:
        """(wheel, requested, direct) for each distribution, in the order they were first asked for."""
        platforms = request.platforms or None
        tags = [
            *cpython_tags(request.python, platforms=platforms),
            *compatible_tags(request.python, platforms=platforms),
        ]
        available = self.candidates(links, tags)
        limits: dict[str, SpecifierSet] = {}
        for constraint in constraints:
            name = canonicalize_name(constraint.name)
            limits[name] = limits.get(name, SpecifierSet()) & constraint.specifier
        chosen: dict[str, tuple[_Wheel, bool, bool]] = {}
        queue = [(requirement, True) for requirement in wanted]
        while queue:
            requirement, requested = queue.pop(0)
            name = canonicalize_name(requirement.name)
            if requirement.marker is not None and not requirement.marker.evaluate({**markers, "extra": ""}):
                continue
            if name in chosen:
                continue
            if requirement.url:
                path = local_location(requirement.url)
                assert path is not None, requirement.url
                wheel, direct = _Wheel(path, name, parse_wheel_filename(path.name)[1], 0), True
            else:
                specifier = requirement.specifier & limits.get(name, SpecifierSet())
                matching = [item for item in available if item.name == name and item.version in specifier]
                if not matching:
                    raise _NotFound(str(requirement))
                wheel, direct = max(matching, key=lambda item: (item.version, -item.rank)), False
            chosen[name] = (wheel, requested, direct)
            if not request.no_deps:
                extras = sorted(requirement.extras) or [""]
                for dependency in wheel.requires():
                    marker, dependency.marker = dependency.marker, None
                    if marker is None or any(marker.evaluate({**markers, "extra": extra}) for extra in extras):
                        queue.append((dependency, False))
        return list(chosen.values())

    @staticmethod
    def report(pick: tuple[_Wheel, bool, bool]) -> dict[str, object]:
        wheel, requested, direct = pick
        digest = hashlib.sha256(wheel.path.read_bytes()).hexdigest()
        return {
            "download_info": {"url": wheel.path.as_uri(), "archive_info": {"hashes": {"sha256": digest}}},
            "is_direct": direct,
            "requested": requested,
            "metadata": {"name": wheel.name, "version": str(wheel.version)},
        }

    @staticmethod
    def unpack(wheel: _Wheel, target: Path, requested: bool, direct: bool) -> None:
        """Install into a --target scheme under a scratch home, then move it into ``target`` as pip does."""
        with tempfile.TemporaryDirectory(prefix="fake-pip-") as scratch:
            home = Path(scratch)
            lib = home / "lib" / "python"
            python = f"python{sys.version_info[0]}.{sys.version_info[1]}"
            scheme = {
                "purelib": str(lib),
                "platlib": str(lib),
                "scripts": str(home / "bin"),
                "data": str(home),
                "headers": str(home / "include" / "site" / python / wheel.name),
            }
            metadata = {"INSTALLER": b"pip\n"}
            if requested:
                metadata["REQUESTED"] = b""
            if direct:
                metadata["direct_url.json"] = json.dumps({"archive_info": {}, "url": wheel.path.as_uri()}).encode()
            with WheelFile.open(wheel.path) as source:
                install(source, SchemeDictionaryDestination(scheme, sys.executable, "posix"), metadata)
            for record in lib.glob("*.dist-info/RECORD"):  # pip writes the rows sorted by path
                rows = sorted(csv.reader(io.StringIO(record.read_bytes().decode())))
                text = io.StringIO()
                csv.writer(text).writerows(rows)
                record.write_bytes(text.getvalue().encode())
            for item in [*lib.iterdir(), *(item for item in home.iterdir() if item.name != "lib")]:
                if not (target / item.name).exists():
                    shutil.move(str(item), target / item.name)


@pytest.fixture
def fake_pip() -> Iterator[FakePip]:
    """Start no pip process: every pip install of the test is carried out in-process by FakePip.

    Only for tests of what pip-lambda does around pip. Tests of pip's own behaviour keep the real pip: the
    marker seam (test_pipseam), markers and tag choices, failures and their explanations, hash checking,
    faults and signals (test_faults), the store's byte identity (test_cache), README snippets (test_readme)
    and the supply chain (test_supply_chain).
    """
    fake = FakePip()
    with using_runner(fake):
        yield fake


@pytest.fixture
def counted_pip() -> Iterator[list[list[str]]]:
    """The real pip, each command line recorded at the runner seam."""
    commands: list[list[str]] = []

    def counting(command: Sequence[str], environment: Mapping[str, str], line: Callable[[str], None]) -> int:
        commands.append(list(command))
        return subprocess_runner(command, environment, line)

    runner: PipRunner = counting
    with using_runner(runner):
        yield commands


# --- lock files (pylock.toml) ------------------------------------------------------------------------------


def lock_wheel(path: Path, base: Path) -> dict[str, object]:
    """A wheel as a pylock.toml lists it: its path relative to the lock's folder and its sha256."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"name": path.name, "path": os.path.relpath(path, base), "hashes": {"sha256": digest}}


def lock_package(name: str, version: str, *wheels: dict[str, object], **fields: object) -> dict[str, object]:
    """One ``[[packages]]`` entry; ``fields`` are its other keys (marker, sdist, vcs…)."""
    return {"name": name, "version": version, **fields, **({"wheels": list(wheels)} if wheels else {})}


def write_pylock(folder: Path, packages: list[dict[str, object]], name: str = "pylock.toml", **top: object) -> Path:
    """A pylock.toml in ``folder``; ``top`` sets other top-level keys (environments, extras…)."""
    import tomli_w

    path = folder / name
    path.write_text(tomli_w.dumps({"lock-version": "1.0", "created-by": "tests", **top, "packages": packages}))
    return path


@pytest.fixture(autouse=True)
def isolated_state(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test has pip-lambda's state folder (the folders it made, the build locks) of its own."""
    folder = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("PIP_LAMBDA_STATE_DIR", str(folder))
    return folder


def pytest_configure(config: pytest.Config) -> None:
    """Let the tests' pip-lambda processes receive SIGINT and SIGHUP, however the suite was started.

    pip-lambda leaves a signal alone when it starts ignored (as under ``nohup``), and an ignored signal
    stays ignored across ``exec``: a shell running ``pytest &`` or ``nohup pytest`` would make every
    signal test wait for a stop that never comes.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
