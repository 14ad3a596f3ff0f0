"""``--slim``: a short, conservative list of named rules for files that code never needs at run time.

Rules touch only files an installed distribution owns (listed in its RECORD),
never ``--code`` files, and never METADATA, entry points or licence files, so
``importlib.metadata`` keeps working.  A folder rule spares a folder that
any code outside it imports (a package that imports its own ``tests``).
"""

from __future__ import annotations

import ast
import fnmatch
import logging
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlimRule:
    """One named rule; the summary reports the bytes each saved."""

    name: str
    description: str
    folders: tuple[str, ...] = ()
    """Folder names inside a package (never a top-level folder); each goes unless imported from outside it."""
    only_with_python: bool = False
    """A folder counts only when it holds Python files (a test suite, not a data folder named ``test``)."""
    files: tuple[str, ...] = ()
    """File-name globs, outside ``.dist-info``."""
    dist_info_files: tuple[str, ...] = ()
    """File names inside ``.dist-info``."""


RULES: tuple[SlimRule, ...] = (
    SlimRule(
        "tests",
        "tests/ and test/ folders with Python files inside a package, unless code outside them imports them",
        folders=("tests", "test"),
        only_with_python=True,
    ),
    SlimRule("type-stubs", "type stubs for type checkers: *.pyi and py.typed", files=("*.pyi", "py.typed")),
    SlimRule(
        "c-sources",
        "C, C++ and Cython sources and headers, used only to build extensions",
        files=("*.c", "*.cc", "*.cpp", "*.cxx", "*.h", "*.hh", "*.hpp", "*.hxx", "*.pyx", "*.pxd", "*.pxi"),
    ),
    SlimRule(
        "docs",
        "docs/, doc/, examples/ and example/ folders inside a package, unless code outside them imports them",
        folders=("docs", "doc", "examples", "example"),
    ),
    SlimRule(
        "record",
        "RECORD, the installer's hash list (METADATA, entry points and licences stay)",
        dist_info_files=("RECORD",),
    ),
)


def plan(site: Path, owned: Collection[str]) -> dict[str, list[str]]:
    """For each rule, the owned files (relative paths with ``/``) it removes, in rule order.

    A file matched by an earlier rule is not counted again by a later one.
    """
    folders = _candidate_folders(owned)
    spared = _imported(site, folders)
    taken: set[str] = set()
    result: dict[str, list[str]] = {}
    for rule in RULES:
        chosen = sorted(path for path in owned if path not in taken and _rule_takes(rule, path, folders, spared))
        taken.update(chosen)
        result[rule.name] = chosen
    return result


def _rule_takes(rule: SlimRule, path: str, folders: dict[str, SlimRule], spared: set[str]) -> bool:
    parts = path.split("/")
    in_dist_info = parts[0].endswith(".dist-info")
    if in_dist_info:
        return len(parts) == 2 and parts[1] in rule.dist_info_files
    if any(fnmatch.fnmatchcase(parts[-1], pattern) for pattern in rule.files):
        return True
    for depth in range(2, len(parts)):
        folder = "/".join(parts[:depth])
        if folders.get(folder) is rule and folder not in spared:
            return True
    return False


def _candidate_folders(owned: Collection[str]) -> dict[str, SlimRule]:
    """Folders a folder rule may take, outermost first, with the rule that names them."""
    by_name = {name: rule for rule in RULES for name in rule.folders}
    with_python: set[str] = set()
    found: dict[str, SlimRule] = {}
    for path in owned:
        parts = path.split("/")
        if parts[0].endswith((".dist-info", ".data")):
            continue
        for depth in range(2, len(parts)):
            rule = by_name.get(parts[depth - 1])
            if rule is None:
                continue
            folder = "/".join(parts[:depth])
            found[folder] = rule
            if path.endswith(".py"):
                with_python.add(folder)
    kept = {folder: rule for folder, rule in found.items() if not rule.only_with_python or folder in with_python}
    # A folder inside another candidate goes with it; only the outermost one is judged.
    return {
        folder: rule
        for folder, rule in sorted(kept.items())
        if not any(other != folder and folder.startswith(other + "/") for other in kept)
    }


def _module_of(relative: PurePosixPath) -> tuple[str, ...]:
    parts = relative.with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_names(source: bytes, relative: PurePosixPath) -> set[str]:
    """Dotted module names a file imports, relative imports resolved, plus dotted names in its strings.

    Strings count because ``importlib.import_module("pkg.tests.x")`` imports
    too; a false alarm only keeps a folder.
    """
    tree = ast.parse(source, filename=str(relative))
    module = _module_of(relative)
    package = module if relative.name == "__init__.py" else module[:-1]
    names = set(_STRING.findall(source.decode("utf-8", errors="replace")))
    for node in _statements(tree.body):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            prefix = ".".join([*base, *([node.module] if node.module else [])])
            if prefix:
                names.add(prefix)
                names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return names


def _statements(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every statement, nested ones included; expressions are skipped, as no import hides in them."""
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                todo.extend(child for child in children if isinstance(child, ast.AST))


def _imported(site: Path, folders: dict[str, SlimRule]) -> set[str]:
    """The candidate folders that code outside every other candidate imports, followed to a fixed point."""
    if not folders:
        return set()
    modules = {folder.replace("/", "."): folder for folder in folders}
    names = b"|".join(re.escape(name.encode()) for name in _folder_names(folders))
    # Only files that could import a candidate are parsed: an import naming one, or a quoted dotted name.
    words = re.compile(
        rb"^[ \t]*(?:import|from)\b[^\n]*\b(?:%s)\b|import\s*\([^)]*\b(?:%s)\b|[\"'][\w.]*\.(?:%s)\b"
        % (names, names, names),
        re.MULTILINE,
    )
    sources = [
        PurePosixPath(path.relative_to(site).as_posix())
        for path in sorted(site.rglob("*.py"))
        if path.name != "conftest.py" and not path.relative_to(site).parts[0].endswith((".dist-info", ".data"))
    ]
    spared: set[str] = set()
    read: set[PurePosixPath] = set()
    reached: set[str] = set()
    while True:
        for relative in sources:
            if relative in read or _inside(str(relative), set(folders) - spared):
                continue
            read.add(relative)
            reached.update(_prefixes(_names_in(site / relative, relative, words, modules)))
        newly = {folder for module, folder in modules.items() if module in reached and folder not in spared}
        if not newly:
            return spared
        log.debug("slim keeps %s: imported from outside", ", ".join(sorted(newly)))
        spared |= newly


def _names_in(path: Path, relative: PurePosixPath, words: re.Pattern[bytes], modules: Iterable[str]) -> set[str]:
    source = path.read_bytes()
    if not words.search(source):
        return set()
    try:
        return imported_names(source, relative)
    except (SyntaxError, ValueError):
        # Syntax newer than this interpreter's (or not Python at all): read import lines as text.
        return scanned_names(source.decode("utf-8", errors="replace"), relative)


_IMPORT_LINE = re.compile(r"^\s*import\s+([\w., \t]+)", re.MULTILINE)
_FROM_LINE = re.compile(r"^\s*from\s+(\.*)([\w.]*)\s+import\s+\(?\s*([\w, \t\n]+)", re.MULTILINE)
_STRING = re.compile(r"[\"']([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)[\"']")


def scanned_names(text: str, relative: PurePosixPath) -> set[str]:
    """What :func:`imported_names` finds, read from the text of a file the parser refuses."""
    module = _module_of(relative)
    package = module if relative.name == "__init__.py" else module[:-1]
    names = {match.group(1) for match in _STRING.finditer(text)}
    for match in _IMPORT_LINE.finditer(text):
        names.update(part.split()[0] for part in match.group(1).split(",") if part.split())
    for match in _FROM_LINE.finditer(text):
        level = len(match.group(1))
        base = package[: len(package) - level + 1] if level else ()
        prefix = ".".join([*base, *([match.group(2)] if match.group(2) else [])])
        if prefix:
            names.add(prefix)
            names.update(f"{prefix}.{part.split()[0]}" for part in match.group(3).split(",") if part.split())
    return names


def _prefixes(names: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for name in names:
        parts = name.split(".")
        found.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return found


def _folder_names(folders: dict[str, SlimRule]) -> Iterable[str]:
    return sorted({folder.rsplit("/", 1)[-1] for folder in folders})


def _inside(file: str, folders: set[str]) -> bool:
    return any(file.startswith(folder + "/") for folder in folders)
