"""A cached result is a fresh build, always: whatever happened to the cache and whatever input changed,
a build with the cache ships the zip a ``--no-cache`` build ships, byte for byte, and never ends in exit 70.

One cache is built per module (two projects sharing a wheel store); every example damages a copy of it.
pip runs where the store needs it: when a damaged record sends a build back to the store, and for
every input change.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from pip_lambda.cache import jsondata
from pip_lambda.cache.storage import MANIFEST
from pip_lambda.cli.main import main
from pip_lambda.system import state
from pip_lambda.tree.staging import MARKER

from conftest import make_wheel

REQUIREMENTS = "-r nested/base.txt\n-c constraints.txt\n"
BASE = "markerpkg==1.0\nglibcpkg==1.0\npurepkg==1.0\n"
PINS = "".join(f"{name}==1.0\n" for name in ("dep-old", "dep-new", "dep-arm", "dep-x86", "dep-linux", "dep-darwin"))
FRESH = ("--no-cache", "-t", "build/fresh/lambda", "-o", "build/fresh/lambda.zip")
PROPERTY = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


@dataclass(frozen=True)
class Built:
    base: Path
    project: Path
    """Put back as the cached build left it, sources and build folder, before each use (restore_project)."""
    snapshot: Path
    cache: Path
    """The pristine cache: two results, two stamps, the wheel store."""
    live: Path
    """Where the builds find the cache: a copy of the pristine one, damaged or not."""
    house: Path
    read: tuple[str, ...]
    """The files of the cache the project's builds read (the other project's result and stamp aside)."""
    fresh: bytes = field(repr=False)
    """The zip of a --no-cache build of the project."""
    fresh_tree: list[tuple[str, bool, str]] = field(repr=False)

    def argv(self, *extra: str) -> list[str]:
        return [
            "install", "--runtime", "python3.12", "--no-index", "--find-links", str(self.house),
            "-r", "requirements.txt", "--code", "app", *extra,
        ]  # fmt: skip

    def files(self) -> list[str]:
        """Every file of the pristine cache, relative to it."""
        return sorted(path.relative_to(self.cache).as_posix() for path in self.cache.rglob("*") if path.is_file())


def build(argv: list[str], cwd: Path, cache: Path) -> int:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        patch.setenv("PIP_LAMBDA_CACHE_DIR", str(cache))
        return main(argv)


def tree(folder: Path) -> list[tuple[str, bool, str]]:
    """Names, exec bits and contents of every file as the zip sees it (links followed; pip-lambda's marker aside)."""
    found = []
    for parent, _, names in os.walk(folder, followlinks=True):
        for name in names:
            path = Path(parent, name)
            if name != MARKER:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found.append((path.relative_to(folder).as_posix(), bool(path.stat().st_mode & 0o111), digest))
    return sorted(found)


def write_project(folder: Path) -> None:
    (folder / "nested").mkdir(parents=True)
    (folder / "requirements.txt").write_text(REQUIREMENTS)
    (folder / "nested/base.txt").write_text(BASE)
    (folder / "constraints.txt").write_text(PINS)
    for version in ("v1", "v2"):
        (folder / "app/lib" / version).mkdir(parents=True)
        (folder / "app/lib" / version / "x.py").write_text(f"version = {version!r}\n")
    (folder / "app/handler.py").write_text("def handler(event, context):\n    return 1\n")
    (folder / "app/current").symlink_to("lib/v1", target_is_directory=True)


def copy_sources(built: Built, folder: Path) -> Path:
    """The project's sources (not its build folders) at another place."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(built.project, folder, symlinks=True, ignore=shutil.ignore_patterns("build"))
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Built:
    base = tmp_path_factory.mktemp("cache-property")
    house = base / "house"
    shutil.copytree(wheelhouse, house)
    project, live = base / "project", base / "cache"
    write_project(project)
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("PIP_") or name == "SOURCE_DATE_EPOCH":
                patch.delenv(name)
        patch.setenv("PIP_CONFIG_FILE", os.devnull)
        patch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        built = Built(base, project, base / "snapshot", base / "pristine", live, house, (), b"", [])
        assert build(built.argv(), project, live) == 0
        read = tuple(sorted(path.relative_to(live).as_posix() for path in live.rglob("*") if path.is_file()))
        other = copy_sources(built, base / "other")
        (other / "app/handler.py").write_text("def handler(event, context):\n    return 2\n")
        assert build(built.argv(), other, live) == 0  # a second result and stamp, the same wheels
        assert build(built.argv(*FRESH), project, live) == 0
    fresh = (project / "build/fresh/lambda.zip").read_bytes()
    assert (project / "build/lambda.zip").read_bytes() == fresh
    shutil.copytree(project, built.snapshot, symlinks=True)
    shutil.copytree(live, built.cache, symlinks=True)
    fresh_tree = tree(project / "build/fresh/lambda")
    return Built(base, project, built.snapshot, built.cache, live, house, read, fresh, fresh_tree)


@pytest.fixture
def isolated(built: Built, tmp_path: Path) -> Iterator[Path]:
    """A scratch folder; the project is put back as the cached build left it, before and after."""
    restore_project(built)
    yield tmp_path
    restore_project(built)


def restore_project(built: Built) -> None:
    """The project as the cached build left it, modification times included, so its stamp matches.

    Its build folders are copies, new folders to the file system: pip-lambda's state records them as its
    own, as it recorded the folders the build made.
    """
    shutil.rmtree(built.project, ignore_errors=True)
    shutil.copytree(built.snapshot, built.project, symlinks=True)
    for target in (built.project / "build/lambda", built.project / "build/fresh/lambda"):
        found = state.identity(target)
        if found is not None:
            state.expect(target, state.Made(found, frozenset(os.listdir(target))))


def undamaged(cache: Path) -> None:
    pass


def without_results(cache: Path) -> None:
    """Only the wheel store left: a build must assemble from it."""
    shutil.rmtree(cache / "results")
    shutil.rmtree(cache / "stamps")


def fresh_cache(built: Built, damage: Callable[[Path], None]) -> Path:
    """The cache the builds use, back at the place it was built (nothing of the place may leak into a key)."""
    shutil.rmtree(built.live, ignore_errors=True)
    shutil.copytree(built.cache, built.live, symlinks=True)
    damage(built.live)
    return built.live


def assert_ships_the_fresh_build(built: Built, code: int, project: Path) -> None:
    assert code == 0
    assert (project / "build/lambda.zip").read_bytes() == built.fresh
    assert tree(project / "build/lambda") == built.fresh_tree


# --- damage -----------------------------------------------------------------------------------

OTHER_TYPES: list[jsondata.Json] = [None, True, 7, 1.5, "x", [], {}]


def _kind(value: object) -> str:
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def _places(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found: list[tuple[object, ...]] = []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for name, child in children:
        found += [(*prefix, name), *_places(child, (*prefix, name))]
    return found


def _retype(document: object, draw: st.DrawFn) -> None:
    """Replace one value anywhere in a JSON document by one of another type (any depth as likely as another)."""
    places = _places(document)
    depth = draw(st.integers(1, max(len(place) for place in places)))
    place = draw(st.sampled_from([place for place in places if len(place) == depth]))
    parent = document
    for part in place[:-1]:
        parent = parent[part]  # type: ignore[index]
    old = parent[place[-1]]  # type: ignore[index]
    parent[place[-1]] = draw(st.sampled_from([new for new in OTHER_TYPES if _kind(new) != _kind(old)]))  # type: ignore[index]


def _kind_of_file(name: str) -> str:
    """manifest, member (of a stored wheel), entry.json, result.zip, stamps or lock."""
    if name.startswith("wheels/"):
        return "manifest" if name.endswith(MANIFEST) else "member"
    return name.rsplit("/", 1)[-1] if name.startswith("results/") else name.split("/", 1)[0]


@st.composite
def damages(draw: st.DrawFn, built: Built, kinds: tuple[str, ...]) -> tuple[str, Callable[[Path], None]]:
    """One damage to one file of the cache, of one of ``kinds`` (repeat a kind to make it likelier):
    (what, how to apply it to a copy of the cache)."""
    kind = draw(st.sampled_from(kinds))
    name = draw(st.sampled_from([name for name in built.read if _kind_of_file(name) == kind]))
    data = (built.cache / name).read_bytes()
    is_json = name.endswith(".json")
    ways = ["truncate", "bit-flip", "delete", "swap"]
    # Damage a parser cannot see (valid JSON, wrong content) is the one that needs checking: twice as likely.
    ways += ["wrong type", "wrong type, checksum redone"] * 2 if is_json else []
    ways += ["removed row", "flipped exec bit"] * 2 if name.endswith(MANIFEST) else []
    ways += ["chmod"] if _kind_of_file(name) == "member" else []
    way = draw(st.sampled_from(ways))
    if way in ("truncate", "bit-flip") and not data:
        way = "delete"
    if way == "truncate":
        content = data[: draw(st.integers(0, len(data) - 1))]
    elif way == "bit-flip":
        offset = draw(st.integers(0, len(data) - 1))
        content = data[:offset] + bytes([data[offset] ^ (1 << draw(st.integers(0, 7)))]) + data[offset + 1 :]
    elif way == "swap":
        same = [other for other in built.files() if other != name and _kind_of_file(other) == kind]
        content = (built.cache / draw(st.sampled_from(same or [n for n in built.files() if n != name]))).read_bytes()
    elif way == "wrong type, checksum redone":
        content = _resigned(data, draw)
    elif way in ("wrong type", "removed row", "flipped exec bit"):
        document = json.loads(data)
        rows = next((found["files"] for found in _objects(document) if isinstance(found.get("files"), dict)), None)
        if way == "wrong type":
            _retype(document, draw)
        elif rows:
            row = draw(st.sampled_from(sorted(rows)))
            if way == "removed row":
                del rows[row]
            else:
                rows[row][2] = not rows[row][2]
        content = json.dumps(document).encode()
    else:
        content = data

    def apply(cache: Path) -> None:
        path = cache / name
        if way == "delete":
            path.unlink()
        elif way == "chmod":
            path.chmod(stat.S_IMODE(path.stat().st_mode) ^ 0o111)
        else:
            path.write_bytes(content)

    return f"{way} {name}", apply


def _resigned(data: bytes, draw: st.DrawFn) -> bytes:
    """A record with one value of the wrong type and a checksum that matches it, as a buggy writer would leave it."""
    envelope = json.loads(data)
    _retype(envelope["body"], draw)
    with tempfile.TemporaryDirectory() as scratch:
        jsondata.write(Path(scratch, "record"), envelope["kind"], envelope["body"])
        return Path(scratch, "record").read_bytes()


def _objects(value: object) -> Iterator[dict]:
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _objects(child)
    elif isinstance(value, list):
        for child in value:
            yield from _objects(child)


# --- the properties ---------------------------------------------------------------------------


def test_the_scenarios_take_the_paths_they_are_meant_to(built, isolated, capsys):
    """Without damage: the project is up to date, a copy elsewhere is restored, a copy without results uses the store."""
    cache = fresh_cache(built, undamaged)
    assert build(built.argv(), built.project, cache) == 0
    assert "nothing changed since the last build" in capsys.readouterr().out
    elsewhere = copy_sources(built, isolated / "elsewhere")
    assert build(built.argv(), elsewhere, cache) == 0
    assert "reused the result of an identical earlier build" in capsys.readouterr().out
    cache = fresh_cache(built, without_results)
    store_only = copy_sources(built, isolated / "store-only")
    assert build(built.argv(), store_only, cache) == 0
    captured = capsys.readouterr()
    assert "cache:" not in captured.out
    assert "installing" not in captured.err  # every wheel came from the store
    assert (store_only / "build/lambda.zip").read_bytes() == built.fresh


@PROPERTY
@given(data=st.data())
def test_a_damaged_result_or_stamp_never_ships_what_a_fresh_build_would_not(built, isolated, data):
    what, damage = data.draw(damages(built, ("entry.json", "entry.json", "stamps", "stamps", "result.zip", "lock")))
    edit_target = data.draw(st.booleans())
    note(f"damage: {what}; target edited: {edit_target}")
    restore_project(built)
    if edit_target:  # the stamp now points at a tree that changed since
        (built.project / "build/lambda/purepkg/__init__.py").write_text("edited = True\n")
    cache = fresh_cache(built, damage)
    assert_ships_the_fresh_build(built, build(built.argv(), built.project, cache), built.project)
    elsewhere = copy_sources(built, isolated / "elsewhere")
    cache = fresh_cache(built, damage)
    assert_ships_the_fresh_build(built, build(built.argv(), elsewhere, cache), elsewhere)


@settings(PROPERTY, max_examples=5)
@given(data=st.data())
def test_a_damaged_wheel_store_never_ships_what_a_fresh_build_would_not(built, isolated, data):
    what, damage = data.draw(damages(built, ("manifest", "member")))
    note(f"damage: {what}")

    def damaged_without_results(cache: Path) -> None:
        damage(cache)
        without_results(cache)

    store_only = copy_sources(built, isolated / "store-only")
    cache = fresh_cache(built, damaged_without_results)
    assert_ships_the_fresh_build(built, build(built.argv(), store_only, cache), store_only)


def change_input(change: str, project: Path, house: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Change one input of the project; the extra arguments the change needs."""
    if change == "requirements":
        (project / "requirements.txt").write_text(REQUIREMENTS + "dep-darwin\n")
    elif change == "nested requirements":
        (project / "nested/base.txt").write_text(BASE + "dep-darwin\n")
    elif change == "a wheel added to a find-links folder":  # pip prefers it to the py3 wheel of the same version
        make_wheel(house, "purepkg", "1.0", "py312-none-any", files={"purepkg/__init__.py": b"chosen = 'py312'\n"})
    elif change == "code":
        (project / "app/handler.py").write_text("def handler(event, context):\n    return 3\n")
    elif change == "a symlinked folder's target":
        (project / "app/current").unlink()
        (project / "app/current").symlink_to("lib/v2", target_is_directory=True)
    elif change == "a symlinked folder's content":
        (project / "app/lib/v1/x.py").write_text("version = 0\n")
    elif change == "SOURCE_DATE_EPOCH":
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    elif change == "runtime":
        return ["--runtime", "python3.11"]
    else:
        return ["--arch", "arm64"]
    return []


CHANGES = [
    "requirements",
    "nested requirements",
    "a wheel added to a find-links folder",
    "code",
    "a symlinked folder's target",
    "a symlinked folder's content",
    "SOURCE_DATE_EPOCH",
    "runtime",
    "arch",
]


@pytest.mark.parametrize("change", CHANGES)
def test_after_any_input_change_the_cached_zip_is_the_fresh_zip(built, isolated, monkeypatch, change):
    cache = fresh_cache(built, undamaged)
    added = set(built.house.iterdir())
    try:
        argv = built.argv(*change_input(change, built.project, built.house, monkeypatch))
        cached = build(argv, built.project, cache)
        fresh = build([*argv, *FRESH], built.project, cache)
    finally:
        for wheel in set(built.house.iterdir()) - added:
            wheel.unlink()

    assert (cached, fresh) == (0, 0)
    assert (built.project / "build/fresh/lambda.zip").read_bytes() != built.fresh, "the change must change the package"
    assert (built.project / "build/lambda.zip").read_bytes() == (built.project / "build/fresh/lambda.zip").read_bytes()


@pytest.mark.parametrize("link", ["a file:// URL", "a relative -f in a nested requirements file"])
def test_a_wheel_added_to_any_find_links_folder_pip_reads_is_keyed(built, isolated, link):
    vendor = built.project / "vendor"
    shutil.copytree(built.house, vendor)
    argv = built.argv()
    if link == "a file:// URL":
        argv += ["--find-links", vendor.as_uri()]
    else:  # pip reads it beside the file: nested/../vendor
        (built.project / "nested/base.txt").write_text(f"-f ../vendor\n{BASE}")
    cache = fresh_cache(built, undamaged)
    assert build(argv, built.project, cache) == 0
    make_wheel(vendor, "purepkg", "1.0", "py312-none-any", files={"purepkg/__init__.py": b"chosen = 'py312'\n"})

    cached = build(argv, built.project, cache)
    fresh = build([*argv, *FRESH], built.project, cache)

    assert (cached, fresh) == (0, 0)
    assert (built.project / "build/fresh/lambda.zip").read_bytes() != built.fresh, "the change must change the package"
    assert (built.project / "build/lambda.zip").read_bytes() == (built.project / "build/fresh/lambda.zip").read_bytes()
