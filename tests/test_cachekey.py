"""The cache key: every input that can change a build changes it, and nothing secret enters it."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from pip_lambda.cache import key as cachekey
from pip_lambda.cache.request import CacheRequest
from pip_lambda.pip.args import parse_pip_args
from pip_lambda.plan.request import BuildRequest
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target


def build_request(*pip_args: str, **fields: object) -> BuildRequest:
    target = Target(get_runtime("python3.12"), Arch.X86_64)
    base = BuildRequest(target, parse_pip_args(list(pip_args), target), Path("build/lambda"), Path("build/lambda.zip"))
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


def request(*pip_args: str, **fields: object) -> CacheRequest:
    return CacheRequest.of(build_request(*pip_args, **fields))


def key(*pip_args: str, **fields: object) -> str:
    return cachekey.compute(request(*pip_args, **fields)).key


def test_the_key_is_stable(project):
    assert key("purepkg") == key("purepkg")


def test_where_the_result_goes_and_how_chatty_the_build_is_do_not_matter(project):
    assert key("purepkg") == key("purepkg", target_dir=Path("elsewhere"), output=Path("x.zip"), verbosity=2)
    assert key("purepkg") == key("purepkg", "-v") == key("purepkg", "-qq")


@pytest.mark.parametrize(
    "fields",
    [
        {"layer": True},
        {"target": Target(get_runtime("python3.11"), Arch.X86_64)},
        {"target": Target(get_runtime("python3.12"), Arch.ARM64)},
    ],
)
def test_request_fields_are_in_the_key(project, fields):
    assert key("purepkg", **fields) != key("purepkg")


def test_a_field_added_to_the_request_later_is_in_the_key(project):
    @dataclasses.dataclass(frozen=True)
    class Extended(BuildRequest):
        slim: bool = False

    plain = build_request("purepkg")
    values = {field.name: getattr(plain, field.name) for field in dataclasses.fields(plain)}
    extended, slim = CacheRequest.of(Extended(**values)), CacheRequest.of(Extended(**values, slim=True))
    assert cachekey.compute(extended).key != cachekey.compute(slim).key


def test_pip_and_pip_lambda_versions_are_in_the_key(project, monkeypatch):
    before = key("purepkg")
    monkeypatch.setattr(cachekey, "_pip_version", lambda: "99.0")
    after_pip = key("purepkg")
    monkeypatch.setattr(cachekey, "__version__", "99.0")
    assert len({before, after_pip, key("purepkg")}) == 3


def test_code_content_is_in_the_key(project):
    (project / "app").mkdir()
    (project / "app/handler.py").write_text("x = 1\n")
    first = key(code=(Path("app"),))
    (project / "app/handler.py").write_text("x = 2\n")
    assert key(code=(Path("app"),)) != first


def test_requirement_files_are_followed_through_nested_references(project):
    (project / "a").mkdir()
    (project / "requirements.txt").write_text("-r a/b.txt\n")
    (project / "a/b.txt").write_text("--constraint=c.txt\n-rd.txt\n")
    (project / "a/c.txt").write_text("purepkg<2\n")
    (project / "a/d.txt").write_text("purepkg\n")
    inputs = cachekey.compute(request("-r", "requirements.txt"))
    assert len(inputs.document["requirement_files"]) == 4
    (project / "a/c.txt").write_text("purepkg<3\n")
    assert cachekey.compute(request("-r", "requirements.txt")).key != inputs.key
    kinds = {line.text: line.kind for line in inputs.lines}
    assert kinds["purepkg<2"] == "constraint"
    assert kinds["purepkg"] == "requirement"


def test_local_find_links_folders_are_listed(project, tmp_path):
    house = tmp_path / "house"
    house.mkdir()
    first = key("-f", str(house), "purepkg")
    (house / "purepkg-2.0-py3-none-any.whl").write_bytes(b"")
    assert key("-f", str(house), "purepkg") != first


def test_pip_configuration_is_in_the_key(project, monkeypatch, tmp_path):
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nindex-url = https://example.invalid/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    first = key("purepkg")
    config.write_text("[global]\nindex-url = https://other.invalid/simple\n")
    assert key("purepkg") != first


def test_credentials_never_enter_the_key_document(project, monkeypatch):
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://me:s3cret@example.invalid/simple")
    inputs = cachekey.compute(request("-i", "https://you:t0ken@example.invalid/simple", "purepkg"))
    text = json.dumps(inputs.document)
    assert "s3cret" not in text
    assert "t0ken" not in text
    assert "https://***@example.invalid/simple" in text


def code_key() -> str:
    return key(code=(Path("app"),))


def test_a_symlinked_folder_inside_code_is_followed(project):
    for version in ("v1", "v2"):
        (project / "app/lib" / version).mkdir(parents=True)
        (project / "app/lib" / version / "x.py").write_text(f"version = {version!r}\n")
    (project / "app/current").symlink_to("lib/v1", target_is_directory=True)
    first = code_key()
    (project / "app/current").unlink()
    (project / "app/current").symlink_to("lib/v2", target_is_directory=True)
    assert code_key() != first  # the zip holds current/x.py with v2's content now


def test_symlink_loops_and_dangling_links_inside_code_are_keyed_without_hanging(project):
    (project / "app").mkdir()
    (project / "app/handler.py").write_text("")
    (project / "app/loop").symlink_to(".", target_is_directory=True)
    (project / "app/self").symlink_to("self")
    (project / "app/dangling").symlink_to("nowhere")
    first = code_key()
    assert code_key() == first
    (project / "app/dangling").unlink()
    (project / "app/dangling").symlink_to("elsewhere")
    assert code_key() != first


def test_a_code_file_named_with_undecodable_bytes_is_keyed(project):
    (project / "app").mkdir()
    odd = Path(os.fsdecode(b"app/caf\xe9.py"))
    odd.write_text("x = 1\n")
    first = code_key()
    odd.write_text("x = 2\n")
    assert code_key() != first


def test_an_empty_folder_inside_code_is_in_the_key(project):
    (project / "app").mkdir()
    (project / "app/handler.py").write_text("")
    first = code_key()
    (project / "app/data").mkdir()  # the zip holds app/data/ as a member
    assert code_key() != first


def test_where_the_cache_lives_and_how_big_it_may_grow_do_not_change_the_key(project, monkeypatch, tmp_path):
    first = key("purepkg")
    monkeypatch.setenv("PIP_LAMBDA_CACHE_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("PIP_LAMBDA_CACHE_MAX_SIZE", "1G")
    assert key("purepkg") == first
