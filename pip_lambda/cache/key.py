"""The build cache key: a hash of everything that can change what a build produces.

The key is derived from the parsed request itself (every field of the
BuildRequest that can change the result, see cache/request.py), plus what lies
outside the request but reaches pip or the zip:
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

from pip_lambda import __version__
from pip_lambda.archive.writer import DEFAULT_LEVEL
from pip_lambda.cache.jsondata import Json
from pip_lambda.cache.request import CacheRequest
from pip_lambda.cache.storage import file_sha256
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
from pip_lambda.tree.code import _IGNORED as COPY_IGNORED

FORMAT = 2
"""Bumped whenever the meaning of a cache entry changes."""

# pip-lambda's -q/-v reach pip too; they change what is printed, never what is installed.
_OUTPUT_ONLY = re.compile(r"^(-q+|-v+|--quiet|--verbose)$")


def _redact(text: str) -> str:
    return redact(text, keep_user=False)


@dataclass(frozen=True)
class Inputs:
    """The key and what it was computed from."""

    key: str
    document: dict[str, Json]
    lines: tuple[RequirementLine, ...]
    """Every line of every requirement and constraint file reached, option lines included."""
    request: CacheRequest
    remote_files: bool
    """A requirement or constraint file is a URL: its content is unknown until pip fetches it."""


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
    """sha256 over a file, or over a folder as ``--code`` copies it and the zip writer then reads it.

    Folders count by name (an empty one is a zip member too), files by name,
    exec bits and contents, symlinks by the text they hold.  A symlink that
    resolves inside the folder is followed as the zip writer follows it (a
    folder's files under the link's name; a folder that contains the link is a
    loop and not entered).  One that leaves the folder resolves, once copied,
    to another ``--code`` path or an installed distribution, keyed on their own,
    or to nothing, and the zip writer refuses it.  Names are hashed as the bytes
    the file system holds, so a name that is not valid UTF-8 is keyed too.
    """
    digest = hashlib.sha256()
    try:
        if path.is_file():
            digest.update(_file_row(b"", path))
        elif path.is_dir():
            root = path.resolve()
            _walk(path, root, b"", (root,), digest)
        else:
            return "missing"
    except OSError as error:
        return f"unreadable: {error.strerror or error}"  # the copy then fails and says why
    return digest.hexdigest()


def _file_row(name: bytes, path: Path) -> bytes:
    executable = path.stat().st_mode & 0o111 != 0
    return b"file\0%s\0%d\0%s\0" % (name, executable, file_sha256(path).encode())


def _walk(folder: Path, root: Path, relative: bytes, chain: tuple[Path, ...], digest: hashlib._Hash) -> None:
    with os.scandir(folder) as scan:
        children = {child.name: child for child in scan}
    for skipped in COPY_IGNORED(str(folder), list(children)):
        children.pop(skipped, None)
    for raw, child in sorted((os.fsencode(name), child) for name, child in children.items()):
        name = relative + raw
        path = Path(child.path)
        if child.is_symlink():
            digest.update(b"link\0%s\0%s\0" % (name, os.fsencode(path.readlink())))
            try:
                resolved = path.resolve()
            except RuntimeError:  # a link to itself, directly or through others
                continue
            if not resolved.is_relative_to(root) or not resolved.exists():
                continue
            if resolved.is_dir():
                if any(ancestor.is_relative_to(resolved) for ancestor in chain):
                    continue
                digest.update(b"dir\0%s\0" % name)
                _walk(resolved, root, name + b"/", (*chain, resolved), digest)
            else:
                digest.update(_file_row(name, resolved))
        elif child.is_dir(follow_symlinks=False):
            digest.update(b"dir\0%s\0" % name)
            _walk(path, root, name + b"/", (*chain, path.resolve()), digest)
        else:
            digest.update(_file_row(name, path))


def encode(value: object) -> Json:
    """A JSON-ready form of any request field; paths stand for their contents."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: encode(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return encode(value.value)
    if isinstance(value, Path):
        return {"path": value.as_posix(), "content": content_digest(value)}
    if isinstance(value, str):
        return _redact(value)
    if isinstance(value, (bool, int, float)) or value is None:
        return value
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


def _for_pip(variable: str) -> bool:
    """A ``PIP_*`` variable pip reads; pip-lambda's own (``PIP_LAMBDA_*``) reach the key as settings, or not at all
    (where the cache lives and how big it may grow change no build)."""
    return variable.startswith("PIP_") and not variable.startswith("PIP_LAMBDA_")


def _strings(mapping: Mapping[str, str]) -> dict[str, Json]:
    return {name: value for name, value in mapping.items()}


def compute(request: CacheRequest, found: RequirementSet | None = None) -> Inputs:
    """The cache key of ``request`` and the document it hashes.

    ``found`` is what the build read of the request's requirement files; read here when not given.
    """
    pip_args = request.pip_args
    fields = {name: encode(value) for name, value in request.settings}
    fields["target"] = encode(request.target)
    passthrough = tuple(token for token in pip_args.passthrough if not _OUTPUT_ONLY.match(token))
    fields["pip_args"] = encode(dataclasses.replace(pip_args, passthrough=passthrough))
    config_texts: dict[str, str] = {}
    for path in _pip_config_files():
        if path.is_file():
            config_texts[str(path)] = path.read_text("utf-8", errors="replace")
    environment = {name: _redact(value) for name, value in os.environ.items() if _for_pip(name)}
    extra = _extra_files(environment, list(config_texts.values()))
    requested = found if found is not None else read_pip_args(pip_args)
    sources = [*requested.sources, *extra.sources]
    digests = {(_redact(name) if "://" in name else Path(name).as_posix()): _digest(name) for name in sources}
    lines = [*requested.lines, *requested.options, *extra.lines, *extra.options]
    referenced = sorted({name for line in lines for name in referenced_variables(line.text)})
    local_links = _find_links(pip_args, (requested, extra), list(config_texts.values()))
    document: dict[str, Json] = {
        "format": FORMAT,
        "pip-lambda": __version__,
        "pip": _pip_version(),
        "request": fields,
        "platform_tags": list(request.target.platform_tags),
        "markers": _strings(request.target.marker_environment),
        "requirement_files": _strings(digests),
        "referenced_variables": {name: _redact(os.environ.get(name, "")) for name in referenced},
        "pip_environment": _strings(environment),
        "pip_config": {name: hashlib.sha256(_redact(text).encode()).hexdigest() for name, text in config_texts.items()},
        "find_links": {str(link): _folder_listing(link) for link in local_links},
        "source_date_epoch": os.environ.get("SOURCE_DATE_EPOCH", ""),
        "zip_level": DEFAULT_LEVEL,
    }
    key = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    return Inputs(key, document, tuple(lines), request, any("://" in name for name in sources))
