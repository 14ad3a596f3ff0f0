"""Secrets: a token in an index URL, the environment or pip's output never reaches anything pip-lambda writes."""

from __future__ import annotations

import logging
import sys

import pytest

from pip_lambda.errors import PipFailedError
from pip_lambda.pip.run import run_pip
from pip_lambda.report.document import write_report
from pip_lambda.system import redact as redaction

TOKEN = "glpat-Zx81qQ7dN0tAsecret"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://user:pa55word@host/simple", "https://user:****@host/simple"),
        ("Looking in indexes: https://__token__:abc123@pypi.example/simple/", "Looking in indexes: https://__token__:****@pypi.example/simple/"),
        ("fetch https://ghp_tokenonly@host/x.whl failed", "fetch https://****@host/x.whl failed"),
        ("git+https://oauth2:tok@gitlab.example/repo.git", "git+https://oauth2:****@gitlab.example/repo.git"),
        ("https://user:p@ss@host/simple", "https://user:****@host/simple"),
        ("https://ci:p@ss@w0rd@host:8443/simple?x=a@b", "https://ci:****@host:8443/simple?x=a@b"),
        ("https://tok@en@host/x.whl and me@example.com", "https://****@host/x.whl and me@example.com"),
        ("no credentials in https://host/simple", "no credentials in https://host/simple"),
        ("an email user@example.com stays", "an email user@example.com stays"),
    ],
)  # fmt: skip
def test_credentials_in_urls_are_masked(text, expected):
    assert redaction.redact(text) == expected


def test_remembered_secrets_are_masked_anywhere_also_percent_decoded(monkeypatch):
    monkeypatch.setattr(redaction, "_known", set())
    redaction.remember_environment({"PIP_EXTRA_INDEX_URL": "https://ci:p%40ss-w0rd@host/simple", "HOME": "/root"})
    assert redaction.redact("password p%40ss-w0rd or p@ss-w0rd") == "password **** or ****"


def test_short_secrets_and_plain_user_names_are_masked_in_urls_only(monkeypatch):
    monkeypatch.setattr(redaction, "_known", set())
    redaction.remember(["https://u:abc@host/", "ssh://deploy@host/repo", "https://ghp_0123456789abcdef@host/"])
    assert redaction.redact("abc deploy https://u:abc@host/") == "abc deploy https://u:****@host/"
    assert redaction.redact("token ghp_0123456789abcdef") == "token ****"


def _printer(*lines: str, exit_code: int = 0) -> list[str]:
    script = "import sys\n" + "".join(f"print({line!r})\n" for line in lines) + f"sys.exit({exit_code})\n"
    return [sys.executable, "-c", script]


def test_pips_streamed_output_is_masked(caplog, monkeypatch):
    monkeypatch.setattr(redaction, "_known", set())
    caplog.set_level(logging.DEBUG, logger="pip_lambda")
    url = f"https://me:{TOKEN}@private.example/simple"
    redaction.remember([url])
    run_pip(_printer(f"Looking at {url}", f"token {TOKEN} alone"), {"PATH": ""}, stream=True)
    shown = "\n".join(record.getMessage() for record in caplog.records)
    assert "Looking at https://me:****@private.example/simple" in shown
    assert "token **** alone" in shown
    assert TOKEN not in shown


def test_a_password_with_a_raw_at_sign_is_masked_whole_in_the_verbose_log(caplog, monkeypatch):
    """pip splits the user part at the last "@"; the command line pip-lambda logs at -v is masked the same way."""
    monkeypatch.setattr(redaction, "_known", set())
    caplog.set_level(logging.DEBUG, logger="pip_lambda")
    run_pip([*_printer("ok"), "--index-url", "https://ci:p@ss-w0rd@private.example/simple"], {"PATH": ""})
    shown = "\n".join(record.getMessage() for record in caplog.records)
    assert "https://ci:****@private.example/simple" in shown
    assert "ss-w0rd" not in shown


def test_pips_error_detail_is_masked():
    command = _printer(f"ERROR: cannot reach https://me:{TOKEN}@private.example/simple", exit_code=1)
    with pytest.raises(PipFailedError) as raised:
        run_pip(command, {"PATH": ""})
    assert TOKEN not in raised.value.detail
    assert "https://me:****@private.example/simple" in raised.value.detail


@pytest.fixture
def token_index(monkeypatch) -> str:
    """An index URL carrying a token, in the environment and on the command line (nothing listens there)."""
    url = f"http://ci-bot:{TOKEN}@127.0.0.1:9/simple"
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", url.replace("127.0.0.1:9", "127.0.0.1:7"))
    return url


def test_a_token_never_appears_in_a_verbose_build(project, run, wheelhouse, token_index):
    args = ["--index-url", token_index, "--find-links", str(wheelhouse), "--retries", "0", "--timeout", "1"]
    result = run("install", "-v", "--runtime", "python3.12", *args, "purepkg")
    assert result.exit_code == 0, result.err
    assert "Looking in indexes" in result.err  # pip's -v stream did pass through
    assert TOKEN not in result.out + result.err


def test_a_token_never_appears_in_a_failed_build(project, run, wheelhouse, token_index):
    args = ["--index-url", token_index, "--find-links", str(wheelhouse), "--retries", "0", "--timeout", "1"]
    result = run("install", "-v", "--runtime", "python3.12", *args, "no-such-package")
    assert result.exit_code != 0
    assert result.err.rstrip().splitlines()[-1].startswith("error: ")
    assert TOKEN not in result.out + result.err


def test_a_token_never_appears_in_an_error_about_the_requirement(project, run):
    (project / "req.txt").write_text(f"pkg @ git+https://ci-bot:{TOKEN}@git.example/pkg.git\n")
    result = run("install", "--runtime", "python3.12", "-r", "req.txt")
    assert result.exit_code == 2
    assert "git+https://ci-bot:****@git.example/pkg.git is a version-control requirement" in result.err
    assert TOKEN not in result.out + result.err


def test_a_token_from_a_variable_in_a_requirements_file_is_masked_anywhere(project, run, monkeypatch):
    monkeypatch.setattr(redaction, "_known", set())
    monkeypatch.setenv("INDEX_TOKEN", TOKEN)
    (project / "req.txt").write_text("--extra-index-url https://ci:${INDEX_TOKEN}@private.example/simple\n")
    run("install", "--runtime", "python3.12", "-r", "req.txt", "--no-index")
    assert redaction.redact(f"pip said {TOKEN}") == "pip said ****"


def test_the_json_report_is_masked(tmp_path):
    write_report({"note": f"from https://ci:{TOKEN}@private.example/simple"}, tmp_path / "report.json")
    text = (tmp_path / "report.json").read_text()
    assert TOKEN not in text
    assert "https://ci:****@private.example/simple" in text
