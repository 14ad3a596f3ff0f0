"""Every local wheel folder pip looks in is in the cache key and reaches the wheel store's pip, resolved as pip does."""

from __future__ import annotations

from pathlib import Path

import pytest

from pip_lambda.cache import key as cachekey
from pip_lambda.cache.request import CacheRequest
from pip_lambda.pip.args import parse_pip_args
from pip_lambda.pip.fetch import pinned_arguments
from pip_lambda.pip.requirements import read_pip_args
from pip_lambda.plan.request import BuildRequest
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target

TARGET = Target(get_runtime("python3.12"), Arch.X86_64)


def request(*pip_args: str) -> CacheRequest:
    target_dir, output = Path("build/lambda"), Path("build/lambda.zip")
    return CacheRequest.of(BuildRequest(TARGET, parse_pip_args(list(pip_args), TARGET), target_dir, output))


def key(*pip_args: str) -> str:
    return cachekey.compute(request(*pip_args)).key


def add_wheel(folder: Path) -> None:
    (folder / "purepkg-2.0-py3-none-any.whl").write_bytes(b"new")


@pytest.fixture
def house(project: Path) -> Path:
    folder = project / "reqs" / "wh"
    folder.mkdir(parents=True)
    return folder


WAYS = {
    "file-url-on-the-command-line": lambda house: (["--find-links", house.as_uri(), "purepkg"], None),
    "abbreviated-option": lambda house: (["--find", str(house), "purepkg"], None),
    "relative-to-a-nested-file": lambda house: (["-r", "requirements.txt"], "-r reqs/base.txt\n", "-f wh\npurepkg\n"),
    "file-url-in-a-file": lambda house: (["-r", "requirements.txt"], f"--find-links={house.as_uri()}\npurepkg\n"),
    "variable-in-a-file": lambda house: (["-r", "requirements.txt"], "-f ${WHEELS}\npurepkg\n"),
}


@pytest.mark.parametrize("way", WAYS, ids=list(WAYS))
def test_a_changed_wheelhouse_changes_the_key(project, house, monkeypatch, way):
    monkeypatch.setenv("WHEELS", str(house))
    arguments, *files = WAYS[way](house)
    for name, text in zip(["requirements.txt", "reqs/base.txt"], files):
        if text is not None:
            (project / name).write_text(text)
    before = key(*arguments)
    add_wheel(house)
    assert key(*arguments) != before


def test_find_links_from_pip_s_environment_and_configuration_are_in_the_key(project, house, monkeypatch, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    config = tmp_path / "pip.conf"
    config.write_text(f"[install]\nfind_links =\n    {house.as_uri()}\n    {other}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    monkeypatch.setenv("PIP_FIND_LINKS", "file://localhost" + str(tmp_path / "third"))
    document = cachekey.compute(request("purepkg")).document["find_links"]
    assert {str(house), str(other), str(tmp_path / "third")} <= set(document)  # and the machine-wide pip.conf
    before = key("purepkg")
    add_wheel(other)
    assert key("purepkg") != before


def test_the_store_looks_where_the_requirement_files_look(project, house, tmp_path, monkeypatch):
    monkeypatch.setenv("WHEELS", str(house))
    (project / "requirements.txt").write_text("-r reqs/base.txt\n")
    (project / "reqs" / "base.txt").write_text(
        "-f wh\n--index-url https://${TOKEN}@example.invalid/simple\n--pre\npurepkg==1.0 --hash=sha256:00\n"
    )
    (project / "pins.txt").write_text("purepkg<2\n")
    built = request("-qUr", "requirements.txt", "--no-deps", "--require-hashes", "-c", "pins.txt")
    found = read_pip_args(built.pip_args)
    options = pinned_arguments(built.pip_args.passthrough, found, tmp_path)
    assert options == ["-q", "--no-deps", "--require-hashes", "-r", str(tmp_path / "looks.txt")]  # -U: install only
    assert (tmp_path / "looks.txt").read_text() == (
        f"--find-links {house}\n--index-url 'https://${{TOKEN}}@example.invalid/simple'\n--pre\n"
    )
