"""Configuration files: ``[tool.pip-lambda]`` in pyproject.toml and ``[pip-lambda]`` in setup.cfg, with named targets."""

from __future__ import annotations

import configparser
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pip_lambda.config.options import Option
from pip_lambda.config.sources import Source
from pip_lambda.config.values import TARGETS_KEY, ConfigError, configurable_options, convert, unknown_key

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

PYPROJECT_SECTION = "tool.pip-lambda"


SETUP_CFG_SECTION = "pip-lambda"


_TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class FileConfig:
    """One configuration file's top-level table and its named targets, in the order they are defined."""

    path: Path
    top: Source
    targets: dict[str, Source] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectConfig:
    """The configuration files found for the current folder, pyproject.toml first."""

    files: tuple[FileConfig, ...] = ()

    @property
    def target_names(self) -> list[str]:
        return list(dict.fromkeys(name for file in self.files for name in file.targets))


def _relative(path: str, folder: Path) -> str:
    """A path from a file, taken relative to that file's folder and shown relative to the current folder."""
    given = Path(path).expanduser()
    if given.is_absolute():
        return str(given)
    return os.path.relpath(folder / given)


def file_source(
    label: str,
    table: Mapping[str, Any],
    folder: Path,
    options: Sequence[Option],
    *,
    text: bool,
    allow_targets: bool,
) -> Source:
    """Check one table of a configuration file; ``label`` names the file and the table in errors."""
    by_name = {option.name: option for option in options}
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if allow_targets and key == TARGETS_KEY:
            continue
        option = by_name.get(key)
        if option is None:
            raise unknown_key(key, label, options, [TARGETS_KEY] if allow_targets else [])
        value = convert(option, raw, text=text, where=label)
        if option.path:
            value = (
                tuple(_relative(item, folder) for item in value) if option.kind == "list" else _relative(value, folder)
            )
        values[key] = value
    return Source(label, values)


def _check_target_name(name: str, where: str) -> None:
    if not _TARGET_NAME.match(name):
        raise ConfigError(
            f"{where}: target name {name!r} is not usable as a folder name",
            hint="use letters, digits, '.', '_' and '-', starting with a letter or digit",
        )


def read_pyproject(path: Path, options: Sequence[Option]) -> FileConfig | None:
    """The [tool.pip-lambda] table and its named targets, or None when the file has no such table."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}", hint="fix the file's TOML syntax") from None
    tool = data.get("tool")
    table = tool.get("pip-lambda") if isinstance(tool, dict) else None
    if table is None:
        return None
    where = f"[{PYPROJECT_SECTION}] in {path}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table", hint="write it as a [tool.pip-lambda] section")
    top = file_source(where, table, path.parent, options, text=False, allow_targets=True)
    raw_targets = table.get(TARGETS_KEY, {})
    if not isinstance(raw_targets, dict):
        raise ConfigError(
            f"{where}: {TARGETS_KEY} must be a table of tables", hint="write [tool.pip-lambda.targets.NAME]"
        )
    targets: dict[str, Source] = {}
    for name, target_table in raw_targets.items():
        target_where = f"[{PYPROJECT_SECTION}.{TARGETS_KEY}.{name}] in {path}"
        _check_target_name(name, target_where)
        if not isinstance(target_table, dict):
            raise ConfigError(f"{target_where}: must be a table", hint=f"write [tool.pip-lambda.targets.{name}]")
        targets[name] = file_source(target_where, target_table, path.parent, options, text=False, allow_targets=False)
    return FileConfig(path, top, targets)


def read_setup_cfg(path: Path, options: Sequence[Option]) -> FileConfig | None:
    """The [pip-lambda] section and its [pip-lambda.targets.NAME] sections, or None without them."""
    parser = configparser.ConfigParser(interpolation=None, default_section="\0no-defaults")
    try:
        parser.read_string(path.read_text("utf-8"), source=str(path))
    except (OSError, UnicodeDecodeError, configparser.Error) as error:
        raise ConfigError(f"cannot read {path}: {error}", hint="fix the file's INI syntax") from None
    prefix = f"{SETUP_CFG_SECTION}.{TARGETS_KEY}."
    names = [section[len(prefix) :] for section in parser.sections() if section.startswith(prefix)]
    if not parser.has_section(SETUP_CFG_SECTION) and not names:
        return None
    table = dict(parser.items(SETUP_CFG_SECTION)) if parser.has_section(SETUP_CFG_SECTION) else {}
    top = file_source(f"[{SETUP_CFG_SECTION}] in {path}", table, path.parent, options, text=True, allow_targets=False)
    targets: dict[str, Source] = {}
    for name in names:
        where = f"[{prefix}{name}] in {path}"
        _check_target_name(name, where)
        section = dict(parser.items(prefix + name))
        targets[name] = file_source(where, section, path.parent, options, text=True, allow_targets=False)
    return FileConfig(path, top, targets)


def find_config(start: Path | None = None, options: Sequence[Option] | None = None) -> ProjectConfig:
    """Walk up from ``start`` to the first folder whose pyproject.toml or setup.cfg has a pip-lambda section.

    Both files of that folder are read (pyproject.toml first); folders above it are not.
    """
    keys = configurable_options() if options is None else options
    folder = (start or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        found = [
            reader(path, keys)
            for path, reader in (
                (candidate / "pyproject.toml", read_pyproject),
                (candidate / "setup.cfg", read_setup_cfg),
            )
            if _mentions_us(path)
        ]
        files = tuple(file for file in found if file is not None)
        if files:
            return ProjectConfig(files)
    return ProjectConfig()


def _mentions_us(path: Path) -> bool:
    """A cheap look before parsing, so an unrelated broken file above the project is never an error."""
    try:
        return path.is_file() and "pip-lambda" in path.read_text("utf-8", errors="replace")
    except OSError:
        return False
