"""The bad-input table: every case answers with one clear line and a documented exit code, and loses nothing.

Each case runs after a good build, then checks that the last line on stderr
is ``error: …`` (``warning: …`` for the one case that still succeeds), that
no traceback was printed, and that the previous zip and target are unchanged.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from pip_lambda.errors import (
    EXIT_NO_WHEEL,
    EXIT_OK,
    EXIT_PIP_FAILED,
    EXIT_UNSAFE_PATH,
    EXIT_USAGE,
)

Setup = Callable[[Path], None]


def _nothing(project: Path) -> None:
    pass


def _write(name: str, data: str | bytes) -> Setup:
    def setup(project: Path) -> None:
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, "utf-8")

    return setup


def _all(*setups: Setup) -> Setup:
    def setup(project: Path) -> None:
        for step in setups:
            step(project)

    return setup


def _foreign_zip(name: str) -> Setup:
    def setup(project: Path) -> None:
        with zipfile.ZipFile(project / name, "w") as archive:
            archive.comment = b"made by another tool"
            archive.writestr("notes.txt", "mine\n")

    return setup


def _link(name: str, to: str) -> Setup:
    def setup(project: Path) -> None:
        (project / to).mkdir(parents=True, exist_ok=True)
        (project / name).symlink_to(project / to)

    return setup


def _folder(name: str, *files: str) -> Setup:
    def setup(project: Path) -> None:
        (project / name).mkdir(parents=True, exist_ok=True)
        for file in files:
            (project / name / file).write_text("x = 1\n")

    return setup


def _nested(depth: int) -> Setup:
    """f0.txt includes f1.txt, which includes f2.txt... down to ``depth``."""

    def setup(project: Path) -> None:
        for level in range(depth):
            (project / f"f{level}.txt").write_text(f"-r f{level + 1}.txt\n")
        (project / f"f{depth}.txt").write_text("purepkg\n")

    return setup


def _fifo(name: str) -> Setup:
    def setup(project: Path) -> None:
        os.mkfifo(project / name)

    return setup


def _symlink(name: str, to: str) -> Setup:
    def setup(project: Path) -> None:
        (project / name).symlink_to(to)

    return setup


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    exit_code: int
    line: str
    """Text the last stderr line contains."""
    setup: Setup = _nothing
    offline: bool = False
    """Add --no-index --find-links WHEELHOUSE (pip runs)."""
    runtime: bool = True
    """Add --runtime python3.12."""
    env: tuple[tuple[str, str], ...] = ()
    """Environment variables set for the run."""


HASH = "sha256:" + "0" * 64
UNDECODABLE = os.fsdecode(b"caf\xe9.py")

CASES = [
    Case("malformed-line-in-file", ("-r", "req.txt"), EXIT_USAGE, "req.txt:2: invalid requirement 'purepkg >=< 1'",
         _write("req.txt", "# deps\npurepkg >=< 1\n")),
    Case("malformed-requirement-argument", ("purepkg[extra",), EXIT_USAGE, "the command line: invalid requirement 'purepkg[extra'"),
    Case("malformed-marker", ("-r", "req.txt"), EXIT_USAGE, "req.txt:1: invalid requirement",
         _write("req.txt", 'purepkg; python_version >> "3"\n')),
    Case("unknown-package", ("no-such-package",), EXIT_NO_WHEEL, "no release matching no-such-package was found", offline=True),
    Case("version-that-does-not-exist", ("purepkg==9.9",), EXIT_NO_WHEEL, "no release matching purepkg==9.9 was found; the index has 1.0", offline=True),
    Case("circular-includes", ("-r", "a.txt"), EXIT_USAGE, "circular requirement includes: a.txt -> b.txt -> a.txt",
         _all(_write("a.txt", "-r b.txt\n"), _write("b.txt", "purepkg\n-r a.txt\n"))),
    Case("file-includes-itself", ("-r", "a.txt"), EXIT_USAGE, "circular requirement includes: a.txt -> a.txt",
         _write("a.txt", "purepkg\n-r a.txt\n")),
    Case("missing-requirements-file", ("-r", "requirements.txt"), EXIT_USAGE, "requirements file requirements.txt not found"),
    Case("missing-included-file", ("-r", "req.txt"), EXIT_USAGE, "requirements file deps/base.txt not found",
         _write("req.txt", "-r deps/base.txt\n")),
    Case("requirements-file-is-a-folder", ("-r", "reqs"), EXIT_USAGE, "requirements file reqs is a folder", _folder("reqs")),
    Case("missing-constraints-file", ("-c", "constraints.txt", "purepkg"), EXIT_USAGE, "requirements file constraints.txt not found"),
    Case("non-utf8-file", ("-r", "req.txt"), EXIT_USAGE, "requirements file req.txt is not UTF-8 text (byte 0xe9 on line 2)",
         _write("req.txt", b"purepkg\ncaf\xe9\n")),
    Case("bom-and-bad-bytes", ("-r", "req.txt"), EXIT_USAGE,
         "requirements file req.txt is not UTF-8 text (byte 0xe9 on line 2; it starts with a UTF-8 byte order mark)",
         _write("req.txt", codecs.BOM_UTF8 + b"purepkg\ncaf\xe9\n")),
    Case("utf-16-bom-and-a-stray-byte", ("-r", "req.txt"), EXIT_USAGE, "requirements file req.txt is not UTF-16 text",
         _write("req.txt", codecs.BOM_UTF16_LE + "purepkg\n".encode("utf-16-le") + b"x")),
    Case("nul-in-include-name", ("-r", "req.txt"), EXIT_USAGE, "requirements file name 'a\\x00b.txt' contains a NUL byte",
         _write("req.txt", "-r a\x00b.txt\n")),
    Case("includes-nested-1500-deep", ("-r", "f0.txt"), EXIT_USAGE, "requirement files nested more than 100 deep: f0.txt includes",
         _nested(1500)),
    Case("include-is-a-pipe", ("-r", "req.txt"), EXIT_USAGE, "requirements file pipe is not a regular file",
         _all(_write("req.txt", "-r pipe\n"), _fifo("pipe"))),
    Case("include-never-ends", ("-r", "/dev/zero"), EXIT_USAGE, "requirements file /dev/zero is larger than 16 MiB"),
    Case("include-is-a-symlink-loop", ("-r", "req.txt"), EXIT_USAGE, "requirements file loop.txt cannot be read",
         _all(_write("req.txt", "-r loop.txt\n"), _symlink("loop.txt", "loop.txt"))),
    Case("include-name-too-long", ("-r", "req.txt"), EXIT_USAGE, "cannot be read: File name too long",
         _write("req.txt", f"-r {'a' * 5000}.txt\n")),
    Case("requirement-path-too-long", ("-r", "req.txt"), EXIT_USAGE, "is a local folder; pip-lambda installs wheels only",
         _write("req.txt", f"./{'a' * 5000}\n")),
    Case("hash-without-value", ("-r", "req.txt"), EXIT_USAGE, "req.txt:1: --hash needs a value",
         _write("req.txt", "purepkg==1.0 --hash\n")),
    Case("no-binary-in-file", ("-r", "req.txt"), EXIT_USAGE, "req.txt:1: pip option --no-binary cannot make a Lambda package",
         _write("req.txt", "--no-binary :all:\npurepkg\n"), offline=True),
    Case("unbalanced-quote-in-option-line", ("-r", "req.txt"), EXIT_USAGE, "req.txt:1: cannot read",
         _write("req.txt", "--extra-index-url 'https://example.invalid/simple\n")),
    Case("empty-requirements-file", ("-r", "req.txt"), EXIT_OK, "warning: the requirements (req.txt) list no requirement",
         _write("req.txt", "# nothing yet\n\n"), offline=True),
    Case("unknown-option", ("--frobnicate", "purepkg"), EXIT_USAGE, "unknown option --frobnicate", offline=True),
    Case("unknown-option-in-file", ("-r", "req.txt"), EXIT_USAGE, "unknown option --frobnicate",
         _write("req.txt", "purepkg\n--frobnicate\n"), offline=True),
    Case("option-missing-its-value", ("--runtime",), EXIT_USAGE, "argument --runtime: expected one argument", runtime=False),
    Case("pip-option-missing-its-value", ("purepkg", "-r"), EXIT_USAGE, "-r needs a value"),
    Case("unknown-command", ("instal",), EXIT_USAGE, "unknown command 'instal'", runtime=False),
    Case("unknown-runtime", ("--runtime", "python2.7", "purepkg"), EXIT_USAGE, "python2.7", runtime=False),
    Case("unknown-arch", ("--arch", "sparc", "purepkg"), EXIT_USAGE, "sparc"),
    Case("conflicting-platform", ("--platform", "manylinux2014_aarch64", "purepkg"), EXIT_USAGE,
         "--platform manylinux2014_aarch64 contradicts the target python3.12 x86_64"),
    Case("conflicting-python-version", ("--python-version", "3.11", "purepkg"), EXIT_USAGE,
         "--python-version 3.11 contradicts --runtime python3.12"),
    Case("only-binary-none", ("--only-binary=:none:", "purepkg"), EXIT_USAGE, "--only-binary=:none: contradicts"),
    Case("no-binary", ("--no-binary", ":all:", "purepkg"), EXIT_USAGE, "pip option --no-binary cannot make a Lambda package"),
    Case("user-install", ("--user", "purepkg"), EXIT_USAGE, "pip option --user cannot make a Lambda package"),
    Case("editable-argument", ("-e", "."), EXIT_USAGE, "pip option -e cannot make a Lambda package"),
    Case("editable-in-file", ("-r", "req.txt"), EXIT_USAGE, "req.txt:1: editable requirement -e ./lib cannot make a Lambda package",
         _write("req.txt", "-e ./lib\n")),
    Case("vcs-argument", ("git+https://example.invalid/repo.git",), EXIT_USAGE, "is a version-control requirement"),
    Case("vcs-direct-reference-in-file", ("-r", "req.txt"), EXIT_USAGE, "req.txt:1: mylib @ git+https://example.invalid/mylib.git is a version-control requirement",
         _write("req.txt", "mylib @ git+https://example.invalid/mylib.git\n")),
    Case("local-folder", ("./lib",), EXIT_USAGE, "./lib is a local folder; pip-lambda installs wheels only", _folder("lib", "setup.py")),
    Case("local-source-archive-in-file", ("-r", "req.txt"), EXIT_USAGE, "req.txt:1: dist/mylib-1.0.tar.gz is a local source archive",
         _write("req.txt", "dist/mylib-1.0.tar.gz\n")),
    Case("file-url", ("mylib @ file:///srv/mylib",), EXIT_USAGE, "is a local folder"),
    Case("require-hashes-without-hash", ("--require-hashes", "-r", "req.txt"), EXIT_USAGE,
         "req.txt:1: purepkg==1.0 has no --hash, but hash checking is on for every requirement (--require-hashes is given)",
         _write("req.txt", "purepkg==1.0\n")),
    Case("some-lines-hashed", ("-r", "req.txt"), EXIT_USAGE, "req.txt:2: dep-new==1.0 has no --hash",
         _write("req.txt", f"purepkg==1.0 --hash={HASH}\ndep-new==1.0\n")),
    Case("hashed-but-not-pinned", ("-r", "req.txt"), EXIT_USAGE, "req.txt:1: purepkg>=1.0 is not pinned with ==",
         _write("req.txt", f"purepkg>=1.0 --hash={HASH}\n")),
    Case("hash-mismatch", ("-r", "req.txt"), EXIT_PIP_FAILED, "a downloaded file does not match the --hash",
         _write("req.txt", f"purepkg==1.0 --hash={HASH}\n"), offline=True),
    Case("nothing-to-install", (), EXIT_USAGE, "nothing to install"),
    Case("missing-code-path", ("--code", "handler.py"), EXIT_USAGE, "--code handler.py: no such file or folder"),
    Case("output-inside-target", ("-o", "build/lambda/fn.zip", "purepkg"), EXIT_UNSAFE_PATH, "is inside the target folder"),
    Case("output-is-a-folder", ("-o", "dist", "purepkg"), EXIT_UNSAFE_PATH, "the output dist is a folder", _folder("dist")),
    Case("output-under-a-file", ("-o", "notes.txt/fn.zip", "purepkg"), EXIT_UNSAFE_PATH, "notes.txt is a file, not a folder",
         _write("notes.txt", "hello\n")),
    Case("target-is-the-current-folder", ("-t", ".", "purepkg"), EXIT_UNSAFE_PATH, "refusing to use the current folder (.)"),
    Case("target-is-a-file", ("-t", "notes.txt", "purepkg"), EXIT_UNSAFE_PATH, "the target notes.txt is a file", _write("notes.txt", "x")),
    Case("target-holds-the-code", ("-t", "fn", "--code", "fn/app.py", "purepkg"), EXIT_UNSAFE_PATH,
         "refusing to use fn as the target: it holds --code fn/app.py", _write("fn/app.py", "x = 1\n")),
    Case("target-is-the-root", ("-t", "/", "purepkg"), EXIT_UNSAFE_PATH, "refusing to use the file system root (/)"),
    Case("target-with-source-files", ("-t", "src", "purepkg"), EXIT_UNSAFE_PATH, "it holds source files: setup.py, app.py);",
         _folder("src", "setup.py", "app.py")),
    Case("target-is-a-checkout", ("-t", "vendor", "purepkg"), EXIT_UNSAFE_PATH, "refusing to replace vendor: it is a version-control checkout (.git)",
         _folder("vendor/.git")),
    Case("target-is-a-symlink", ("-t", "linked", "purepkg"), EXIT_UNSAFE_PATH, "refusing to use linked as the target: it is a symbolic link",
         _link("linked", "real")),
    Case("target-contains-the-current-folder", ("-t", "..", "purepkg"), EXIT_UNSAFE_PATH, "it contains the current folder"),
    Case("bad-source-date-epoch", ("purepkg",), EXIT_USAGE, "SOURCE_DATE_EPOCH='yesterday' is not a whole number",
         env=(("SOURCE_DATE_EPOCH", "yesterday"),)),
    Case("config-unknown-key", ("purepkg",), EXIT_USAGE, "unknown key 'runtme'",
         _write("pyproject.toml", '[tool.pip-lambda]\nruntme = "python3.12"\n')),
    Case("config-unknown-runtime", ("purepkg",), EXIT_USAGE, "runtime = 'python2.7': unknown runtime 'python2.7'",
         _write("pyproject.toml", '[tool.pip-lambda]\nruntime = "python2.7"\n')),
    Case("config-wrong-type", ("purepkg",), EXIT_USAGE, "layer must be true or false, not 'yes'",
         _write("pyproject.toml", '[tool.pip-lambda]\nlayer = "yes"\n')),
    Case("config-broken-toml", ("purepkg",), EXIT_USAGE, "pyproject.toml: ",
         _write("pyproject.toml", "[tool.pip-lambda]\nruntime = \n")),
    Case("config-bad-setup-cfg-value", ("purepkg",), EXIT_USAGE, "quiet must be a whole number (0 or more), not 'lots'",
         _write("setup.cfg", "[pip-lambda]\nquiet = lots\n")),
    Case("config-bad-variable", ("purepkg",), EXIT_USAGE, "environment variable PIP_LAMBDA_ARCH: arch = 'sparc'",
         env=(("PIP_LAMBDA_ARCH", "sparc"),)),
    Case("config-unbalanced-quote", ("purepkg",), EXIT_USAGE, "environment variable PIP_LAMBDA_CODE: code = \"'\": No closing quotation",
         env=(("PIP_LAMBDA_CODE", "'"),)),
    Case("unknown-named-target", ("--name", "api", "purepkg"), EXIT_USAGE, "no named target 'api'"),
    Case("source-date-epoch-superscript-digit", ("--code", "app.py"), EXIT_USAGE, "SOURCE_DATE_EPOCH='²' is not a whole number",
         env=(("SOURCE_DATE_EPOCH", "²"),)),
    Case("source-date-epoch-after-2107", ("--code", "app.py"), EXIT_USAGE, "SOURCE_DATE_EPOCH='4354819200' is after 2107-12-31",
         env=(("SOURCE_DATE_EPOCH", "4354819200"),)),
    Case("source-date-epoch-huge", ("--code", "app.py"), EXIT_USAGE, "SOURCE_DATE_EPOCH='999999999999999999999' is after 2107-12-31",
         env=(("SOURCE_DATE_EPOCH", "999999999999999999999"),)),
    Case("config-verbose-superscript-digit", ("--code", "app.py"), EXIT_USAGE, "verbose must be a whole number (0 or more), not '²'",
         _write("setup.cfg", "[pip-lambda]\nverbose = ²\n")),
    Case("config-quiet-overflow", ("--code", "app.py"), EXIT_USAGE, "quiet is more than 3",
         _write("pyproject.toml", "[tool.pip-lambda]\nquiet = 99999999999999999999999\n")),
    Case("config-quiet-too-many", ("--code", "app.py"), EXIT_USAGE, "quiet = 9999999999 is more than 3",
         env=(("PIP_LAMBDA_QUIET", "9999999999"),)),
    Case("config-target-of-unknown-user", ("--code", "app.py"), EXIT_USAGE, "target = '~nosuchuser/x': there is no home folder for nosuchuser",
         _write("pyproject.toml", '[tool.pip-lambda]\ntarget = "~nosuchuser/x"\n')),
    Case("config-target-with-nul", ("--code", "app.py"), EXIT_USAGE, "target = 'a\\x00b' holds a NUL character",
         _write("pyproject.toml", '[tool.pip-lambda]\ntarget = "a\\u0000b"\n')),
    Case("code-with-undecodable-name", ("--code", UNDECODABLE), EXIT_USAGE, "--code caf\\xe9.py: the name caf\\xe9.py is not valid UTF-8",
         _write(UNDECODABLE, "x = 1\n")),
    Case("code-folder-holding-an-undecodable-name", ("--code", "src"), EXIT_USAGE, "the name caf\\xe9.py is not valid UTF-8",
         _all(_folder("src", "app.py"), _write(f"src/{UNDECODABLE}", "x = 1\n"))),
    Case("code-holds-the-target", ("--code", "."), EXIT_UNSAFE_PATH, "--code . holds the target folder build/lambda"),
    Case("code-holds-the-zip", ("--code", "dist", "-o", "dist/fn.zip"), EXIT_UNSAFE_PATH, "--code dist holds the zip dist/fn.zip",
         _folder("dist", "app.py")),
    Case("report-is-the-zip", ("--code", "app.py", "--report", "build/lambda.zip"), EXIT_UNSAFE_PATH,
         "the report build/lambda.zip is also the path of build/lambda.zip"),
    Case("report-inside-the-target", ("--code", "app.py", "--report", "build/lambda/report.json"), EXIT_UNSAFE_PATH,
         "the report build/lambda/report.json is inside the target folder build/lambda"),
    Case("report-is-a-folder", ("--code", "app.py", "--report", "build"), EXIT_UNSAFE_PATH, "the report build is a folder"),
    Case("report-over-a-user-file", ("--code", "app.py", "--report", "notes.txt"), EXIT_UNSAFE_PATH,
         "refusing to replace notes.txt: it is not a report pip-lambda wrote", _write("notes.txt", "mine\n")),
    Case("output-over-a-user-file", ("--code", "app.py", "-o", "requirements.txt"), EXIT_UNSAFE_PATH,
         "refusing to replace requirements.txt: it is not a zip", _write("requirements.txt", "purepkg\n")),
    Case("output-over-another-tools-zip", ("--code", "app.py", "-o", "other.zip"), EXIT_UNSAFE_PATH,
         "refusing to replace other.zip: it is a zip pip-lambda did not write", _foreign_zip("other.zip")),
]  # fmt: skip


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "/"
        for path in sorted(folder.rglob("*"))
    }


@pytest.fixture
def good_build(project: Path, run) -> tuple[bytes, dict[str, str]]:
    """A previous good package: its zip bytes and its target tree."""
    (project / "app.py").write_text("def handler(event, context):\n    return 1\n")
    result = run("install", "--runtime", "python3.12", "--code", "app.py")
    assert result.exit_code == 0, result.err
    return (project / "build/lambda.zip").read_bytes(), _tree(project / "build/lambda")


def run_case(case: Case, project: Path, run, offline: list[str]):
    case.setup(project)
    args = ["install", *(["--runtime", "python3.12"] if case.runtime else []), *case.args]
    if case.args and case.args[0] == "instal":
        args = list(case.args)
    if case.offline:
        args += offline
    return run(*args)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_gets_one_clear_line_and_loses_nothing(case, project, run, offline, good_build, monkeypatch):
    for variable, value in case.env:
        monkeypatch.setenv(variable, value)
    zip_before, tree_before = good_build
    result = run_case(case, project, run, offline)
    last = result.err.rstrip().splitlines()[-1]
    assert result.exit_code == case.exit_code, result.err
    assert case.line in last, result.err
    assert last.startswith("warning: " if case.exit_code == EXIT_OK else "error: "), result.err
    assert "Traceback" not in result.err + result.out
    if case.exit_code != EXIT_OK:
        assert (project / "build/lambda.zip").read_bytes() == zip_before
        assert _tree(project / "build/lambda") == tree_before
    debris = [path.name for path in (project / "build").iterdir() if ".pip-lambda-" in path.name]
    assert not debris


def test_the_table_has_at_least_thirty_cases():
    assert len(CASES) >= 30
