"""archive/contents.py: diff, sbom, size and --with-layer read a package alike, so they agree on what it holds."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from pip_lambda.archive.contents import read_contents
from pip_lambda.archive.reader import ZipReader
from pip_lambda.plan.layers import read_layer
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch, Target
from pip_lambda.report.diff import compare
from pip_lambda.report.measure import of_path
from pip_lambda.report.sbom import path_package
from pip_lambda.report.size import CODE

TARGET = Target(get_runtime("python3.12"), Arch.X86_64)
SITE = "python/lib/python3.12/site-packages"


def write_zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def metadata(name: str, version: str) -> str:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"


def slim_layer(path: Path, code: str = "x = 1\n", *, top_level: bool = True) -> Path:
    """A layer as --slim leaves it: PyYAML without RECORD, its modules named yaml and _yaml, not pyyaml."""
    members = {"python/PyYAML-6.0.dist-info/METADATA": metadata("PyYAML", "6.0")}
    if top_level:
        members["python/PyYAML-6.0.dist-info/top_level.txt"] = "_yaml\nyaml\n"
    members |= {"python/yaml/__init__.py": code, "python/yaml/composer.py": "y = 2\n", "python/_yaml/__init__.py": ""}
    return write_zip(path, members)


def test_every_reader_finds_a_distribution_without_record_by_its_top_level_names(tmp_path):
    old, new = slim_layer(tmp_path / "old.zip"), slim_layer(tmp_path / "new.zip", "x = 2\n")
    modules = {"python/yaml/__init__.py", "python/yaml/composer.py", "python/_yaml/__init__.py"}

    (dist,) = read_layer(old, TARGET).distributions
    assert {f"python/{name}" for name in dist.files} >= modules
    assert dist.size == sum(
        len(text) for text in ("x = 1\n", "y = 2\n", "", metadata("PyYAML", "6.0"), "_yaml\nyaml\n")
    )

    (group,) = compare(read_contents(old), read_contents(new)).groups
    assert (group.name, [change.path for change in group.changes]) == ("PyYAML", ["python/yaml/__init__.py"])

    ((_, analysis),) = of_path(old, None, TARGET)
    assert [(part.name, part.files) for part in analysis.parts] == [("PyYAML", 5)]
    assert any("no RECORD" in note for note in analysis.notes)

    assert path_package(old, TARGET, None).code == {}  # no module of PyYAML passes for your code


def test_without_top_level_txt_the_files_are_those_named_like_the_distribution(tmp_path):
    path = slim_layer(tmp_path / "layer.zip", top_level=False)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("python/Foo.Bar-1.0.dist-info/METADATA", metadata("Foo.Bar", "1.0"))
        archive.writestr("python/foo_bar.py", "")
        archive.writestr("python/foo_bar.libs/libz.so", "")
    files = {dist.name: dist.files for dist in read_contents(path).distributions}
    assert {"python/foo_bar.py", "python/foo_bar.libs/libz.so"} <= set(files["Foo.Bar"])
    assert "python/yaml/__init__.py" not in files["PyYAML"]  # its modules are not named like it: they stay unowned


def test_the_first_site_on_sys_path_wins_for_every_reader(tmp_path):
    path = write_zip(
        tmp_path / "layer.zip",
        {
            f"{SITE}/lib-2.0.dist-info/METADATA": metadata("lib", "2.0"),
            f"{SITE}/lib-2.0.dist-info/RECORD": "lib/__init__.py,,\nlib-2.0.dist-info/METADATA,,\n",
            f"{SITE}/lib/__init__.py": "v = 2\n",
            "python/lib-1.0.dist-info/METADATA": metadata("lib", "1.0"),
            "python/lib-1.0.dist-info/RECORD": "lib/__init__.py,,\nlib-1.0.dist-info/METADATA,,\n",
            "python/lib/__init__.py": "v = 1\n",
        },
    )
    assert [(dist.version, dist.site) for dist in read_contents(path).distributions] == [("2.0", f"{SITE}/")]
    assert [dist.version for dist in read_layer(path, TARGET).distributions] == ["2.0"]
    ((_, analysis),) = of_path(path, None, TARGET)
    assert [(part.name, part.version) for part in analysis.parts if not part.is_code] == [("lib", "2.0")]


def test_a_layer_with_lib_and_bin_folders_is_a_layer_for_size_and_sbom(tmp_path, run):
    path = write_zip(
        tmp_path / "layer.zip",
        {
            "python/dep-1.0.dist-info/METADATA": metadata("dep", "1.0"),
            "python/dep-1.0.dist-info/RECORD": "dep/__init__.py,,\n",
            "python/dep/__init__.py": "",
            "lib/libfoo.so.1": "",
            "bin/tool": "",
        },
    )
    sbom = run("sbom", "--runtime", "python3.12", str(path))
    assert sbom.exit_code == 0, sbom.err
    assert json.loads(sbom.out)["metadata"]["component"]["type"] == "library"
    size = run("size", "--runtime", "python3.12", "--json", str(path))
    assert size.exit_code == 0, size.err
    (package,) = json.loads(size.out)["packages"]
    assert {part["name"] for part in package["parts"]} == {"dep", CODE}


def test_size_streams_only_metadata_and_record_when_every_distribution_has_a_record(tmp_path, run, monkeypatch):
    path = write_zip(
        tmp_path / "function.zip",
        {
            "dep-1.0.dist-info/METADATA": metadata("dep", "1.0"),
            "dep-1.0.dist-info/RECORD": "dep/__init__.py,,\n",
            "dep-1.0.dist-info/top_level.txt": "dep\n",
            "dep/__init__.py": "",
        },
    )
    streamed: list[str] = []
    real = ZipReader.stream

    def stream(self, member, **kwargs):
        streamed.append(member.name)
        return real(self, member, **kwargs)

    monkeypatch.setattr(ZipReader, "stream", stream)
    assert run("size", "--runtime", "python3.12", str(path)).exit_code == 0
    assert sorted(streamed) == ["dep-1.0.dist-info/METADATA", "dep-1.0.dist-info/RECORD"]


@pytest.mark.parametrize(
    "content",
    [
        '{"bomFormat": "CycloneDX"}',
        '{"report_version": 7, "builds": []}',
        "{nope",
        '{"report_version": 1, "builds": 3}',
    ],
    ids=["other-json", "other-version", "not-json", "builds-not-a-list"],
)
def test_size_and_diff_word_a_bad_report_alike(tmp_path, run, content):
    (tmp_path / "bad.json").write_text(content)
    (tmp_path / "good").mkdir()
    size = run("size", "--runtime", "python3.12", str(tmp_path / "bad.json"))
    diff = run("diff", str(tmp_path / "good"), str(tmp_path / "bad.json"))
    assert size.exit_code == diff.exit_code == 2
    assert size.err.startswith("error: ") and size.err == diff.err and size.err.count("\n") == 1


def test_a_member_outside_the_root_is_exit_6_for_every_reader(tmp_path, run):
    evil = write_zip(tmp_path / "evil.zip", {"python/ok.py": "", "../evil.py": ""})
    (tmp_path / "good").mkdir()
    results = {
        "size": run("size", "--runtime", "python3.12", str(evil)),
        "diff": run("diff", str(tmp_path / "good"), str(evil)),
        "sbom": run("sbom", "--runtime", "python3.12", str(evil)),
        "--with-layer": run("verify", "--runtime", "python3.12", "--with-layer", str(evil), str(tmp_path / "good")),
    }
    for reader, result in results.items():
        assert (reader, result.exit_code) == (reader, 6)
        assert "outside the zip's root" in result.err and result.err.count("\n") == 1
