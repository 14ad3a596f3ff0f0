"""The requirements reader: pip's file syntax, includes, encodings and the checks made before pip runs."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from pip_lambda.errors import UsageError
from pip_lambda.pip.requirements import (
    COMMAND_LINE,
    check_specifier,
    decode,
    empty_warning,
    is_lock_file,
    local_location,
    logical_lines,
    read_requirements,
)

HASH = "sha256:" + "a" * 64


def test_logical_lines_join_continuations_and_drop_comments():
    text = "# header\nrequests>=2 \\\n  --hash=sha256:aa \\\n  --hash=sha256:bb\n\nboto3  # the SDK\nurl#frag\n"
    assert list(logical_lines(text)) == [
        (2, "requests>=2   --hash=sha256:aa   --hash=sha256:bb"),
        (6, "boto3"),
        (7, "url#frag"),
    ]


@pytest.mark.parametrize(
    "bom", [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE]
)
def test_files_with_a_byte_order_mark_are_decoded_like_pip_does(bom):
    encoding = {3: "utf-8", 2: "utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be"}.get(len(bom))
    if encoding is None:
        encoding = "utf-32-le" if bom == codecs.BOM_UTF32_LE else "utf-32-be"
    assert decode(bom + "purepkg\n".encode(encoding), "req.txt") == "purepkg\n"


def test_latin1_file_is_refused_naming_the_line():
    with pytest.raises(UsageError, match=r"req.txt is not UTF-8 text \(byte 0xe9 on line 3\)"):
        decode(b"a\nb\ncaf\xe9\n", "req.txt")


def test_includes_are_relative_to_the_including_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "prod.txt").write_text("-r base.txt\n-c pins.txt\nboto3\n")
    (tmp_path / "reqs" / "base.txt").write_text("requests>=2\n")
    (tmp_path / "reqs" / "pins.txt").write_text("urllib3<3\n")
    found = read_requirements(["reqs/prod.txt"])
    assert [(line.where, line.text, line.constraint) for line in found.lines] == [
        ("reqs/base.txt:1", "requests>=2", False),
        ("reqs/pins.txt:1", "urllib3<3", True),
        ("reqs/prod.txt:3", "boto3", False),
    ]
    assert [path.name for path in found.files] == ["prod.txt", "base.txt", "pins.txt"]


def test_a_file_included_twice_without_a_loop_is_read_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("-r common.txt\n")
    (tmp_path / "b.txt").write_text("-r common.txt\n")
    (tmp_path / "common.txt").write_text("requests\n")
    found = read_requirements(["a.txt", "b.txt"])
    assert [line.text for line in found.lines] == ["requests"]


def test_a_longer_loop_names_every_step(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("-r b.txt\n")
    (tmp_path / "b.txt").write_text("--requirement=c.txt\n")
    (tmp_path / "c.txt").write_text("-ra.txt\n")
    with pytest.raises(UsageError, match=r"circular requirement includes: a.txt -> b.txt -> c.txt -> a.txt"):
        read_requirements(["a.txt"])


def test_remote_includes_are_left_to_pip(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("-r https://example.invalid/reqs.txt\nrequests\n")
    assert [line.text for line in read_requirements(["a.txt"]).lines] == ["requests"]


@pytest.mark.parametrize(
    "text",
    [
        "requests",
        "requests[socks]>=2.31,<3",
        'requests; python_version < "3.12"',
        "pkg @ https://example.invalid/pkg-1.0-py3-none-any.whl",
        "https://example.invalid/pkg-1.0-py3-none-any.whl",
        "./wheels/pkg-1.0-py3-none-any.whl",
        "pkg @ file:///srv/wheels/pkg-1.0-py3-none-any.whl",
        "pkg==1.*",
    ],
)
def test_requirements_that_can_make_a_lambda_package_pass(text):
    check_specifier(text, COMMAND_LINE)


def test_environment_variables_are_never_expanded_into_messages(monkeypatch):
    monkeypatch.setenv("TOKEN", "s3cr3t-value")
    with pytest.raises(UsageError) as raised:
        check_specifier("pkg @ git+https://${TOKEN}@example.invalid/pkg.git", "req.txt:1")
    assert "s3cr3t-value" not in str(raised.value.message)
    assert "${TOKEN}" in raised.value.message


def test_hashes_on_every_pinned_requirement_pass(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lock.txt").write_text(
        f"--require-hashes\npurepkg==1.0 \\\n    --hash={HASH}\ndep-new===1.0 --hash {HASH}\n"
    )
    found = read_requirements(["lock.txt"])
    assert found.require_hashes
    assert [line.hashes for line in found.lines] == [(HASH,), (HASH,)]


def test_a_command_line_requirement_cannot_carry_a_hash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lock.txt").write_text(f"purepkg==1.0 --hash={HASH}\n")
    with pytest.raises(UsageError, match=r"the command line: dep-new has no --hash"):
        read_requirements(["lock.txt"], command_line=["dep-new"])


def test_constraints_need_no_hash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lock.txt").write_text(f"purepkg==1.0 --hash={HASH}\n")
    (tmp_path / "pins.txt").write_text("dep-new<2\n")
    read_requirements(["lock.txt", "pins.txt"], ["pins.txt"])


def test_empty_files_give_a_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "req.txt").write_text("# nothing\n")
    found = read_requirements(["req.txt"])
    assert (
        empty_warning(found, ())
        == "the requirements (req.txt) list no requirement; the package holds nothing: an empty but valid package"
    )
    assert "only the --code" in (empty_warning(found, (Path("app.py"),)) or "")
    assert empty_warning(read_requirements([], command_line=["requests"]), ()) is None


@pytest.mark.parametrize(("name", "lock"), [("pylock.toml", True), ("locks/pylock.prod.toml", True),
                                            ("pylock.toml[aws]", True), ("pylock.a.b.toml", False), ("req.toml", False)])  # fmt: skip
def test_pep_751_lock_files_are_left_to_pip(name, lock):
    assert is_lock_file(name) is lock


def test_find_links_in_a_file_are_resolved_as_pip_resolves_them(tmp_path, monkeypatch):
    """Relative to the file when that path exists there, else as written; variables expanded; one per line."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WHEELS", "shared")
    (tmp_path / "reqs" / "wh").mkdir(parents=True)
    (tmp_path / "reqs" / "shared").mkdir()
    (tmp_path / "requirements.txt").write_text("-r reqs/base.txt\n")
    (tmp_path / "reqs" / "base.txt").write_text(
        "-f wh\n--find-links=${WHEELS}\n--find elsewhere\n-f first -f second\n--extra-index-url https://${TOKEN}@example.invalid/simple\n"
    )
    found = read_requirements(["requirements.txt"])
    base = tmp_path / "reqs"
    assert found.find_links == (str(base / "wh"), str(base / "shared"), "elsewhere", "first")
    assert found.looks == (
        f"--find-links {base / 'wh'}",
        f"--find-links {base / 'shared'}",
        "--find-links elsewhere",
        "--find-links first",
        "--extra-index-url 'https://${TOKEN}@example.invalid/simple'",
    )


@pytest.mark.parametrize(
    ("link", "location"),
    [
        ("file:///srv/wheels", "/srv/wheels"),
        ("file://localhost/srv/my%20wheels", "/srv/my wheels"),
        ("wheels", "wheels"),
        ("https://example.invalid/wheels/", None),
        ("file://fileserver/share", None),
    ],
)
def test_find_links_name_local_folders_as_pip_reads_them(link, location):
    assert local_location(link) == (None if location is None else Path(location))


def test_a_direct_url_with_a_hash_is_pinned_for_hash_checking(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lock.txt").write_text(
        f"purepkg @ https://example.invalid/purepkg-1.0-py3-none-any.whl --hash={HASH}\n"
        f"./wheels/dep_new-1.0-py3-none-any.whl --hash={HASH}\n"
    )
    assert len(read_requirements(["lock.txt"], require_hashes=True).lines) == 2


def test_abbreviated_and_bundled_includes_are_followed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("--requirement=b.txt\n--constr c.txt\n")
    (tmp_path / "b.txt").write_text("-Ur d.txt\n")
    (tmp_path / "c.txt").write_text("purepkg<2\n")
    (tmp_path / "d.txt").write_text("purepkg\n")
    found = read_requirements(["a.txt"])
    assert [(line.text, line.constraint) for line in found.lines] == [("purepkg", False), ("purepkg<2", True)]
