"""One interpreter probe per candidate and process, carried forward to every step that asks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from pip_lambda.checks.smoketest import interpreter_for
from pip_lambda.errors import EnvironmentProblem
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target
from pip_lambda.system import interpreters
from pip_lambda.trim.bytecode import compile_interpreter

ANSWERS = {
    ("/opt/a/python3.12",): "3.12 aarch64\n",
    ("/opt/b/python3.12",): "3.12 x86_64\n",
    ("/opt/c/python3.11",): "3.11 AMD64\n",
}


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[tuple[str, ...]]]:
    """Fake candidates and probe answers; counts how often each command was started."""
    counts: Counter[tuple[str, ...]] = Counter()

    def ask(command: tuple[str, ...]) -> str | None:
        counts[command] += 1
        return ANSWERS.get(command)

    def candidates(version: str) -> Iterator[list[str]]:
        yield from ([*command] for command in ANSWERS if command[0].endswith(version))
        yield ["/opt/missing/python" + version]

    monkeypatch.setattr(interpreters, "_ask", ask)
    monkeypatch.setattr(interpreters, "candidates", candidates)
    interpreters.probe.cache_clear()
    yield counts
    interpreters.probe.cache_clear()


def target(runtime: str, arch: str) -> Target:
    return Target(get_runtime(runtime), Arch.parse(arch))


def test_each_candidate_is_probed_once_however_often_a_build_asks(asked):
    x86, arm = target("python3.12", "x86_64"), target("python3.12", "arm64")
    assert interpreter_for(x86, None) == ["/opt/b/python3.12"]
    assert interpreter_for(arm, None) == ["/opt/a/python3.12"]
    assert compile_interpreter(x86) == ["/opt/a/python3.12"], "bytecode takes either architecture"
    assert compile_interpreter(arm) == ["/opt/a/python3.12"]
    assert interpreters.find_interpreter(x86) == ["/opt/b/python3.12"]
    assert max(asked.values()) == 1
    assert set(asked) == {("/opt/a/python3.12",), ("/opt/b/python3.12",)}


def test_machine_names_are_normalised(asked):
    assert interpreters.find_interpreter(target("python3.11", "x86_64")) == ["/opt/c/python3.11"]


def test_compile_without_an_interpreter_is_an_environment_problem(asked):
    with pytest.raises(EnvironmentProblem, match=r"--compile needs a Python 3\.13 interpreter"):
        compile_interpreter(target("python3.13", "x86_64"))
    with pytest.raises(EnvironmentProblem, match=r"--python /opt/b/python3\.12 is not a working Python 3\.11"):
        compile_interpreter(target("python3.11", "x86_64"), "/opt/b/python3.12")
    assert asked[("/opt/missing/python3.13",)] == 1
