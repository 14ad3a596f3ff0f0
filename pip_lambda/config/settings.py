"""Settings from the command line, ``PIP_LAMBDA_*`` variables, pyproject.toml and setup.cfg, with their sources.

Every configurable option of the options table is a key named after its long
option (``runtime``, ``no-zip``…) and a variable ``PIP_LAMBDA_<NAME>``; two
more keys exist only in files and variables: ``requirements`` (requirements
files, each passed as ``-r``) and ``pip-args`` (pip arguments).  Precedence:
command line, environment, pyproject.toml, setup.cfg, defaults; within a file a
named target's table comes before the file's top level.  pip's own settings
(indexes, credentials) stay in pip's configuration.
"""

from __future__ import annotations

import configparser
import difflib
import logging
import os
import re
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pip_lambda.config.options import INSTALL_OPTIONS, Option
from pip_lambda.errors import UsageError
from pip_lambda.pip.args import VALUE_OPTIONS
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

log = logging.getLogger(__name__)

ENV_PREFIX = "PIP_LAMBDA_"
PYPROJECT_SECTION = "tool.pip-lambda"
SETUP_CFG_SECTION = "pip-lambda"
TARGETS_KEY = "targets"
COMMAND_LINE = "command line"
DEFAULT = "default"

FILE_ONLY_OPTIONS: tuple[Option, ...] = (
    Option("requirements", "list", "requirements files, each passed to pip as -r", path=True),
    Option("pip-args", "list", "more arguments for pip install (requirements, --no-deps, --require-hashes…)"),
)
"""Keys of the configuration that are no command-line option: the command line has pip's own arguments."""

# Variables pip-lambda sets for its own subprocesses, and where the build cache lives: never settings.
_INTERNAL_VARIABLES = frozenset({"PIP_LAMBDA_MARKERS", "PIP_LAMBDA_CACHE_DIR", "PIP_LAMBDA_CACHE_MAX_SIZE"})
# pip flags without a value that someone may write as a key; pip's options with a value are in VALUE_OPTIONS.
_PIP_FLAGS = frozenset({"no-index", "no-deps", "require-hashes", "pre", "upgrade", "isolated"})
_TARGET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
# Values checked beyond their type: the same parsers the command line uses, so the choices agree.
_VALUE_CHECKS: dict[str, Callable[[str], object]] = {"runtime": get_runtime, "arch": Arch.parse}


class ConfigError(UsageError):
    """A configuration file or variable pip-lambda cannot use: unknown key, wrong type or value."""


@dataclass(frozen=True)
class Setting:
    """A resolved value and where it came from (``command line``, a variable, a file, ``default``)."""

    value: Any
    source: str


@dataclass(frozen=True)
class Layer:
    """The values one source sets, already checked and converted to the option's kind."""

    label: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class FileConfig:
    """One configuration file's top-level table and its named targets, in the order they are defined."""

    path: Path
    top: Layer
    targets: dict[str, Layer] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectConfig:
    """The configuration files found for the current folder, pyproject.toml first."""

    files: tuple[FileConfig, ...] = ()

    @property
    def target_names(self) -> list[str]:
        return list(dict.fromkeys(name for file in self.files for name in file.targets))


def configurable_options(options: Sequence[Option] = INSTALL_OPTIONS) -> tuple[Option, ...]:
    """The options that have a key in files and a variable: derived from the table, never listed by hand."""
    return tuple(option for option in options if option.configurable) + FILE_ONLY_OPTIONS


def variable_name(option: Option) -> str:
    return ENV_PREFIX + option.name.upper().replace("-", "_")


def empty_value(option: Option) -> Any:
    """The value of an option nobody set; the build decides what that means (e.g. the default runtime)."""
    return {"bool": False, "count": 0, "list": ()}.get(option.kind)


def _kind_words(option: Option) -> str:
    return {
        "bool": "true or false",
        "count": "a whole number (0 or more)",
        "list": "a list of strings",
        "str": "a string",
    }[option.kind]


def _choices_hint(option: Option) -> str:
    check = _VALUE_CHECKS.get(option.name)
    if check is not None:
        # The parsers' own hints list the valid values, so they never drift from the runtime table.
        try:
            check("")
        except UsageError as error:
            return error.hint
    return f"valid values: {_kind_words(option)}"


def _convert(option: Option, raw: object, *, text: bool, where: str) -> Any:
    """Check ``raw`` (a TOML value, or a string from setup.cfg or a variable) against the option's kind."""
    value: Any = None
    if option.kind == "bool":
        if isinstance(raw, bool):
            value = raw
        elif text and isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            value = raw.strip().lower() in _TRUE
    elif option.kind == "count":
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            value = raw
        elif text and isinstance(raw, str) and raw.strip().isdigit():
            value = int(raw)
    elif option.kind == "list":
        if text and isinstance(raw, str):
            try:
                value = tuple(shlex.split(raw))
            except ValueError as error:  # an unbalanced quote
                raise ConfigError(
                    f"{where}: {option.name} = {raw!r}: {error}", hint="close the quote, or quote each item on its own"
                ) from None
        elif isinstance(raw, str):
            value = (raw,)
        elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            value = tuple(raw)
    elif isinstance(raw, str):
        value = raw.strip() if text else raw
    if value is None:
        shown = repr(raw) if isinstance(raw, str) else _toml_repr(raw)
        raise ConfigError(
            f"{where}: {option.name} must be {_kind_words(option)}, not {shown}",
            hint=_choices_hint(option),
        )
    check = _VALUE_CHECKS.get(option.name)
    if check is not None:
        try:
            check(value)
        except UsageError as error:
            raise ConfigError(f"{where}: {option.name} = {value!r}: {error.message}", hint=error.hint) from None
    return value


def _toml_repr(raw: object) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, dict):
        return "a table"
    return repr(raw)


def _unknown_key(key: str, where: str, options: Sequence[Option], extra: Sequence[str] = ()) -> ConfigError:
    valid = sorted([option.name for option in options] + list(extra))
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    if f"--{key}" in VALUE_OPTIONS or key in _PIP_FLAGS:
        hint += "pip's own settings belong in pip's configuration (pip.conf, PIP_* variables) or in pip-args; "
    return ConfigError(f"{where}: unknown key {key!r}", hint=f"{hint}valid keys: {', '.join(valid)}")


def _relative(path: str, folder: Path) -> str:
    """A path from a file, taken relative to that file's folder and shown relative to the current folder."""
    given = Path(path).expanduser()
    if given.is_absolute():
        return str(given)
    return os.path.relpath(folder / given)


def file_layer(
    label: str,
    table: Mapping[str, Any],
    folder: Path,
    options: Sequence[Option],
    *,
    text: bool,
    allow_targets: bool,
) -> Layer:
    """Check one table of a configuration file; ``label`` names the file and the table in errors."""
    by_name = {option.name: option for option in options}
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if allow_targets and key == TARGETS_KEY:
            continue
        option = by_name.get(key)
        if option is None:
            raise _unknown_key(key, label, options, [TARGETS_KEY] if allow_targets else [])
        value = _convert(option, raw, text=text, where=label)
        if option.path:
            value = (
                tuple(_relative(item, folder) for item in value) if option.kind == "list" else _relative(value, folder)
            )
        values[key] = value
    return Layer(label, values)


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
    top = file_layer(where, table, path.parent, options, text=False, allow_targets=True)
    raw_targets = table.get(TARGETS_KEY, {})
    if not isinstance(raw_targets, dict):
        raise ConfigError(
            f"{where}: {TARGETS_KEY} must be a table of tables", hint="write [tool.pip-lambda.targets.NAME]"
        )
    targets: dict[str, Layer] = {}
    for name, target_table in raw_targets.items():
        target_where = f"[{PYPROJECT_SECTION}.{TARGETS_KEY}.{name}] in {path}"
        _check_target_name(name, target_where)
        if not isinstance(target_table, dict):
            raise ConfigError(f"{target_where}: must be a table", hint=f"write [tool.pip-lambda.targets.{name}]")
        targets[name] = file_layer(target_where, target_table, path.parent, options, text=False, allow_targets=False)
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
    top = file_layer(f"[{SETUP_CFG_SECTION}] in {path}", table, path.parent, options, text=True, allow_targets=False)
    targets: dict[str, Layer] = {}
    for name in names:
        where = f"[{prefix}{name}] in {path}"
        _check_target_name(name, where)
        section = dict(parser.items(prefix + name))
        targets[name] = file_layer(where, section, path.parent, options, text=True, allow_targets=False)
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


def environment_layer(environ: Mapping[str, str], options: Sequence[Option] | None = None) -> Layer:
    """``PIP_LAMBDA_<NAME>`` variables; an unknown one is a warning, since the environment is shared."""
    keys = configurable_options() if options is None else options
    by_variable = {variable_name(option): option for option in keys}
    values: dict[str, Any] = {}
    for variable, raw in environ.items():
        if not variable.startswith(ENV_PREFIX) or variable in _INTERNAL_VARIABLES:
            continue
        option = by_variable.get(variable)
        if option is None:
            close = difflib.get_close_matches(variable, list(by_variable), n=1)
            log.warning("ignoring unknown variable %s%s", variable, f"; did you mean {close[0]}?" if close else "")
            continue
        values[option.name] = _convert(option, raw, text=True, where=f"environment variable {variable}")
    return Layer("environment", values)


def command_line_layer(parsed: Mapping[str, Any], options: Sequence[Option] = INSTALL_OPTIONS) -> Layer:
    """The options given on the command line: those whose parsed value is not the empty one."""
    values = {
        option.name: (tuple(value) if isinstance(value, list) else value)
        for option in options
        if (value := parsed.get(option.dest)) not in (None, False, 0, [], ())
    }
    return Layer(COMMAND_LINE, values)


def resolve(layers: Sequence[Layer], options: Sequence[Option]) -> dict[str, Setting]:
    """Each option's value from the first layer that sets it (layers in precedence order), else the empty default."""
    settings: dict[str, Setting] = {}
    for option in options:
        for layer in layers:
            if option.name in layer.values:
                settings[option.name] = Setting(layer.values[option.name], layer.label)
                break
        else:
            settings[option.name] = Setting(empty_value(option), DEFAULT)
    return settings


def settings_for(
    command_line: Layer,
    environment: Layer,
    project: ProjectConfig,
    name: str | None = None,
    options: Sequence[Option] = INSTALL_OPTIONS,
) -> dict[str, Setting]:
    """The one precedence chain: command line > environment > pyproject.toml > setup.cfg > defaults.

    With ``name``, each file's table for that target comes before the file's top level.
    """
    if name is not None and name not in project.target_names:
        raise _unknown_target(name, project)
    file_layers: list[Layer] = []
    for file in project.files:
        if name is not None and name in file.targets:
            file_layers.append(file.targets[name])
        file_layers.append(file.top)
    return resolve([command_line, environment, *file_layers], configurable_options(options))


def _unknown_target(name: str, project: ProjectConfig) -> ConfigError:
    names = project.target_names
    if not names:
        where = (
            ", ".join(str(file.path) for file in project.files)
            or "no pyproject.toml or setup.cfg with a pip-lambda section"
        )
        return ConfigError(
            f"no named target {name!r}: the configuration defines no targets ({where})",
            hint="add a [tool.pip-lambda.targets.NAME] table to pyproject.toml",
        )
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ConfigError(f"no named target {name!r}", hint=f"{hint}valid targets: {', '.join(names)}")


def describe(settings: Mapping[str, Setting]) -> list[str]:
    """One line per setting with its source, for -v."""
    width = max((len(name) for name in settings), default=0)
    return [f"  {name:<{width}} = {_shown(setting.value)}  ({setting.source})" for name, setting in settings.items()]


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(repr(item) for item in value) + "]"
    return repr(value)


def _names_requirements(tokens: Sequence[str]) -> bool:
    """Whether pip's command-line arguments name requirements (-r FILE or a specifier)."""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token == "--":
            return index < len(tokens)
        if token.startswith(("-r", "--requirement")):
            return True
        if token in VALUE_OPTIONS:
            index += 1
        elif not token.startswith("-"):
            return True
    return False


def pip_arguments(settings: Mapping[str, Setting], command_line: Sequence[str]) -> list[str]:
    """pip's arguments: the configured pip-args, ``-r`` per configured requirements file, then the command line's.

    Requirements named on the command line replace the configured ones (the
    command line wins); pip-args always apply.  -q/-v set outside the command
    line reach pip too, as they would from it.
    """
    tokens = list(settings["pip-args"].value)
    if not _names_requirements(command_line):
        for name in settings["requirements"].value:
            tokens += ["-r", name]
    for option in INSTALL_OPTIONS:
        setting = settings.get(option.name)
        if option.forwarded_to_pip and setting is not None and setting.source != COMMAND_LINE:
            tokens += [option.short or option.flag] * int(setting.value)
    return tokens + list(command_line)
