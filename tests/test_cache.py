"""The build cache: no-op rebuilds, reuse across projects, re-resolution, corruption, concurrency."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pip_lambda.cache import entries
from pip_lambda.cache import storage as cache
from pip_lambda.cache.reuse import tree_fingerprint

from conftest import EM_AARCH64, elf_header, make_wheel


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cache_root() -> Path:
    return Path(os.environ["PIP_LAMBDA_CACHE_DIR"])


def other_project(project: Path, monkeypatch: pytest.MonkeyPatch, name: str = "other") -> Path:
    folder = project.parent / name
    folder.mkdir()
    for requirements in project.glob("*.txt"):
        shutil.copy(requirements, folder / requirements.name)
    monkeypatch.chdir(folder)
    return folder


def test_rebuild_with_nothing_changed_writes_nothing(project, run, offline):
    (project / "requirements.txt").write_text("purepkg==1.0\n")
    first = run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt")
    assert first.exit_code == 0, first.err
    zipped = project / "build/lambda.zip"
    before = (zipped.stat().st_mtime_ns, sha256(zipped), tree_fingerprint(project / "build/lambda"))

    second = run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt")

    assert second.exit_code == 0, second.err
    assert "nothing changed since the last build" in second.out
    assert "is up to date" in second.err
    assert (zipped.stat().st_mtime_ns, sha256(zipped), tree_fingerprint(project / "build/lambda")) == before
    assert "purepkg==1.0" in second.out


def test_no_op_rebuild_keeps_make_happy(project, run, offline):
    """The zip stays older than a file made after the first build, as make's up-to-date check needs."""
    (project / "requirements.txt").write_text("purepkg==1.0\n")
    assert run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt").exit_code == 0
    later = project / "later"
    later.write_text("")
    os.utime(later, ns=((project / "build/lambda.zip").stat().st_mtime_ns + 1_000_000_000,) * 2)
    assert run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt").exit_code == 0
    assert (project / "build/lambda.zip").stat().st_mtime_ns < later.stat().st_mtime_ns


@pytest.mark.parametrize(
    "change",
    [
        "requirement file",
        "nested requirement file",
        "constraint file",
        "pip argument",
        "runtime",
        "arch",
        "layer",
        "code",
        "source date epoch",
        "pip environment",
    ],
)
def test_a_change_to_any_input_rebuilds(project, run, offline, monkeypatch, change):
    (project / "requirements.txt").write_text("-r nested/base.txt\n-c constraints.txt\n")
    (project / "nested").mkdir()
    (project / "nested/base.txt").write_text("-r deeper.txt\n")
    (project / "nested/deeper.txt").write_text("glibcpkg\n")
    (project / "constraints.txt").write_text("glibcpkg<3\n")
    (project / "app.py").write_text("def handler(event, context): return 1\n")
    argv = ["install", "--runtime", "python3.12", *offline, "-r", "requirements.txt", "--code", "app.py"]
    assert run(*argv).exit_code == 0
    if change == "requirement file":
        (project / "requirements.txt").write_text("-r nested/base.txt\n-c constraints.txt\npurepkg\n")
    elif change == "nested requirement file":
        (project / "nested/deeper.txt").write_text("glibcpkg\npurepkg\n")
    elif change == "constraint file":
        (project / "constraints.txt").write_text("glibcpkg<2\n")
    elif change == "pip argument":
        argv.append("--pre")
    elif change == "runtime":
        argv[2] = "python3.11"
    elif change == "arch":
        argv += ["--arch", "arm64"]
    elif change == "layer":
        argv += ["--layer", "-t", "build/lambda", "-o", "build/lambda.zip"]
    elif change == "code":
        (project / "app.py").write_text("def handler(event, context): return 2\n")
    elif change == "source date epoch":
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    else:
        monkeypatch.setenv("PIP_PREFER_BINARY", "1")

    result = run(*argv)

    assert result.exit_code == 0, result.err
    assert "cache:" not in result.out


def test_an_identical_build_elsewhere_reuses_the_cached_result(project, run, offline, monkeypatch):
    (project / "requirements.txt").write_text("purepkg==1.0\nglibcpkg==2.0\n")
    assert run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt").exit_code == 0
    other = other_project(project, monkeypatch)

    result = run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt")

    assert result.exit_code == 0, result.err
    assert "reused the result of an identical earlier build" in result.out
    assert sha256(other / "build/lambda.zip") == sha256(project / "build/lambda.zip")
    assert {p.relative_to(other / "build/lambda") for p in (other / "build/lambda").rglob("*")} == {
        p.relative_to(project / "build/lambda") for p in (project / "build/lambda").rglob("*")
    }


def test_cached_and_store_built_zips_are_byte_identical_to_a_fresh_build(project, run, offline, monkeypatch):
    (project / "requirements.txt").write_text("markerpkg\nglibcpkg\npurepkg\n")
    argv = ["install", "--runtime", "python3.12", *offline, "-r", "requirements.txt"]
    assert run(*argv, "--no-cache", "-o", "fresh.zip", "-t", "build/fresh").exit_code == 0
    assert not any(cache_root().iterdir())
    assert run(*argv).exit_code == 0  # assembled from the wheel store
    assert sha256(project / "build/lambda.zip") == sha256(project / "fresh.zip")
    assert (cache_root() / "wheels").is_dir()
    other = other_project(project, monkeypatch)
    assert run(*argv).exit_code == 0  # restored from the cached result
    assert sha256(other / "build/lambda.zip") == sha256(project / "fresh.zip")
    (other / "requirements.txt").write_text("markerpkg\nglibcpkg\n")
    assert run(*argv).exit_code == 0  # one package fewer: every wheel from the store
    assert run(*argv, "--no-cache", "-o", "fresh.zip", "-t", "build/fresh").exit_code == 0
    assert sha256(other / "build/lambda.zip") == sha256(other / "fresh.zip")


def test_store_reproduces_data_files_and_scripts_like_pip(project, run, tmp_path):
    house = tmp_path / "house"
    house.mkdir()
    make_wheel(
        house,
        "datapkg",
        files={
            "datapkg/__init__.py": b"",
            "datapkg-1.0.data/data/share/datapkg/x.txt": b"data",
            "datapkg-1.0.data/purelib/extra.py": b"x = 1\n",
        },
        scripts=["datapkg-cli"],
    )
    argv = ["install", "--runtime", "python3.12", "--no-index", "--find-links", str(house), "datapkg"]
    assert run(*argv, "--no-cache", "-o", "fresh.zip", "-t", "build/fresh").exit_code == 0
    assert run(*argv).exit_code == 0
    assert (project / "build/lambda/share/datapkg/x.txt").read_text() == "data"
    assert sha256(project / "build/lambda.zip") == sha256(project / "fresh.zip")


def test_unpinned_requirements_are_resolved_again(project, run, wheelhouse, tmp_path, serve):
    house = tmp_path / "house"
    shutil.copytree(wheelhouse, house)
    argv = ["install", "--runtime", "python3.12", "--no-index", "--find-links", serve(house), "purepkg"]
    assert run(*argv).exit_code == 0
    unchanged = run(*argv)
    assert "nothing changed" in unchanged.out, unchanged.err
    make_wheel(house, "purepkg", "1.1")

    result = run(*argv)

    assert result.exit_code == 0, result.err
    assert "purepkg==1.1" in result.out
    assert "other distributions than the last build" in result.err
    assert "purepkg-1.1.dist-info/METADATA" in zipfile.ZipFile(project / "build/lambda.zip").namelist()


def test_pinned_requirements_skip_pip_entirely(project, run, wheelhouse, tmp_path, serve):
    house = tmp_path / "house"
    shutil.copytree(wheelhouse, house)
    (project / "requirements.txt").write_text("purepkg==1.0\n")
    argv = ["install", "--runtime", "python3.12", "--no-index", "--find-links", serve(house)]
    assert run(*argv, "-r", "requirements.txt").exit_code == 0
    (house / "purepkg-1.0-py3-none-any.whl").unlink()  # pip would fail now: only the key can decide

    result = run(*argv, "-r", "requirements.txt")

    assert result.exit_code == 0, result.err
    assert "nothing changed" in result.out


def test_a_pinned_top_level_with_floating_dependencies_is_resolved_again(project, run, tmp_path, serve):
    house = tmp_path / "house"
    house.mkdir()
    make_wheel(house, "app", requires=["dep"])
    make_wheel(house, "dep", "1.0")
    argv = ["install", "--runtime", "python3.12", "--no-index", "--find-links", serve(house), "app==1.0"]
    assert run(*argv).exit_code == 0
    make_wheel(house, "dep", "2.0")
    result = run(*argv)
    assert "dep==2.0" in result.out, result.err


def test_a_damaged_cached_result_is_rebuilt_never_shipped(project, run, offline, monkeypatch):
    (project / "requirements.txt").write_text("purepkg==1.0\n")
    assert run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt").exit_code == 0
    (entry,) = (cache_root() / "results").iterdir()
    data = bytearray((entry / "result.zip").read_bytes())
    data[40] ^= 0xFF
    (entry / "result.zip").write_bytes(bytes(data))
    other = other_project(project, monkeypatch)

    result = run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt")

    assert result.exit_code == 0, result.err
    assert "damaged" in result.err
    assert "reused" not in result.out
    assert sha256(other / "build/lambda.zip") == sha256(project / "build/lambda.zip")
    assert zipfile.ZipFile(other / "build/lambda.zip").testzip() is None


def test_a_half_written_cached_result_is_rebuilt(project, run, offline, monkeypatch):
    (project / "requirements.txt").write_text("purepkg==1.0\n")
    assert run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt").exit_code == 0
    (entry,) = (cache_root() / "results").iterdir()
    with open(entry / "result.zip", "r+b") as handle:
        handle.truncate(100)
    other = other_project(project, monkeypatch)

    result = run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt")

    assert result.exit_code == 0, result.err
    assert sha256(other / "build/lambda.zip") == sha256(project / "build/lambda.zip")


def test_a_damaged_wheel_in_the_store_is_unpacked_again(project, run, offline, monkeypatch):
    argv = ["install", "--runtime", "python3.12", *offline, "purepkg"]
    assert run(*argv).exit_code == 0
    (module,) = (cache_root() / "wheels").glob("*/tree/purepkg/__init__.py")
    module.write_text("damaged = True\n")
    other = other_project(project, monkeypatch)
    result = run(*argv, "dep-old")  # another key, so the wheel store (not the result cache) provides purepkg

    assert result.exit_code == 0, result.err
    assert "damaged" in result.err
    assert "damaged" not in (other / "build/lambda/purepkg/__init__.py").read_text()


def test_an_edited_target_is_rebuilt(project, run, offline):
    argv = ["install", "--runtime", "python3.12", *offline, "purepkg==1.0"]
    assert run(*argv).exit_code == 0
    (project / "build/lambda/purepkg/__init__.py").write_text("edited = True\n")
    result = run(*argv)
    assert "nothing changed" not in result.out
    assert "edited" not in (project / "build/lambda/purepkg/__init__.py").read_text()


def test_no_cache_neither_reads_nor_writes_the_cache(project, run, offline):
    argv = ["install", "--runtime", "python3.12", *offline, "purepkg==1.0", "--no-cache"]
    assert run(*argv).exit_code == 0
    assert run(*argv).exit_code == 0
    assert not any(cache_root().iterdir())


def test_refresh_rebuilds_and_replaces_the_cached_result(project, run, offline, monkeypatch):
    argv = ["install", "--runtime", "python3.12", *offline, "purepkg==1.0"]
    assert run(*argv).exit_code == 0
    fresh = sha256(project / "build/lambda.zip")
    (folder,) = (cache_root() / "results").iterdir()
    entry = entries.read_result(cache_root(), folder.name)
    assert entry is not None
    # A stale result under the same key: a valid zip of something else, as an older pip-lambda might have left.
    stale = project.parent / "stale.zip"
    with zipfile.ZipFile(stale, "w") as archive:
        archive.writestr("stale.py", "stale = True\n")
    about = dict(entry.known.result, zip={"sha256": sha256(stale), "size": stale.stat().st_size, "entries": 1})
    entries.store_result(cache_root(), dataclasses.replace(entry.known, result=about), stale, sha256(stale))

    result = run(*argv, "--refresh")

    assert result.exit_code == 0, result.err
    assert "cache:" not in result.out
    assert "installing for python3.12 x86_64 with pip" in result.err
    assert "nothing changed" in run(*argv).out
    other = other_project(project, monkeypatch)
    reused = run(*argv)
    assert "reused the result of an identical earlier build" in reused.out, reused.err
    assert sha256(other / "build/lambda.zip") == fresh


def test_concurrent_builds_sharing_the_cache_both_succeed(project, offline, tmp_path):
    (project / "requirements.txt").write_text("markerpkg\nglibcpkg\npurepkg\n")
    command = [sys.executable, "-m", "pip_lambda", "install", "--runtime", "python3.12", *offline]
    folders = []
    for name in ("one", "two"):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(project / "requirements.txt", folder)
        folders.append(folder)
    processes = [
        subprocess.Popen(
            [*command, "-r", "requirements.txt"], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for folder in folders
    ]
    outcomes = [process.communicate(timeout=300) for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outcomes
    zips = [folder / "build/lambda.zip" for folder in folders]
    assert sha256(zips[0]) == sha256(zips[1])
    for archive in zips:
        assert zipfile.ZipFile(archive).testzip() is None
    assert not list((cache_root() / "results").glob(".tmp-*"))


def test_cache_info_prune_and_purge(project, run, offline):
    assert run("install", "--runtime", "python3.12", *offline, "purepkg==1.0").exit_code == 0
    info = run("cache", "info")
    assert info.exit_code == 0
    assert str(cache_root()) in info.out
    assert "results:" in info.out
    assert "1 items" in info.out
    pruned = run("cache", "prune", "--max-size", "0")
    assert pruned.exit_code == 0
    assert cache.summary(cache_root())["results"] == (0, 0)
    assert run("install", "--runtime", "python3.12", *offline, "purepkg==1.0").exit_code == 0
    assert run("cache", "purge").exit_code == 0
    assert not (cache_root() / "wheels").exists()


def test_cache_is_pruned_to_its_size_cap(project, run, offline, monkeypatch):
    monkeypatch.setenv("PIP_LAMBDA_CACHE_MAX_SIZE", "1")
    assert run("install", "--runtime", "python3.12", *offline, "purepkg==1.0").exit_code == 0
    assert sum(size for _, size in cache.summary(cache_root()).values()) <= 1


def test_builds_in_a_burst_prune_the_cache_once(project, run, offline, monkeypatch):
    assert run("install", "--runtime", "python3.12", *offline, "purepkg==1.0").exit_code == 0
    monkeypatch.setenv("PIP_LAMBDA_CACHE_MAX_SIZE", "1")
    assert run("install", "--runtime", "python3.12", *offline, "glibcpkg==2.0").exit_code == 0
    assert sum(size for _, size in cache.summary(cache_root()).values()) > 1  # pruned moments ago: not again
    stamp = cache_root() / cache.PRUNED
    os.utime(stamp, (stamp.stat().st_mtime - cache.PRUNE_EVERY,) * 2)
    assert run("install", "--runtime", "python3.12", *offline, "glibcpkg==1.0").exit_code == 0
    assert sum(size for _, size in cache.summary(cache_root()).values()) <= 1


def test_cache_folder_follows_platform_conventions(monkeypatch, tmp_path):
    monkeypatch.delenv("PIP_LAMBDA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert cache.cache_root() == tmp_path / "xdg" / "pip-lambda"
    monkeypatch.setenv("PIP_LAMBDA_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.cache_root() == tmp_path / "mine"


@pytest.mark.parametrize(("text", "size"), [("500", 500), ("2K", 2048), ("1.5G", 1610612736), ("10MiB", 10485760)])
def test_sizes_parse(text, size):
    assert cache.parse_size(text, "--max-size") == size


def json_objects(value: object) -> Iterator[dict]:
    """Every JSON object in a document, nested ones included."""
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from json_objects(child)
    elif isinstance(value, list):
        for child in value:
            yield from json_objects(child)


def edit_json(path: Path, edit: Callable[[dict], None]) -> None:
    """Change every object of a JSON file in place, keeping it valid JSON (a damage no parser notices)."""
    document = json.loads(path.read_text())
    for found in list(json_objects(document)):
        edit(found)
    path.write_text(json.dumps(document))


def drop_field(name: str) -> Callable[[dict], None]:
    return lambda found: found.pop(name, None)


def set_field(name: str, value: object) -> Callable[[dict], None]:
    return lambda found: found.__setitem__(name, value) if name in found else None


@pytest.mark.parametrize("damage", [drop_field("file_count"), set_field("warnings", 5)], ids=["missing", "wrong type"])
def test_a_damaged_cached_result_record_is_rebuilt_never_a_crash(project, run, offline, monkeypatch, damage):
    (project / "requirements.txt").write_text("purepkg==1.0\n")
    assert run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt").exit_code == 0
    (entry,) = (cache_root() / "results").iterdir()
    edit_json(entry / "entry.json", damage)
    other = other_project(project, monkeypatch)

    result = run("install", "--runtime", "python3.12", *offline, "-r", "requirements.txt")

    assert result.exit_code == 0, result.err
    assert "reused" not in result.out
    assert sha256(other / "build/lambda.zip") == sha256(project / "build/lambda.zip")


def remove_row(name: str) -> Callable[[dict], None]:
    return drop_field(name)


def flip_exec_bit(name: str) -> Callable[[dict], None]:
    def edit(found: dict) -> None:
        if name in found:
            found[name][2] = not found[name][2]

    return edit


@pytest.mark.parametrize(
    "damage", [remove_row("purepkg/__init__.py"), flip_exec_bit("purepkg/__init__.py")], ids=["removed row", "exec bit"]
)
def test_a_damaged_store_manifest_is_never_shipped(project, run, offline, monkeypatch, damage):
    argv = ["install", "--runtime", "python3.12", *offline, "purepkg"]
    assert run(*argv).exit_code == 0
    (manifest,) = (m for m in (cache_root() / "wheels").glob("*/.manifest.json") if "purepkg/" in m.read_text())
    edit_json(manifest, damage)
    other = other_project(project, monkeypatch)

    result = run(*argv, "dep-old")  # another key, so the wheel store (not the result cache) provides purepkg

    assert result.exit_code == 0, result.err
    assert run(*argv, "dep-old", "--no-cache", "-t", "build/fresh", "-o", "fresh.zip").exit_code == 0
    assert sha256(other / "build/lambda.zip") == sha256(other / "fresh.zip")


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` and everything in it unwritable, even for root (immutable), while inside."""
    if os.geteuid() != 0:
        subprocess.run(["chmod", "-R", "a-w", str(folder)], check=True)
        undo = ["chmod", "-R", "u+w", str(folder)]
    elif subprocess.run(["chattr", "-R", "+i", str(folder)], capture_output=True, check=False).returncode == 0:
        undo = ["chattr", "-R", "-i", str(folder)]
    else:
        pytest.skip("cannot make a folder read-only for root here (no chattr)")
    try:
        yield
    finally:
        subprocess.run(undo, check=True)


def test_a_read_only_cache_is_reused_with_a_warning(project, run, offline, monkeypatch):
    argv = ["install", "--runtime", "python3.12", *offline, "purepkg==1.0"]
    assert run(*argv).exit_code == 0
    other = other_project(project, monkeypatch)

    with read_only(cache_root()):
        result = run(*argv)

    assert result.exit_code == 0, result.err
    assert "reused the result of an identical earlier build" in result.out
    assert "could not write to the build cache" in result.err
    assert sha256(other / "build/lambda.zip") == sha256(project / "build/lambda.zip")


@pytest.mark.parametrize(
    ("argv", "variable"),
    [
        (["cache", "prune", "--max-size", "lots"], None),
        (["cache", "prune", "--max-size", "inf"], None),
        (["cache", "prune", "--max-size=-1G"], None),
        (["cache", "prune"], "lots"),
        (["cache", "info"], "nan"),
        (["install", "--runtime", "python3.12", "--code", "app.py"], "lots"),
    ],
)
def test_a_bad_cache_size_is_one_clear_line_and_exit_2(project, run, monkeypatch, argv, variable):
    (project / "app.py").write_text("def handler(event, context): return 1\n")
    if variable is not None:
        monkeypatch.setenv("PIP_LAMBDA_CACHE_MAX_SIZE", variable)

    result = run(*argv)

    assert result.exit_code == 2, result.err
    assert result.err.count("\n") == 1
    assert "is not a size" in result.err
    assert not (project / "build/lambda.zip").exists()


def test_the_store_hashes_and_copies_members_in_bounded_memory(project, run, tmp_path):
    house = tmp_path / "house"
    house.mkdir()
    make_wheel(house, "bigpkg", files={"bigpkg/__init__.py": b"", "bigpkg/blob.bin": bytes(64 << 20)})
    argv = ["install", "--runtime", "python3.12", "--no-index", "--find-links", str(house), "bigpkg", "--no-zip"]

    tracemalloc.start()
    try:
        result = run(*argv)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert result.exit_code == 0, result.err
    assert (project / "build/lambda/bigpkg/blob.bin").stat().st_size == 64 << 20
    assert peak < 16 << 20, f"{peak / 2**20:.0f} MiB held at once for a 64 MiB member"


def test_a_failed_build_leaves_nothing_in_the_wheel_store(project, run, tmp_path):
    house = tmp_path / "house"
    house.mkdir()
    make_wheel(house, "armpkg", files={"armpkg/__init__.py": b"", "armpkg/_native.so": elf_header(EM_AARCH64)})
    argv = ["install", "--runtime", "python3.12", "--no-index", "--find-links", str(house), "armpkg"]

    result = run(*argv)

    assert result.exit_code == 4, result.err  # an aarch64 binary in an x86_64 package: verification fails
    assert not [entry for entry in (cache_root() / "wheels").iterdir() if not entry.name.startswith(".tmp-")]
