"""Settings and where they come from: the command line, ``PIP_LAMBDA_*`` variables, files, defaults.

Every configurable option of the options table is a key named after its long
option (``runtime``, ``no-zip``…) and a variable ``PIP_LAMBDA_<NAME>``; two
more keys exist only in files and variables: ``requirements`` (requirements
files, each passed as ``-r``) and ``pip-args`` (pip arguments).  Precedence:
command line, environment, pyproject.toml, setup.cfg, defaults; within a file a
named target's table comes before the file's top level.  pip's own settings
(indexes, credentials) stay in pip's configuration.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pip_lambda.config.options import INSTALL_OPTIONS, Option
from pip_lambda.config.values import ENV_PREFIX, ConfigError, configurable_options, convert, empty_value, variable_name
from pip_lambda.pip.args import Role, tokenize

if TYPE_CHECKING:
    from pip_lambda.config.files import ProjectConfig

log = logging.getLogger(__name__)

COMMAND_LINE = "command line"


DEFAULT = "default"


# Variables pip-lambda sets for its own subprocesses, where the build cache and the state live: never settings.
_INTERNAL_VARIABLES = frozenset(
    {"PIP_LAMBDA_MARKERS", "PIP_LAMBDA_CACHE_DIR", "PIP_LAMBDA_CACHE_MAX_SIZE", "PIP_LAMBDA_STATE_DIR"}
)


@dataclass(frozen=True)
class Setting:
    """A resolved value and where it came from (``command line``, a variable, a file, ``default``)."""

    value: Any
    source: str


@dataclass(frozen=True)
class Source:
    """The values one source sets, already checked and converted to the option's kind."""

    label: str
    values: Mapping[str, Any]


def environment_source(environ: Mapping[str, str], options: Sequence[Option] | None = None) -> Source:
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
        values[option.name] = convert(option, raw, text=True, where=f"environment variable {variable}")
    return Source("environment", values)


def command_line_source(parsed: Mapping[str, Any], options: Sequence[Option] = INSTALL_OPTIONS) -> Source:
    """The options given on the command line: those whose parsed value is not the empty one."""
    values = {
        option.name: (tuple(value) if isinstance(value, list) else value)
        for option in options
        if (value := parsed.get(option.dest)) not in (None, False, 0, [], ())
    }
    return Source(COMMAND_LINE, values)


def resolve(layers: Sequence[Source], options: Sequence[Option]) -> dict[str, Setting]:
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
    command_line: Source,
    environment: Source,
    project: ProjectConfig,
    name: str | None = None,
    options: Sequence[Option] = INSTALL_OPTIONS,
) -> dict[str, Setting]:
    """The one precedence chain: command line > environment > pyproject.toml > setup.cfg > defaults.

    With ``name``, each file's table for that target comes before the file's top level.
    """
    if name is not None and name not in project.target_names:
        raise _unknown_target(name, project)
    file_layers: list[Source] = []
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
    """Whether pip's command-line arguments name requirements (-r FILE, --group, a specifier...)."""
    return any(
        token.is_positional or (token.option is not None and token.option.role is Role.REQUIREMENTS)
        for token in tokenize(tokens)
    )


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
