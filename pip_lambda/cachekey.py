"""The build cache key: a hash of everything that can change what a build produces.

The key is derived from the parsed request itself (every field of the
BuildRequest dataclass, so an option added later is covered without a list to
keep in sync), plus what lies outside the request but reaches pip or the zip:
the contents of requirement and constraint files (followed through nested
``-r``/``-c``), pip's configuration files and ``PIP_*`` variables, local
``--find-links`` folders, the target's tags and markers, ``SOURCE_DATE_EPOCH``
and the pip and pip-lambda versions.  Credentials in URLs are redacted before
anything is hashed or stored.  This module must stay cheap to import: the
no-op rebuild checks the key before anything heavy runs.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .zipwriter import DEFAULT_LEVEL

FORMAT = 1
"""Bumped whenever the meaning of a cache entry changes."""

# Fields of the BuildRequest that say where the result goes or how chatty the build is, not what it contains.
NOT_IN_KEY = frozenset({"target_dir", "output", "verbosity", "use_cache", "refresh"})
# pip-lambda's -q/-v reach pip too; they change what is printed, never what is installed.
_OUTPUT_ONLY = re.compile(r"^(-q+|-v+|--quiet|--verbose)$")
_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
_ENV_REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)\}")
_FILE_OPTIONS = {"-r": "requirement", "--requirement": "requirement", "-c": "constraint", "--constraint": "constraint"}
_FIND_LINKS_OPTIONS = ("-f", "--find-links")
_IGNORED_NAMES = frozenset({".git", ".hg", ".svn", "__pycache__"})


def redact(text: str) -> str:
    """``https://user:token@host`` becomes ``https://***@host``: no secret enters the cache."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


@dataclass(frozen=True)
class RequirementLine:
    """One logical line of a requirements or constraints file, comments and continuations removed."""

    file: Path
    text: str
    kind: str
    """``requirement`` or ``constraint``: which kind of file the line came from."""


@dataclass(frozen=True)
class Inputs:
    """The key and what it was computed from."""

    key: str
    document: dict[str, Any]
    lines: tuple[RequirementLine, ...]
    """Every line of every requirement and constraint file reached."""


def _logical_lines(text: str) -> Iterator[str]:
    pending = ""
    for raw in text.splitlines():
        if raw.endswith("\\"):
            pending += raw[:-1]
            continue
        line = pending + raw
        pending = ""
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            yield line
    if pending.strip():
        yield pending.strip()


def file_option(line: str) -> tuple[str, str] | None:
    """``(kind, value)`` for a ``-r``/``-c`` line, in any spelling pip accepts."""
    for option, kind in _FILE_OPTIONS.items():
        if line == option:
            return None
        if line.startswith(option + "=") or line.startswith(option + " ") or line.startswith(option + "\t"):
            return kind, line[len(option) + 1 :].strip()
        if len(option) == 2 and line.startswith(option) and len(line) > 2:
            return kind, line[2:].strip()
    return None


def follow_requirement_files(files: list[tuple[str, str]], base: Path) -> tuple[dict[str, str], list[RequirementLine]]:
    """Hash each file reached from ``files`` ((kind, name) pairs), nested references included.

    Nested relative paths are resolved against the folder of the file naming
    them, as pip does.  URLs are recorded by name: their content is unknown
    until pip fetches them, so a build that uses one is never taken as pinned.
    """
    digests: dict[str, str] = {}
    lines: list[RequirementLine] = []
    pending = [(kind, name, base) for kind, name in files]
    while pending:
        kind, name, folder = pending.pop(0)
        if "://" in name:
            digests.setdefault(redact(name), "url")
            lines.append(RequirementLine(Path(name), f"-r {name}", kind))
            continue
        path = folder / name
        label = path.as_posix()
        if label in digests:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            digests[label] = "missing"
            continue
        digests[label] = hashlib.sha256(data).hexdigest()
        text = data.decode("utf-8", errors="replace")
        for line in _logical_lines(text):
            lines.append(RequirementLine(path, line, kind))
            nested = file_option(line)
            if nested is not None:
                nested_kind = "constraint" if kind == "constraint" else nested[0]
                pending.append((nested_kind, _expand(nested[1]), path.parent))
    return digests, lines


def _expand(text: str) -> str:
    return _ENV_REFERENCE.sub(lambda match: os.environ.get(match.group(1), match.group(0)), text)


def _pip_config_files() -> list[Path]:
    """Every file pip may read its configuration from (a superset is harmless: it only adds rebuilds)."""
    if os.environ.get("PIP_CONFIG_FILE") == os.devnull:
        return []  # pip then reads no configuration file at all
    home = Path.home()
    xdg_config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    xdg_dirs = [Path(part) for part in os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep) if part]
    candidates = [Path("/etc/pip.conf"), *(folder / "pip" / "pip.conf" for folder in xdg_dirs)]
    candidates += [xdg_config / "pip" / "pip.conf", home / ".pip" / "pip.conf", Path(sys.prefix) / "pip.conf"]
    if os.environ.get("PIP_CONFIG_FILE"):
        candidates.append(Path(os.environ["PIP_CONFIG_FILE"]))
    return candidates


def _config_values(texts: list[str], names: tuple[str, ...]) -> list[str]:
    values: list[str] = []
    for text in texts:
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key.strip() in names:
                values.extend(value.split())
    return values


def _folder_listing(folder: Path) -> str:
    """A cheap fingerprint of a local wheelhouse: names, sizes and modification times."""
    try:
        with os.scandir(folder) as scan:
            rows = sorted(f"{item.name}\0{item.stat().st_size}\0{item.stat().st_mtime_ns}" for item in scan)
    except OSError:
        return "missing"
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def content_digest(path: Path) -> str:
    """sha256 over a file, or over a folder's files (relative names, exec bits and contents)."""
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(path.read_bytes())
        return digest.hexdigest()
    if not path.is_dir():
        return "missing"
    for folder, names, files in os.walk(path):
        names[:] = sorted(name for name in names if name not in _IGNORED_NAMES)
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            file = Path(folder, name)
            relative = file.relative_to(path).as_posix()
            digest.update(f"{relative}\0{os.access(file, os.X_OK)}\0".encode())
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def encode(value: Any) -> Any:
    """A JSON-ready form of any request field; paths stand for their contents."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: encode(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return encode(value.value)
    if isinstance(value, Path):
        return {"path": value.as_posix(), "content": content_digest(value)}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return redact(value) if isinstance(value, str) else value
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((encode(item) for item in value), key=repr)
    if isinstance(value, Mapping):
        return {str(key): encode(item) for key, item in sorted(value.items(), key=lambda pair: str(pair[0]))}
    return redact(repr(value))


def _pip_version() -> str:
    """The version of the pip this interpreter imports, from its .dist-info name (importlib.metadata's way, cheaper)."""
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as scan:
                for item in scan:
                    if item.name.startswith("pip-") and item.name.endswith(".dist-info"):
                        return item.name[len("pip-") : -len(".dist-info")]
        except OSError:
            continue
    return "missing"


def _passthrough_files(passthrough: tuple[str, ...]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for index, token in enumerate(passthrough):
        option = file_option(token)
        if option is not None:
            found.append(option)
        elif token in _FILE_OPTIONS and index + 1 < len(passthrough):
            found.append((_FILE_OPTIONS[token], passthrough[index + 1]))
    return found


def _find_links(passthrough: tuple[str, ...], lines: list[RequirementLine], config: list[str]) -> list[str]:
    tokens = list(passthrough) + [part for line in lines for part in line.text.split()]
    links = [tokens[index + 1] for index, token in enumerate(tokens[:-1]) if token in _FIND_LINKS_OPTIONS]
    links += [token.split("=", 1)[1] for token in tokens if token.startswith("--find-links=")]
    links += os.environ.get("PIP_FIND_LINKS", "").split()
    return links + _config_values(config, ("find-links", "find_links"))


def compute(request: Any) -> Inputs:
    """The cache key of ``request`` (a BuildRequest) and the document it hashes."""
    from .pipargs import PipArgs

    pip_args: PipArgs = request.pip_args
    fields = {
        field.name: encode(getattr(request, field.name))
        for field in dataclasses.fields(request)
        if field.name not in NOT_IN_KEY
    }
    passthrough = tuple(token for token in pip_args.passthrough if not _OUTPUT_ONLY.match(token))
    fields["pip_args"] = encode(dataclasses.replace(pip_args, passthrough=passthrough))
    config_texts: dict[str, str] = {}
    for path in _pip_config_files():
        if path.is_file():
            config_texts[str(path)] = path.read_text("utf-8", errors="replace")
    config_files = _config_values(list(config_texts.values()), ("constraint", "requirement"))
    environment = {name: redact(value) for name, value in os.environ.items() if name.startswith("PIP_")}
    extra_files = [("constraint", name) for name in environment.get("PIP_CONSTRAINT", "").split()]
    extra_files += [("requirement", name) for name in environment.get("PIP_REQUIREMENT", "").split()]
    extra_files += [("constraint", name) for name in config_files]
    digests, lines = follow_requirement_files(_passthrough_files(passthrough) + extra_files, Path())
    referenced = sorted({name for line in lines for name in _ENV_REFERENCE.findall(line.text)})
    local_links = [link for link in _find_links(passthrough, lines, list(config_texts.values())) if "://" not in link]
    document = {
        "format": FORMAT,
        "pip-lambda": __version__,
        "pip": _pip_version(),
        "request": fields,
        "platform_tags": list(request.target.platform_tags),
        "markers": request.target.marker_environment,
        "requirement_files": digests,
        "referenced_variables": {name: redact(os.environ.get(name, "")) for name in referenced},
        "pip_environment": environment,
        "pip_config": {name: hashlib.sha256(redact(text).encode()).hexdigest() for name, text in config_texts.items()},
        "find_links": {link: _folder_listing(Path(link)) for link in local_links},
        "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH", ""),
        "zip_level": DEFAULT_LEVEL,
    }
    key = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    return Inputs(key, document, tuple(lines))
