"""Configuration values checked against the options table: kinds, choices, keys and their errors."""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pip_lambda.config.options import INSTALL_OPTIONS, Option
from pip_lambda.errors import UsageError
from pip_lambda.pip.args import VALUE_OPTIONS
from pip_lambda.plan.runtimes import get_runtime
from pip_lambda.plan.target import Arch

ENV_PREFIX = "PIP_LAMBDA_"
TARGETS_KEY = "targets"

# pip flags without a value that someone may write as a key; pip's options with a value are in VALUE_OPTIONS.
_PIP_FLAGS = frozenset({"no-index", "no-deps", "require-hashes", "pre", "upgrade", "isolated"})


_TRUE = frozenset({"1", "true", "yes", "on"})


_FALSE = frozenset({"0", "false", "no", "off", ""})


MAX_COUNT = 3
"""The most -q or -v a configuration may ask for: pip's own counts stop there, and each is passed to pip."""
_SHOWN_DIGITS = 20


# Values checked beyond their type: the same parsers the command line uses, so the choices agree.
_VALUE_CHECKS: dict[str, Callable[[str], object]] = {"runtime": get_runtime, "arch": Arch.parse}


FILE_ONLY_OPTIONS: tuple[Option, ...] = (
    Option("requirements", "list", "requirements files, each passed to pip as -r", path=True),
    Option("pip-args", "list", "more arguments for pip install (requirements, --no-deps, --require-hashes…)"),
)
"""Keys of the configuration that are no command-line option: the command line has pip's own arguments."""


class ConfigError(UsageError):
    """A configuration file or variable pip-lambda cannot use: unknown key, wrong type or value."""


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


def convert(option: Option, raw: object, *, text: bool, where: str) -> Any:
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
        elif text and isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
            value = int(raw.strip()) if len(raw.strip()) <= _SHOWN_DIGITS else 10**_SHOWN_DIGITS
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
    _check_usable(option, value, where)
    check = _VALUE_CHECKS.get(option.name)
    if check is not None:
        try:
            check(value)
        except UsageError as error:
            raise ConfigError(f"{where}: {option.name} = {value!r}: {error.message}", hint=error.hint) from None
    return value


def _check_usable(option: Option, value: Any, where: str) -> None:
    """Refuse what has the right type but cannot be used: a count above pip's, a NUL, a path for an unknown user."""
    if option.kind == "count" and value > MAX_COUNT:
        shown = f" = {value}" if value < 10**_SHOWN_DIGITS else ""
        raise ConfigError(f"{where}: {option.name}{shown} is more than {MAX_COUNT}", hint=f"use 0 to {MAX_COUNT}")
    for item in value if option.kind == "list" else [value] if option.kind == "str" else []:
        if "\x00" in item:
            raise ConfigError(f"{where}: {option.name} = {value!r} holds a NUL character", hint="remove it")
        if option.path and item.startswith("~"):
            try:
                Path(item).expanduser()  # the same expansion config/files.py makes
            except (RuntimeError, KeyError):
                user = item[1:].split("/", 1)[0] or "the current user"
                raise ConfigError(
                    f"{where}: {option.name} = {item!r}: there is no home folder for {user}",
                    hint="write the path without ~, or with the name of an existing user",
                ) from None


def _toml_repr(raw: object) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, dict):
        return "a table"
    return repr(raw)


def unknown_key(key: str, where: str, options: Sequence[Option], extra: Sequence[str] = ()) -> ConfigError:
    valid = sorted([option.name for option in options] + list(extra))
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    if f"--{key}" in VALUE_OPTIONS or key in _PIP_FLAGS:
        hint += "pip's own settings belong in pip's configuration (pip.conf, PIP_* variables) or in pip-args; "
    return ConfigError(f"{where}: unknown key {key!r}", hint=f"{hint}valid keys: {', '.join(valid)}")
