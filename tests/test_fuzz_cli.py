"""Property tests at the command line: any bad input gets a documented exit code and one line, and loses nothing.

Each example builds a good package (code only), then runs ``pip-lambda
install`` in-process with one random input: configuration values, environment
values, SOURCE_DATE_EPOCH, requirement-file bytes, exclude patterns, ``--code``
names.  Whatever happens, the exit code is a documented one other than 70, no
traceback is printed, a failure is exactly one ``error:`` line (the last), and
a failure leaves the previous zip and target as they were, with no debris.
Paths are drawn inside the project (no leading ``/``, no ``..``), so nothing is
written elsewhere.  pip never runs: the requirement-file property replaces it
with a stand-in that installs nothing (and resolves nothing), since what is
tested is pip-lambda's reading of the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pip_lambda import install
from pip_lambda.cache import fill, reuse
from pip_lambda.cli.main import main
from pip_lambda.errors import PipFailedError

DOCUMENTED = {0, 1, 2, 3, 4, 5, 6, 7}
FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Text a variable can hold (no NUL, no lone surrogates), with the characters that broke parsers before.
_TRICKY = "²٣①\u00a0\u200b~é漢 -=/.:;,'\"\\[]*?!$"
env_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00", max_codepoint=0x2FFF)
    | st.sampled_from(_TRICKY),
    max_size=16,
)
config_text = st.text(
    st.characters(blacklist_categories=("Cs",), max_codepoint=0x2FFF) | st.sampled_from(_TRICKY + "\x00"), max_size=16
)
# A relative path that stays inside the project, or a home-relative one of a user that does not exist.
inside = st.one_of(
    st.lists(st.text(st.sampled_from("ab.-_ é²~\x00"), min_size=1, max_size=6), min_size=1, max_size=3)
    .map("/".join)
    .filter(lambda path: not path.startswith(("/", "~")) and ".." not in path.split("/")),
    st.text(st.sampled_from("xyz"), min_size=1, max_size=4).map(lambda user: f"~no-such-{user}/x"),
)
numbers = st.one_of(st.integers(-(10**30), 10**30), st.sampled_from([0, 1, 3, 4, 2**63, -1]))
scalars = st.one_of(
    config_text,
    numbers,
    st.booleans(),
    st.floats(allow_nan=False),
    st.sampled_from(["python3.12", "arm64", "yes", "²"]),
)
# Keys whose values are paths; the others that are fuzzed. Left out: allow-outside-project (writes outside the
# project), requirements and pip-args (pip), python, handler, verify-import, compile, strip, allow-sdist (run programs).
PATH_KEYS = ["target", "output", "report", "code"]
VALUE_KEYS = ["runtime", "arch", "layer", "no-zip", "no-cache", "refresh", "quiet", "verbose", "no-verify", "slim",
              "exclude", "exclude-package", "exclude-runtime-provided"]  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    err: str


@dataclass(frozen=True)
class Project:
    folder: Path
    zip: bytes
    tree: dict[str, str]


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "/"
        for path in sorted(folder.rglob("*"))
    }


def _run(*args: str) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Outcome(code, err.getvalue())


@contextlib.contextmanager
def built(factory: pytest.TempPathFactory, environment: dict[str, str] | None = None) -> Iterator[Project]:
    """A project folder, the current folder while inside, with a good package already built."""
    folder = factory.mktemp("fuzz")
    (folder / "app.py").write_text("def handler(event, context):\n    return 1\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        good = _run("install", "--runtime", "python3.12", "--code", "app.py")
        assert good.exit_code == 0, good.err
        before = Project(folder, (folder / "build/lambda.zip").read_bytes(), _tree(folder / "build/lambda"))
        for name, value in (environment or {}).items():
            patch.setenv(name, value)
        yield before


def check(project: Project, outcome: Outcome) -> None:
    lines = outcome.err.splitlines()
    assert outcome.exit_code in DOCUMENTED, outcome.err
    assert "Traceback" not in outcome.err
    assert all(len(line) < 2000 for line in lines), "a line of more than 2000 characters"
    errors = [line for line in lines if line.startswith("error:")]
    if outcome.exit_code == 0:
        assert not errors, outcome.err
        return
    assert len(errors) == 1 and lines[-1] == errors[0], outcome.err
    assert (project.folder / "build/lambda.zip").read_bytes() == project.zip
    assert _tree(project.folder / "build/lambda") == project.tree
    assert [path.name for path in (project.folder / "build").iterdir() if ".pip-lambda-" in path.name] == []


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    text = str(value)
    escaped = "".join(f"\\u{ord(char):04x}" if char in '"\\' or ord(char) < 0x20 else char for char in text)
    return f'"{escaped}"'


configuration = st.dictionaries(
    st.sampled_from(VALUE_KEYS), st.one_of(scalars, st.lists(scalars, max_size=3)), max_size=4
).flatmap(
    lambda values: st.dictionaries(
        st.sampled_from(PATH_KEYS), st.one_of(inside, st.lists(inside, max_size=2)), max_size=2
    ).map(lambda paths: {**values, **paths})
)


@FUZZ
@given(configuration)
@example({"verbose": "²"})  # the cases of issue 11, always tried
@example({"quiet": 10**23})
@example({"target": "~nosuchuser/x"})
@example({"target": "a\x00b"})
def test_any_configuration_value(tmp_path_factory, table):
    with built(tmp_path_factory) as project:
        body = "".join(f"{key} = {_toml(value)}\n" for key, value in table.items())
        (project.folder / "pyproject.toml").write_text(f"[tool.pip-lambda]\n{body}", "utf-8")
        check(project, _run("install", "--runtime", "python3.12", "--code", "app.py"))


env_values = st.one_of(env_text, st.sampled_from(["²", "٣", "9999999999", "-1", "yes please", "'", "python3.99"]))
# Without '/', a variable's path stays inside the project ('~' is taken literally there, and '..' is refused).
env_paths = st.text(st.sampled_from("ab.-_ é²~'\"\\"), max_size=8)
# The cache's own variable (its folder stays the test's): a size such as 2G.
cache_sizes = st.one_of(env_values, st.sampled_from(["lots", "inf", "nan", "1e400", "2G", "0", "1.5K"]))


@FUZZ
@given(
    st.dictionaries(st.sampled_from(VALUE_KEYS), env_values, max_size=3),
    st.dictionaries(st.sampled_from(PATH_KEYS), env_paths, max_size=2),
    st.one_of(st.none(), cache_sizes),
)
@example({"quiet": "²"}, {}, None)
@example({"verbose": "9999999999"}, {}, None)
@example({}, {}, "lots")
def test_any_environment_value(tmp_path_factory, values, paths, cache_size):
    environment = {"PIP_LAMBDA_" + key.upper().replace("-", "_"): value for key, value in {**values, **paths}.items()}
    if cache_size is not None:
        environment["PIP_LAMBDA_CACHE_MAX_SIZE"] = cache_size
    with built(tmp_path_factory, environment) as project:
        check(project, _run("install", "--runtime", "python3.12", "--code", "app.py"))


@FUZZ
@given(
    st.one_of(env_text, numbers.map(str), st.sampled_from(["²", "4354819200", "999999999999999999999", " 1 ", "1e9"]))
)
@example("²")
@example("4354819200")
@example("999999999999999999999")
def test_any_source_date_epoch(tmp_path_factory, epoch):
    with built(tmp_path_factory, {"SOURCE_DATE_EPOCH": epoch}) as project:
        check(project, _run("install", "--runtime", "python3.12", "--code", "app.py"))


requirement_lines = st.one_of(
    st.sampled_from(["purepkg", "purepkg==1.0", "-r other.txt", "-c other.txt", "--no-deps", "-e .", "# note", "\ufeffpurepkg",
                     "purepkg; python_version >> '3'", "pkg @ file:///x", "--hash=sha256:00", "-r req.txt"]),
    st.text(max_size=20),
)  # fmt: skip
requirement_files = st.one_of(
    st.binary(max_size=120),
    st.lists(requirement_lines, max_size=5).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass")),
)


@FUZZ
@given(requirement_files, requirement_files)
@example(b"\xef\xbb\xbfpurepkg\n-r other.txt\n", b"caf\xe9\n")
@example(b"pure\x00pkg\n", b"")
def test_any_requirements_file(tmp_path_factory, first, second):
    def no_pip(command: Sequence[str], environment: object, *, stream: bool) -> None:
        """pip would install into the staging folder; it installs nothing here."""

    def no_resolution(*args: object) -> NoReturn:
        raise PipFailedError("pip does not run in this test")

    with built(tmp_path_factory) as project, pytest.MonkeyPatch.context() as patch:
        patch.setattr(install, "run_pip", no_pip)
        patch.setattr(reuse, "resolve", no_resolution)
        patch.setattr(fill, "resolved", no_resolution)
        patch.setattr(fill, "from_lines", no_resolution)
        (project.folder / "req.txt").write_bytes(first)
        (project.folder / "other.txt").write_bytes(second)
        check(project, _run("install", "--runtime", "python3.12", "-r", "req.txt", "--code", "app.py"))


@FUZZ
@given(
    st.lists(
        st.one_of(env_text, st.sampled_from(["[z-a]x", "**", "/", "\\", "[", "!x", "a/**/b", "*.py"])),
        min_size=1,
        max_size=3,
    )
)
@example(["[z-a]x"])
def test_any_exclude_pattern(tmp_path_factory, patterns):
    with built(tmp_path_factory) as project:
        excludes = [token for pattern in patterns for token in ("--exclude", pattern)]
        check(project, _run("install", "--runtime", "python3.12", "--code", "app.py", *excludes))


code_names = st.one_of(
    st.binary(min_size=1, max_size=12).filter(lambda name: b"/" not in name and b"\0" not in name and name not in (b".", b"..")),
    st.sampled_from([b".", b"..", b"build", b"build/lambda", b"build/lambda.zip", b"app.py", b"-x", b"caf\xe9"]),
)  # fmt: skip


@FUZZ
@given(code_names)
@example(b"caf\xe9.py")
@example(b".")
def test_any_code_name(tmp_path_factory, raw):
    with built(tmp_path_factory) as project:
        name = os.fsdecode(raw)
        path = project.folder / name
        if not path.exists():
            path.write_text("x = 1\n")
        check(project, _run("install", "--runtime", "python3.12", "--code", name))
