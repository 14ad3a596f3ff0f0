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

import configparser
import contextlib
import dataclasses
import enum
import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pip_lambda import __version__
from pip_lambda.archive.writer import DEFAULT_LEVEL
from pip_lambda.errors import UsageError
from pip_lambda.pip.args import FIND_LINKS, PipArgs, tokenize
from pip_lambda.pip.requirements import (
    RequirementLine,
    RequirementSet,
    local_location,
    read_pip_args,
    read_requirements,
    referenced_variables,
)
from pip_lambda.system.redact import redact

FORMAT = 1
"""Bumped whenever the meaning of a cache entry changes."""

# Fields of the BuildRequest that say where the result goes or how chatty the build is, not what it contains.
NOT_IN_KEY = frozenset({"target_dir", "output", "verbosity", "use_cache", "refresh"})
# pip-lambda's -q/-v reach pip too; they change what is printed, never what is installed.
_OUTPUT_ONLY = re.compile(r"^(-q+|-v+|--quiet|--verbose)$")
_IGNORED_NAMES = frozenset({".git", ".hg", ".svn", "__pycache__"})


def _redact(text: str) -> str:
    return redact(text, keep_user=False)


@dataclass(frozen=True)
class Inputs:
    """The key and what it was computed from."""

    key: str
    document: dict[str, Any]
    lines: tuple[RequirementLine, ...]
    """Every line of every requirement and constraint file reached, option lines included."""


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
        return _redact(value) if isinstance(value, str) else value
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((encode(item) for item in value), key=repr)
    if isinstance(value, Mapping):
        return {str(key): encode(item) for key, item in sorted(value.items(), key=lambda pair: str(pair[0]))}
    return _redact(repr(value))


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


def _find_links(pip_args: PipArgs, read: Sequence[RequirementSet], config_texts: Sequence[str]) -> list[Path]:
    """Every local file or folder pip looks in for wheels, absolute: ``-f`` on the command line, in the
    requirement files (relative to the file that names it, as pip takes it), ``file:`` URLs,
    ``PIP_FIND_LINKS`` and the find-links of pip's configuration files."""
    links = [token.value for token in tokenize(pip_args.passthrough) if token.option is FIND_LINKS and token.value]
    links += [link for found in read for link in found.find_links]
    links += os.environ.get("PIP_FIND_LINKS", "").split()
    for text in config_texts:
        config = configparser.RawConfigParser()
        with contextlib.suppress(configparser.Error):
            config.read_string(text)
        for section in ("global", "install"):
            for name, value in config.items(section) if config.has_section(section) else ():
                if name.replace("_", "-") == "find-links":
                    links += value.split()
    locations = (local_location(link) for link in links)
    return list(dict.fromkeys(location.absolute() for location in locations if location is not None))


def _extra_files(environment: Mapping[str, str], config_texts: list[str]) -> RequirementSet:
    """The requirement and constraint files pip reads from its environment and configuration files."""
    constraints = environment.get("PIP_CONSTRAINT", "").split() + _config_values(
        config_texts, ("constraint", "requirement")
    )
    names = environment.get("PIP_REQUIREMENT", "").split() + constraints
    try:
        return read_requirements(names, constraints)
    except UsageError:
        return RequirementSet((), (), sources=tuple(names))  # pip reports the problem; the files still count


def _digest(name: str) -> str:
    if "://" in name:
        return "url"  # unknown until pip fetches it, so a build using one is never taken as pinned
    try:
        return hashlib.sha256(Path(name).read_bytes()).hexdigest()
    except OSError:
        return "missing"


def compute(request: Any, found: RequirementSet | None = None) -> Inputs:
    """The cache key of ``request`` (a BuildRequest) and the document it hashes.

    ``found`` is what the build read of the request's requirement files; read here when not given.
    """
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
    environment = {name: _redact(value) for name, value in os.environ.items() if name.startswith("PIP_")}
    extra = _extra_files(environment, list(config_texts.values()))
    requested = found if found is not None else read_pip_args(pip_args)
    sources = [*requested.sources, *extra.sources]
    digests = {(_redact(name) if "://" in name else Path(name).as_posix()): _digest(name) for name in sources}
    lines = [*requested.lines, *requested.options, *extra.lines, *extra.options]
    referenced = sorted({name for line in lines for name in referenced_variables(line.text)})
    local_links = _find_links(pip_args, (requested, extra), list(config_texts.values()))
    document = {
        "format": FORMAT,
        "pip-lambda": __version__,
        "pip": _pip_version(),
        "request": fields,
        "platform_tags": list(request.target.platform_tags),
        "markers": request.target.marker_environment,
        "requirement_files": digests,
        "referenced_variables": {name: _redact(os.environ.get(name, "")) for name in referenced},
        "pip_environment": environment,
        "pip_config": {name: hashlib.sha256(_redact(text).encode()).hexdigest() for name, text in config_texts.items()},
        "find_links": {str(link): _folder_listing(link) for link in local_links},
        "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH", ""),
        "zip_level": DEFAULT_LEVEL,
    }
    key = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    return Inputs(key, document, tuple(lines))
