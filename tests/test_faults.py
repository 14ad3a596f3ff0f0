"""Faults: signals, kill -9, concurrent builds, a full or read-only disk. The previous package always survives.

pip-lambda runs as a real process here, against the real pip; a local index
that answers only when told holds pip in the middle of its work, so a signal
lands while pip runs.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pip_lambda import pipeline as build
from pip_lambda.archive import writer as zipwriter
from pip_lambda.errors import EXIT_ENVIRONMENT
from pip_lambda.system.locks import target_lock
from pip_lambda.tree.staging import MARKER, clean_debris, clean_zip_debris

from conftest import make_wheel, zip_names

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and /proc")

WAIT = 120  # seconds; a generous ceiling on a loaded machine, never an assertion about speed


class StallingIndex:
    """A package index on 127.0.0.1 that holds every request until released, then answers 404."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.released = threading.Event()
        index = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                index.requested.set()
                index.released.wait(WAIT)
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/simple"

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stalling_index() -> Iterator[StallingIndex]:
    index = StallingIndex()
    yield index
    index.close()


def start_build(project: Path, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "pip_lambda", "install", "--runtime", "python3.12", *args]
    return subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pip_processes(project: Path) -> list[int]:
    """pip processes started by pip-lambda in ``project`` (found through /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
            folder = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if "pip_lambda.pip.seam" in command and folder == project.resolve():
            found.append(int(entry.name))
    return found


def wait_for_no_pip(project: Path) -> None:
    deadline = time.monotonic() + WAIT
    while pip_processes(project) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pip_processes(project)


def snapshot(project: Path) -> tuple[bytes, list[str]]:
    return (project / "build/lambda.zip").read_bytes(), sorted(
        str(path.relative_to(project)) for path in (project / "build/lambda").rglob("*")
    )


def debris(project: Path) -> list[str]:
    return sorted(path.name for path in (project / "build").iterdir() if ".pip-lambda-" in path.name)


@pytest.fixture
def previous(project: Path, run, offline) -> tuple[bytes, list[str]]:
    """A good package built before the fault."""
    assert run("install", "--runtime", "python3.12", *offline, "dep-new").exit_code == 0
    return snapshot(project)


def stalled_build(project: Path, index: StallingIndex, wheelhouse: Path) -> subprocess.Popen[str]:
    process = start_build(
        project, "--index-url", index.url, "--find-links", str(wheelhouse), "--timeout", "100", "purepkg"
    )
    assert index.requested.wait(WAIT), process.communicate()[1]
    return process


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_during_pip_stops_pip_and_keeps_the_previous_package(
    project, previous, stalling_index, wheelhouse, signum, exit_code
):
    process = stalled_build(project, stalling_index, wheelhouse)
    assert pip_processes(project)
    process.send_signal(signum)
    _, err = process.communicate(timeout=WAIT)
    assert process.returncode == exit_code, err
    assert err.rstrip().splitlines()[-1].endswith("the previous package was left as it was")
    assert "Traceback" not in err
    assert not pip_processes(project)
    assert snapshot(project) == previous
    assert debris(project) == []


def test_a_signal_while_zipping_removes_the_partial_zip(project, previous, run, offline, monkeypatch):
    packed = zipwriter._pack

    def pack_then_signal(entry: zipwriter.Entry, level: int) -> object:
        if entry.name.startswith("purepkg/"):
            signal.raise_signal(signal.SIGTERM)
        return packed(entry, level)

    monkeypatch.setattr(zipwriter, "_pack", pack_then_signal)
    result = run("install", "--runtime", "python3.12", *offline, "purepkg")
    assert result.exit_code == 143
    assert result.err.rstrip().splitlines()[-1] == "error: stopped by SIGTERM; the previous package was left as it was"
    assert snapshot(project) == previous
    assert debris(project) == []


def test_a_signal_during_verification_keeps_the_previous_package(project, previous, run, offline, monkeypatch):
    verify = build.verify_build

    def verify_then_signal(*args: object, **kwargs: object) -> object:
        signal.raise_signal(signal.SIGTERM)
        return verify(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(build, "verify_build", verify_then_signal)
    result = run("install", "--runtime", "python3.12", *offline, "purepkg")
    assert result.exit_code == 143
    assert result.err.rstrip().splitlines()[-1] == "error: stopped by SIGTERM; the previous package was left as it was"
    assert snapshot(project) == previous
    assert debris(project) == []


def test_kill_9_during_pip_keeps_the_previous_zip_and_the_next_build_cleans_up(
    project, previous, stalling_index, wheelhouse, run, offline
):
    process = stalled_build(project, stalling_index, wheelhouse)
    process.kill()
    process.communicate(timeout=WAIT)
    assert snapshot(project) == previous
    assert debris(project)  # the killed build's staging folder
    stalling_index.released.set()  # the orphaned pip finishes into its own staging folder
    wait_for_no_pip(project)
    assert (project / "build/lambda.zip").read_bytes() == previous[0]
    result = run("install", "--runtime", "python3.12", *offline, "purepkg")
    assert result.exit_code == 0, result.err
    assert debris(project) == []
    assert "purepkg/__init__.py" in zip_names(project / "build/lambda.zip")


@pytest.mark.parametrize("delay", [0.2, 0.6, 1.0, 1.5, 2.5])
def test_kill_9_at_any_moment_never_leaves_a_broken_zip(project, previous, run, offline, delay):
    process = start_build(project, *offline, "purepkg", "markerpkg")
    time.sleep(delay)
    process.kill()
    process.communicate(timeout=WAIT)
    wait_for_no_pip(project)
    with zipfile.ZipFile(project / "build/lambda.zip") as archive:
        assert archive.testzip() is None
    assert (project / "build/lambda.zip").read_bytes() == previous[0] or "purepkg/__init__.py" in zip_names(
        project / "build/lambda.zip"
    )
    result = run("install", "--runtime", "python3.12", *offline, "purepkg")
    assert result.exit_code == 0, result.err
    assert debris(project) == []


def test_a_second_build_waits_for_the_first_and_the_result_is_never_mixed(
    project, previous, stalling_index, wheelhouse, offline
):
    first = stalled_build(project, stalling_index, wheelhouse)
    second = start_build(project, *offline, "dep-new", "markerpkg")
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in second.stderr or ()], daemon=True)
    reader.start()
    waiting = lines.get(timeout=WAIT)
    assert waiting.startswith(f"warning: waiting for process {first.pid} to finish its build into build/lambda")
    assert second.poll() is None
    stalling_index.released.set()
    assert first.communicate(timeout=WAIT) and first.returncode == 0
    second.wait(WAIT)
    reader.join(WAIT)
    second.communicate()
    assert second.returncode == 0, list(lines.queue)
    names = zip_names(project / "build/lambda.zip")
    assert "markerpkg/__init__.py" in names and "purepkg/__init__.py" not in names
    assert not (project / "build/lambda/purepkg").exists()
    assert debris(project) == []


def test_debris_of_killed_builds_is_recognised_and_only_that(tmp_path):
    target = tmp_path / "build" / "fn[1]"
    target.parent.mkdir()
    marked = target.parent / ".fn[1].pip-lambda-staging-abc"
    (marked / "pkg").mkdir(parents=True)
    (marked / MARKER).write_text("")
    half_removed = target.parent / ".fn[1].pip-lambda-old-def"
    half_removed.mkdir()
    (half_removed / MARKER).write_text("")
    empty = target.parent / ".fn[1].pip-lambda-staging-ghi"
    empty.mkdir()
    foreign = target.parent / ".fn[1].pip-lambda-staging-xyz"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("not ours")
    clean_debris(target)
    assert sorted(path.name for path in target.parent.iterdir()) == [foreign.name]


def test_partial_zips_of_dead_builds_are_removed_but_not_those_of_live_ones(tmp_path):
    output = tmp_path / "fn.zip"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    prefix = zipwriter.temporary_zip_prefix(output)
    left = tmp_path / f"{prefix}{dead_pid}-0001.tmp"
    left.write_bytes(zipwriter.ZIP_MAGIC + b"partial")
    live = tmp_path / f"{prefix}{os.getppid()}-0002.tmp"
    live.write_bytes(zipwriter.ZIP_MAGIC)
    not_a_zip = tmp_path / f"{prefix}{dead_pid}-0003.tmp"
    not_a_zip.write_bytes(b"someone else's file")
    clean_zip_debris(output)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([live.name, not_a_zip.name])


# --- a full or read-only disk ---------------------------------------------------------------


@pytest.fixture
def mount_tmpfs() -> Iterator[object]:
    mounted: list[Path] = []

    def mount(folder: Path, size: str, *options: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(folder)],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root on Linux")
    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_while_adding_code_is_one_clear_line(project, run, mount_tmpfs):
    mount_tmpfs(project / "build", "256k")
    (project / "app.py").write_text("def handler(event, context):\n    return 1\n")
    assert run("install", "--runtime", "python3.12", "--code", "app.py").exit_code == 0
    before = snapshot(project)
    (project / "big.bin").write_bytes(os.urandom(400_000))
    result = run("install", "--runtime", "python3.12", "--code", "app.py", "--code", "big.bin")
    assert result.exit_code == EXIT_ENVIRONMENT
    last = result.err.rstrip().splitlines()[-1]
    assert last.startswith("error: cannot write ") and "No space left on device; free space on that disk" in last
    assert "Traceback" not in result.err
    assert snapshot(project) == before
    assert debris(project) == []


def test_a_full_disk_while_pip_installs_is_one_clear_line(project, run, mount_tmpfs, tmp_path):
    house = tmp_path / "bigwheels"
    house.mkdir()
    make_wheel(house, "bigpkg", files={"bigpkg/__init__.py": b"", "bigpkg/data.bin": os.urandom(400_000)})
    mount_tmpfs(project / "build", "256k")
    (project / "app.py").write_text("x = 1\n")
    assert run("install", "--runtime", "python3.12", "--code", "app.py").exit_code == 0
    before = snapshot(project)
    result = run("install", "--runtime", "python3.12", "--no-index", "--find-links", str(house), "bigpkg")
    assert result.exit_code == EXIT_ENVIRONMENT, result.err
    assert (
        result.err.rstrip()
        .splitlines()[-1]
        .startswith("error: no space left on the disk while pip installed the requirements")
    )
    assert snapshot(project) == before
    assert debris(project) == []


def test_a_full_disk_while_zipping_keeps_the_last_good_zip(project, run, mount_tmpfs):
    dist = mount_tmpfs(project / "dist", "256k")
    (project / "app.py").write_text("x = 1\n")
    assert run("install", "--runtime", "python3.12", "--code", "app.py", "-o", "dist/fn.zip").exit_code == 0
    before = (dist / "fn.zip").read_bytes()
    (project / "big.bin").write_bytes(os.urandom(400_000))
    result = run("install", "--runtime", "python3.12", "--code", "app.py", "--code", "big.bin", "-o", "dist/fn.zip")
    assert result.exit_code == EXIT_ENVIRONMENT
    assert "No space left on device" in result.err.rstrip().splitlines()[-1]
    assert (dist / "fn.zip").read_bytes() == before
    assert sorted(path.name for path in dist.iterdir()) == ["fn.zip"]


def test_a_read_only_output_is_one_clear_line(project, run, mount_tmpfs):
    dist = mount_tmpfs(project / "dist", "1m")
    (project / "app.py").write_text("x = 1\n")
    assert run("install", "--runtime", "python3.12", "--code", "app.py", "-o", "dist/fn.zip").exit_code == 0
    before = (dist / "fn.zip").read_bytes()
    subprocess.run(["mount", "-o", "remount,ro", str(dist)], check=True)
    # --no-cache: with the build cache, an unchanged rebuild writes nothing and so cannot fail.
    result = run("install", "--runtime", "python3.12", "--code", "app.py", "-o", "dist/fn.zip", "--no-cache")
    assert result.exit_code == EXIT_ENVIRONMENT
    last = result.err.rstrip().splitlines()[-1]
    assert "Read-only file system; make that folder writable" in last
    assert (dist / "fn.zip").read_bytes() == before


def test_nohup_keeps_sighup_ignored(project, previous, stalling_index, wheelhouse):
    command = [
        sys.executable,
        "-c",
        "import signal, runpy, sys; signal.signal(signal.SIGHUP, signal.SIG_IGN); "
        "sys.argv = ['pip-lambda', *sys.argv[1:]]; runpy.run_module('pip_lambda', run_name='__main__')",
    ]
    args = ["install", "--runtime", "python3.12", "--index-url", stalling_index.url, "--find-links", str(wheelhouse)]
    process = subprocess.Popen(
        [*command, *args, "purepkg"], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert stalling_index.requested.wait(WAIT)
    process.send_signal(signal.SIGHUP)
    stalling_index.released.set()
    _, err = process.communicate(timeout=WAIT)
    assert process.returncode == 0, err
    assert "purepkg/__init__.py" in zip_names(project / "build/lambda.zip")


def test_ctrl_c_stops_the_wait_for_the_lock(project):
    (project / "app.py").write_text("x = 1\n")
    with target_lock(project / "build" / "lambda"):
        waiter = start_build(project, "--code", "app.py")
        assert waiter.stderr is not None
        assert f"waiting for process {os.getpid()} to finish" in waiter.stderr.readline()
        waiter.send_signal(signal.SIGINT)
        _, err = waiter.communicate(timeout=WAIT)
    assert waiter.returncode == 130, err
    assert not (project / "build" / "lambda").exists()
