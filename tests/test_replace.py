"""All or nothing: a stop at any step of putting a new package in place leaves the zip and the target both old or both new.

A real ``pip-lambda install`` runs as a subprocess and stops at a named step
(the test-only ``_PIP_LAMBDA_PAUSE`` hook, announced through a pipe, so no
sleeps); the test then sends SIGINT, SIGTERM or SIGKILL.  After SIGINT and
SIGTERM the message says which package is in place.  After SIGKILL, the next
build settles the replacement before anything else: it is paused right after
that, and both parts are checked then.  The builds add only --code, so pip
never runs and each case takes a fraction of a second.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

WAIT = 120  # seconds; a generous ceiling on a loaded machine, never an assertion about speed
OLD, NEW = "v = 1\n", "v = 2\n"
# Steps of the replacement, in order, and whether a stop there leaves the new package in place.
STEPS = [("staged", False), ("journal", True), ("target-replaced", True), ("zip-replaced", True), ("old-removed", True)]
FALLBACK_STEPS = [*STEPS[:2], ("target-retired", True), *STEPS[2:]]
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
# Runs pip-lambda as a system without RENAME_EXCHANGE would: the old target renamed away, the new one renamed in.
WITHOUT_EXCHANGE = (
    "import runpy, sys; import pip_lambda.tree.replace as replace; replace._exchange = lambda first, second: False; "
    "sys.argv = ['pip-lambda', *sys.argv[1:]]; runpy.run_module('pip_lambda', run_name='__main__')"
)


class Paused:
    """A pip-lambda process that stops at ``step`` and says so through a pipe."""

    def __init__(self, project: Path, step: str, *args: str, exchange: bool = True) -> None:
        reading, writing = os.pipe()
        environment = dict(os.environ, _PIP_LAMBDA_PAUSE=f"{step}:/dev/fd/{writing}")
        start = ["-m", "pip_lambda"] if exchange else ["-c", WITHOUT_EXCHANGE]
        self.process = subprocess.Popen(
            [sys.executable, *start, "install", "--runtime", "python3.12", *args],
            cwd=project,
            env=environment,
            pass_fds=(writing,),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(writing)
        self.announcements = reading

    def wait_until_paused(self) -> None:
        ready, _, _ = select.select([self.announcements], [], [], WAIT)
        line = os.read(self.announcements, 200).decode() if ready else ""
        os.close(self.announcements)
        if not line.startswith("paused "):
            self.process.kill()
            pytest.fail(f"the build never paused: {self.process.communicate()[1]}")

    def signal(self, signum: int) -> tuple[int, str]:
        self.process.send_signal(signum)
        _, err = self.process.communicate(timeout=WAIT)
        return self.process.returncode, err


def package(project: Path) -> tuple[str, str]:
    """app.py as the zip holds it and as the target holds it."""
    with zipfile.ZipFile(project / "build/lambda.zip") as archive:
        zipped = archive.read("app.py").decode()
    return zipped, (project / "build/lambda/app.py").read_text()


def debris(project: Path) -> list[str]:
    """Anything of pip-lambda's beside the target and the zip (staging, retired, journal, locks) or inside the target."""
    beside = [path.name for path in (project / "build").iterdir() if ".pip-lambda" in path.name]
    inside = [f"lambda/{path.name}" for path in (project / "build" / "lambda").glob(".pip-lambda*")]
    return sorted(beside + inside)


@pytest.fixture
def fresh(project: Path, run) -> list[str]:
    """An old package (app.py = OLD) in place, and the arguments of a build of a new one (app.py = NEW)."""
    (project / "app.py").write_text(OLD)
    assert run("install", "--runtime", "python3.12", "--code", "app.py").exit_code == 0
    (project / "app.py").write_text(NEW)
    return ["--code", "app.py"]


@pytest.fixture
def restore(project: Path, run) -> list[str]:
    """The same, where the new package is an earlier build restored from the cache, not built."""
    (project / "app.py").write_text(NEW)
    assert run("install", "--runtime", "python3.12", "--code", "app.py").exit_code == 0
    (project / "app.py").write_text(OLD)
    assert run("install", "--runtime", "python3.12", "--code", "app.py").exit_code == 0
    (project / "app.py").write_text(NEW)
    return ["--code", "app.py"]


def sweep(project: Path, args: list[str], step: str, replaced: bool, signum: int, *, exchange: bool = True) -> None:
    build = Paused(project, step, *args, exchange=exchange)
    build.wait_until_paused()
    code, err = build.signal(signum)
    expected = (NEW, NEW) if replaced else (OLD, OLD)
    if signum == signal.SIGKILL:
        assert code == -signal.SIGKILL
        settle(project, expected, warned=replaced)
        return
    assert code == EXIT_CODES[signum], err
    stopped = "interrupted" if signum == signal.SIGINT else "stopped by SIGTERM"
    outcome = "the new package is in place (build/lambda and build/lambda.zip)"
    assert (
        err.splitlines()[-1]
        == f"error: {stopped}; {outcome if replaced else 'the previous package was left as it was'}"
    )
    assert "Traceback" not in err
    assert package(project) == expected
    assert debris(project) == []


def settle(project: Path, expected: tuple[str, str], *, warned: bool) -> None:
    """The next build, paused as soon as it has settled what the killed one left: both parts agree."""
    following = Paused(project, "locked", "--code", "app.py")
    following.wait_until_paused()
    assert package(project) == expected
    assert debris(project) == []
    code, err = following.signal(signal.SIGUSR1)  # go on
    assert code == 0, err
    assert ("the replacement of build/lambda and build/lambda.zip that process" in err) == warned, err
    assert package(project) == (NEW, NEW)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda signum: signal.Signals(signum).name)
@pytest.mark.parametrize(("step", "replaced"), STEPS, ids=[step for step, _ in STEPS])
def test_a_stop_while_a_build_replaces_the_package_leaves_both_parts_old_or_both_new(
    project, fresh, step, replaced, signum
):
    sweep(project, fresh, step, replaced, signum)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda signum: signal.Signals(signum).name)
@pytest.mark.parametrize(("step", "replaced"), FALLBACK_STEPS, ids=[step for step, _ in FALLBACK_STEPS])
def test_the_same_without_an_atomic_exchange_of_the_folders(project, fresh, step, replaced, signum):
    sweep(project, fresh, step, replaced, signum, exchange=False)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda signum: signal.Signals(signum).name)
@pytest.mark.parametrize(("step", "replaced"), STEPS, ids=[step for step, _ in STEPS])
def test_a_stop_while_a_cached_result_is_restored_leaves_both_parts_old_or_both_new(
    project, restore, step, replaced, signum
):
    sweep(project, restore, step, replaced, signum)


def test_a_killed_replacement_whose_new_zip_is_gone_is_undone(project, fresh):
    build = Paused(project, "journal", *fresh)
    build.wait_until_paused()
    build.signal(signal.SIGKILL)
    for leftover in (project / "build").glob(".lambda.zip.pip-lambda-*.tmp"):
        leftover.unlink()
    following = Paused(project, "locked", "--code", "app.py")
    following.wait_until_paused()
    assert package(project) == (OLD, OLD)
    assert debris(project) == []
    code, err = following.signal(signal.SIGUSR1)
    assert code == 0 and "undid the replacement of build/lambda and build/lambda.zip" in err, err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_during_start_up_is_one_line(project, signum):
    starting = Paused(project, "start", "--code", "app.py")
    starting.wait_until_paused()
    code, err = starting.signal(signum)
    assert code == 128 + signum
    stopped = "interrupted" if signum == signal.SIGINT else "stopped by SIGTERM"
    assert err == f"error: {stopped}; the previous package was left as it was\n"


def test_a_stop_after_one_target_was_replaced_names_it(project, fresh):
    (project / "pyproject.toml").write_text(
        '[tool.pip-lambda]\nruntime = "python3.12"\ncode = ["app.py"]\n'
        "[tool.pip-lambda.targets.one]\n[tool.pip-lambda.targets.two]\n"
    )
    reading, writing = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "pip_lambda", "build"],
        cwd=project,
        env=dict(os.environ, _PIP_LAMBDA_PAUSE=f"staged:/dev/fd/{writing}"),
        pass_fds=(writing,),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(writing)
    for signum in (signal.SIGUSR1, signal.SIGINT):  # target one goes on; target two is stopped before its replacement
        assert select.select([reading], [], [], WAIT)[0]
        assert os.read(reading, 200).startswith(b"paused ")
        process.send_signal(signum)
    _, err = process.communicate(timeout=WAIT)
    os.close(reading)
    assert process.returncode == 130, err
    assert err.splitlines()[-1] == "error: interrupted; the new package is in place (build/one and build/one.zip)"
    assert (project / "build/one/app.py").is_file() and not (project / "build/two").exists()


def test_builds_sharing_a_zip_wait_for_each_other(project, fresh):
    first = Paused(project, "locked", "--code", "app.py", "-t", "build/first", "-o", "build/shared.zip")
    first.wait_until_paused()
    command = [sys.executable, "-m", "pip_lambda", "install", "--runtime", "python3.12", "--code", "app.py"]
    second = subprocess.Popen(
        [*command, "-t", "build/second", "-o", "build/shared.zip"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert second.stderr is not None
    waiting = second.stderr.readline()
    assert waiting.startswith(
        f"warning: waiting for process {first.process.pid} to finish its build of build/shared.zip"
    )
    assert first.signal(signal.SIGUSR1)[0] == 0
    assert second.wait(WAIT) == 0
    second.communicate()


def test_folders_are_swapped_in_one_step_where_the_system_can(tmp_path):
    from pip_lambda.tree import replace

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "from-a").write_text("")
    (tmp_path / "b").mkdir()
    if not replace._exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("no RENAME_EXCHANGE on this system or file system")
    assert (tmp_path / "b" / "from-a").exists() and not (tmp_path / "a" / "from-a").exists()


def leave_debris(project: Path) -> None:
    """What killed builds leave beside the target and the zip: a marked staging folder, a retired one, a partial zip."""
    for name in (".lambda.pip-lambda-staging-dead", ".lambda.pip-lambda-old-dead"):
        (project / "build" / name / "pkg").mkdir(parents=True)
        (project / "build" / name / ".pip-lambda-target").write_text("")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (project / "build" / f".lambda.zip.pip-lambda-{int(dead.stdout)}-dead.tmp").write_bytes(b"PK\x03\x04partial")


def test_a_build_with_nothing_to_do_still_removes_debris(project, run, fresh):
    (project / "app.py").write_text(OLD)
    leave_debris(project)
    result = run("install", "--runtime", "python3.12", "--code", "app.py")
    assert result.exit_code == 0 and "nothing changed since the last build" in result.err + result.out
    assert debris(project) == []


def test_a_build_restored_from_the_cache_still_removes_debris(project, run, restore):
    leave_debris(project)
    result = run("install", "--runtime", "python3.12", "--code", "app.py")
    assert result.exit_code == 0 and "reused the cached result" in result.err + result.out
    assert debris(project) == []
    assert package(project) == (NEW, NEW)


@pytest.mark.parametrize("checked", ["build/lambda", "build/lambda.zip"])
def test_verify_first_settles_a_replacement_a_killed_build_left(project, run, fresh, checked):
    build = Paused(project, "target-replaced", *fresh)
    build.wait_until_paused()
    build.signal(signal.SIGKILL)
    result = run("verify", "--runtime", "python3.12", checked)
    assert result.exit_code == 0, result.err
    assert "finished the replacement of build/lambda and build/lambda.zip" in result.err
    assert package(project) == (NEW, NEW)
    assert not (project / "build/.lambda.pip-lambda-journal").exists()


def test_even_a_bug_after_the_replacement_says_the_new_package_is_in_place(project, run, fresh, monkeypatch):
    from pip_lambda.cache import reuse

    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(reuse, "remember", broken)
    result = run("install", "--runtime", "python3.12", *fresh)
    assert result.exit_code == 70
    assert result.err.splitlines()[-1] == (
        "error: unexpected RuntimeError: a bug; the new package is in place (build/lambda and build/lambda.zip); "
        "rerun with -v for the traceback and report it"
    )
    assert package(project) == (NEW, NEW)
