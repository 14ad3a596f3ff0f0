"""pip's install options, one table, and the one tokenizer of pip arguments.

The table lists every option of ``pip install`` (and ``--hash`` from
requirement files) with its spellings, whether it takes a value and its role
for pip-lambda: requirement or constraint files, where pip looks for files,
connection settings, flags checked against the target, refused options with
their reason.  The tokenizer reads arguments as pip's option parser does (long
and short spellings, ``--opt=v`` and ``-rFILE``, short flags bundled as
``-qU``, unique abbreviations of long options, ``--`` ending the options) and
serves the command line, the configuration's pip-args and the option lines of
requirement files alike.  Everything not owned or refused reaches pip
unchanged and in order.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from pip_lambda.errors import UsageError
from pip_lambda.plan.target import Target


class Role(enum.Enum):
    """What an option means to pip-lambda."""

    REQUIREMENTS = "names requirements pip reads"
    CONSTRAINTS = "names a constraints file"
    LOOKS = "says where pip looks for files"
    CONNECTION = "says how pip connects"
    CHECKED = "checked against the target"
    OWNED = "set by pip-lambda"
    REFUSED = "cannot make a Lambda package"
    OUTPUT = "changes pip's output only"
    HASH = "a requirement's hash (requirement files)"
    OTHER = "passed to pip"
    PIP_LAMBDA = "pip-lambda's own option"


@dataclass(frozen=True)
class PipOption:
    """One pip option: its spellings (the long one first), whether it takes a value, its role."""

    spellings: tuple[str, ...]
    takes_value: bool = False
    role: Role = Role.OTHER
    reason: str = ""
    """Why a refused option cannot make a Lambda package."""

    @property
    def name(self) -> str:
        return self.spellings[0]


_EDITABLE_WHY = (
    "an editable install points at this machine's source folder, which Lambda never has; "
    "install the project as a wheel or add its source with --code"
)
_LOCATION_WHY = "pip-lambda chooses the install location itself; use -t/--target for the folder"

REQUIREMENT = PipOption(("--requirement", "-r"), True, Role.REQUIREMENTS)
CONSTRAINT = PipOption(("--constraint", "-c"), True, Role.CONSTRAINTS)
REQUIREMENTS_FROM_SCRIPT = PipOption(("--requirements-from-script",), True, Role.REQUIREMENTS)
GROUP = PipOption(("--group",), True, Role.REQUIREMENTS)
EDITABLE = PipOption(("--editable", "-e"), True, Role.REFUSED, _EDITABLE_WHY)
TARGET = PipOption(("--target", "-t"), True, Role.OWNED)
PLATFORM = PipOption(("--platform",), True, Role.CHECKED)
PYTHON_VERSION = PipOption(("--python-version",), True, Role.CHECKED)
IMPLEMENTATION = PipOption(("--implementation",), True, Role.CHECKED)
ABI = PipOption(("--abi",), True, Role.CHECKED)
ONLY_BINARY = PipOption(("--only-binary",), True, Role.CHECKED)
INDEX_URL = PipOption(("--index-url", "-i", "--pypi-url"), True, Role.LOOKS)
EXTRA_INDEX_URL = PipOption(("--extra-index-url",), True, Role.LOOKS)
NO_INDEX = PipOption(("--no-index",), False, Role.LOOKS)
FIND_LINKS = PipOption(("--find-links", "-f"), True, Role.LOOKS)
REQUIRE_HASHES = PipOption(("--require-hashes",), False)
NO_DEPS = PipOption(("--no-deps", "--no-dependencies"), False)
HASH = PipOption(("--hash",), True, Role.HASH)

PIP_OPTIONS: tuple[PipOption, ...] = (
    # Install options
    REQUIREMENT, CONSTRAINT, REQUIREMENTS_FROM_SCRIPT, GROUP, EDITABLE, TARGET,
    PipOption(("--build-constraint",), True),
    NO_DEPS,
    PipOption(("--only-deps", "--only-dependencies")),
    PipOption(("--dry-run",)),
    PLATFORM, PYTHON_VERSION, IMPLEMENTATION, ABI, ONLY_BINARY,
    PipOption(("--user",), False, Role.REFUSED, "a Lambda package is a folder of its own, not the user site-packages"),
    PipOption(("--no-user",)),
    PipOption(("--root",), True, Role.REFUSED, _LOCATION_WHY),
    PipOption(("--prefix",), True, Role.REFUSED, _LOCATION_WHY),
    PipOption(("--src", "--source", "--source-dir", "--source-directory"), True, Role.REFUSED,
              "--src only serves editable VCS installs, which cannot make a Lambda package"),
    PipOption(("--upgrade", "-U")),
    PipOption(("--upgrade-strategy",), True),
    PipOption(("--force-reinstall",)),
    PipOption(("--ignore-installed", "-I")),
    PipOption(("--ignore-requires-python",)),
    PipOption(("--no-build-isolation",)),
    PipOption(("--use-pep517",)),
    PipOption(("--no-use-pep517",)),
    PipOption(("--check-build-dependencies",)),
    PipOption(("--break-system-packages",)),
    PipOption(("--config-settings", "-C"), True),
    PipOption(("--global-option",), True),
    PipOption(("--install-option",), True),
    PipOption(("--compile",), False, Role.REFUSED, "bytecode compiled by this machine's Python is useless on Lambda"),
    PipOption(("--no-compile",)),
    PipOption(("--no-warn-script-location",)),
    PipOption(("--no-warn-conflicts",)),
    REQUIRE_HASHES,
    PipOption(("--no-require-hashes",)),
    PipOption(("--progress-bar",), True),
    PipOption(("--root-user-action",), True),
    PipOption(("--report",), True),
    PipOption(("--no-clean",)),
    # Package selection and index options
    PipOption(("--pre",), False, Role.LOOKS),
    PipOption(("--all-releases",), True, Role.LOOKS),
    PipOption(("--only-final",), True, Role.LOOKS),
    PipOption(("--no-binary",), True, Role.REFUSED,
              "building from source on this machine produces binaries for this machine, not Lambda"),
    PipOption(("--prefer-binary",)),
    INDEX_URL, EXTRA_INDEX_URL, NO_INDEX, FIND_LINKS,
    PipOption(("--refresh-package",), True),
    PipOption(("--uploaded-prior-to",), True, Role.LOOKS),
    PipOption(("--trusted-host",), True, Role.LOOKS),
    # General options
    PipOption(("--help", "-h")),
    PipOption(("--debug",)),
    PipOption(("--isolated",)),
    PipOption(("--require-virtualenv", "--require-venv")),
    PipOption(("--python",), True, Role.REFUSED, "pip-lambda runs pip itself, with markers evaluated for the Lambda target"),
    PipOption(("--verbose", "-v"), False, Role.OUTPUT),
    PipOption(("--quiet", "-q"), False, Role.OUTPUT),
    PipOption(("--log", "--log-file", "--local-log"), True),
    PipOption(("--no-input",)),
    PipOption(("--keyring-provider",), True, Role.CONNECTION),
    PipOption(("--proxy",), True, Role.CONNECTION),
    PipOption(("--no-proxy-env",), False, Role.CONNECTION),
    PipOption(("--retries",), True, Role.CONNECTION),
    PipOption(("--timeout", "--default-timeout"), True, Role.CONNECTION),
    PipOption(("--exists-action",), True),
    PipOption(("--cert",), True, Role.CONNECTION),
    PipOption(("--client-cert",), True, Role.CONNECTION),
    PipOption(("--resume-retries",), True, Role.CONNECTION),
    PipOption(("--cache-dir",), True),
    PipOption(("--no-cache-dir",)),
    PipOption(("--disable-pip-version-check",)),
    PipOption(("--no-color",)),
    PipOption(("--no-python-version-warning",)),
    PipOption(("--use-feature",), True),
    PipOption(("--use-deprecated",), True),
    # Per requirement, in requirement files
    HASH,
)  # fmt: skip
"""Every option of ``pip install`` from pip 23.0 to the newest, and ``--hash`` of requirement files."""


@dataclass(frozen=True)
class OptionTable:
    """Options by spelling; long spellings pip also accepts abbreviated, as its option parser does."""

    exact: Mapping[str, PipOption]
    abbreviable: Mapping[str, PipOption] = field(default_factory=dict)

    def find(self, spelling: str) -> PipOption | None:
        option = self.exact.get(spelling)
        if option is not None or not spelling.startswith("--"):
            return option
        matches = [name for name in self.abbreviable if name.startswith(spelling)]
        return self.abbreviable[matches[0]] if len(matches) == 1 else None


def option_table(options: Sequence[PipOption]) -> OptionTable:
    by_spelling = {spelling: option for option in options for spelling in option.spellings}
    return OptionTable(by_spelling, {name: option for name, option in by_spelling.items() if name.startswith("--")})


PIP_TABLE = option_table(PIP_OPTIONS)
VALUE_OPTIONS = frozenset(spelling for option in PIP_OPTIONS if option.takes_value for spelling in option.spellings)
"""Every spelling of a pip option that takes a value."""


@dataclass(frozen=True)
class Token:
    """One option, positional argument or ``--`` separator, as pip reads it."""

    option: PipOption | None
    """None for a positional argument, the separator, or an option the table does not know."""
    spelling: str | None
    """As written (``-f``, ``--find``); None for a positional argument."""
    value: str | None
    """The option's value (None when missing or a flag), or the positional argument."""
    raw: tuple[str, ...]
    """The arguments it was written in.  In a bundle such as ``-qU`` the first option holds the whole bundle and
    the others hold nothing; the ``--`` separator holds nothing either."""
    bundled: bool = False

    @property
    def alone(self) -> tuple[str, ...]:
        """The option written on its own, so it can be kept or dropped without its bundle."""
        if not self.bundled or self.spelling is None:
            return self.raw
        return (self.spelling,) if self.value is None else (self.spelling, self.value)

    @property
    def is_positional(self) -> bool:
        return self.spelling is None

    @property
    def shown(self) -> str:
        """The spelling, with the option's full name when it was abbreviated."""
        spelling = self.spelling or ""
        if self.option is None or spelling in self.option.spellings:
            return spelling
        return f"{spelling} ({self.option.name})"


SEPARATOR = "--"


def tokenize(arguments: Sequence[str], table: OptionTable = PIP_TABLE) -> Iterator[Token]:
    """Read ``arguments`` the way pip's option parser does; unknown options are yielded with ``option`` None."""
    index = 0
    while index < len(arguments):
        argument = arguments[index]
        index += 1
        if argument == SEPARATOR:
            yield Token(None, SEPARATOR, None, ())
            yield from (Token(None, None, rest, (rest,)) for rest in arguments[index:])
            return
        if argument.startswith("--"):
            spelling, equals, attached = argument.partition("=")
            option = table.find(spelling)
            if equals or option is None or not option.takes_value:
                yield Token(option, spelling, attached if equals else None, (argument,))
            elif index < len(arguments):
                index += 1
                yield Token(option, spelling, arguments[index - 1], (argument, arguments[index - 1]))
            else:
                yield Token(option, spelling, None, (argument,))
        elif argument.startswith("-") and argument != "-":
            bundle, taken = _bundle(argument, arguments[index:], table)
            index += taken
            yield from bundle
        else:
            yield Token(None, None, argument, (argument,))


def _bundle(argument: str, rest: Sequence[str], table: OptionTable) -> tuple[list[Token], int]:
    """The short options of one argument (``-q``, ``-rFILE``, ``-qU``) and how many more arguments they took."""
    found: list[tuple[PipOption | None, str, str | None]] = []
    taken = 0
    for position in range(1, len(argument)):
        spelling = f"-{argument[position]}"
        option = table.find(spelling)
        if option is None:
            found.append((None, f"-{argument[position:]}", None))
            break
        if option.takes_value:
            value: str | None = argument[position + 1 :]
            if not value:
                value, taken = (rest[0], 1) if rest else (None, 0)
            found.append((option, spelling, value))
            break
        found.append((option, spelling, None))
    raw = (argument, *rest[:taken])
    bundled = len(found) > 1
    tokens = [
        Token(option, spelling, value, raw if number == 0 else (), bundled)
        for number, (option, spelling, value) in enumerate(found)
    ]
    return tokens, taken


@dataclass(frozen=True)
class PipArgs:
    """pip install arguments after pip-lambda has taken what it owns."""

    passthrough: tuple[str, ...]
    """Tokens handed to pip unchanged, in order."""
    platforms: tuple[str, ...] = ()
    """``--platform`` values the user gave (already checked against the target)."""
    requirement_files: tuple[str, ...] = ()
    """Values of ``-r``/``-c``, for checks before pip runs."""
    requirements: tuple[str, ...] = field(default=())
    """Plain requirement specifiers given on the command line."""
    constraint_files: tuple[str, ...] = ()
    """The values of ``-c`` alone (also in ``requirement_files``)."""
    read_by_pip: tuple[str, ...] = ()
    """Files pip reads requirements from itself: ``--requirements-from-script`` scripts, ``--group``'s pyproject.toml."""

    @property
    def has_requirements(self) -> bool:
        return bool(self.requirements or self.requirement_files or self.read_by_pip)

    @property
    def require_hashes(self) -> bool:
        return any(token.option is REQUIRE_HASHES for token in tokenize(self.passthrough))

    @property
    def no_deps(self) -> bool:
        return any(token.option is NO_DEPS for token in tokenize(self.passthrough))

    @property
    def looks(self) -> tuple[str, ...]:
        """The options that say where pip looks for files and how it connects, for another pip run."""
        return tuple(
            part
            for token in tokenize(self.passthrough)
            if token.option is not None and token.option.role in (Role.LOOKS, Role.CONNECTION)
            for part in token.alone
        )

    def without_requirements(self) -> tuple[str, ...]:
        """pip's arguments less everything that names requirements or constraints."""
        named = (Role.REQUIREMENTS, Role.CONSTRAINTS)
        return tuple(
            part
            for token in tokenize(self.passthrough)
            if not token.is_positional and not (token.option is not None and token.option.role in named)
            for part in token.alone
        )


def _check_platform(value: str, target: Target) -> None:
    if target.loads_platform(value):
        return
    other_machine = "x86_64" if target.arch.machine == "aarch64" else "aarch64"
    if value.endswith(other_machine):
        why = f"it is for {other_machine} but the target architecture is {target.arch}"
    elif value.startswith("manylinux"):
        why = f"{target.runtime.name} runs glibc {target.runtime.glibc[0]}.{target.runtime.glibc[1]}"
    else:
        why = "Lambda runs glibc-based Linux only"
    raise UsageError(
        f"--platform {value} contradicts the target {target}: {why}",
        hint="drop --platform: pip-lambda passes every platform tag the target can load",
    )


def _check_python_version(value: str, target: Target) -> None:
    wanted = target.runtime.python_version
    digits = value.split(".")
    given = ".".join(digits[:2]) if len(digits) > 1 else (f"{value[0]}.{value[1:]}" if len(value) > 1 else value)
    if given != wanted:
        raise UsageError(
            f"--python-version {value} contradicts --runtime {target.runtime.name} (Python {wanted})",
            hint=f"drop --python-version or pass --runtime python{given}",
        )


def _check_agreement(option: PipOption, value: str, target: Target) -> None:
    if option is PLATFORM:
        _check_platform(value, target)
    elif option is PYTHON_VERSION:
        _check_python_version(value, target)
    elif option is IMPLEMENTATION and value != "cp":
        raise UsageError(
            f"--implementation {value} contradicts the target: Lambda runs CPython",
            hint="drop --implementation; pip-lambda passes --implementation cp",
        )
    elif option is ONLY_BINARY and ":none:" in value.split(","):
        raise UsageError(
            "--only-binary=:none: contradicts pip-lambda's wheels-only build",
            hint="drop it: sdists built on this machine would carry this machine's binaries",
        )
    elif option is ABI and value not in (target.runtime.cpython_tag, "abi3", "none"):
        raise UsageError(
            f"--abi {value} contradicts the target {target}",
            hint=f"drop --abi, or use {target.runtime.cpython_tag}, abi3 or none",
        )


# pip-lambda injects its own value for these, so the user's (agreeing) value is not passed twice.
_REPLACED = (PLATFORM, PYTHON_VERSION, IMPLEMENTATION, ONLY_BINARY)


def check_token(token: Token) -> None:
    """Refuse a known option that cannot make a Lambda package, lacks its value or has one it cannot take."""
    option = token.option
    if option is None:
        return
    if option.role is Role.REFUSED:
        raise UsageError(f"pip option {token.shown} cannot make a Lambda package: {option.reason}")
    if option.takes_value and token.value is None:
        raise UsageError(f"{token.shown} needs a value", hint="see 'pip-lambda install --help'")
    if not option.takes_value and token.value is not None:
        raise UsageError(f"{token.shown} takes no value", hint=f"write {option.name} alone")


def _pip_source(token: Token) -> str:
    """The file pip reads for ``--requirements-from-script FILE`` or ``--group [PATH:]NAME``."""
    value = token.value or ""
    if token.option is GROUP:
        path, colon, _name = value.rpartition(":")
        return path if colon else "pyproject.toml"
    return value


def parse_pip_args(tokens: Sequence[str], target: Target) -> PipArgs:
    """Check the pip arguments against the target and keep what passes through."""
    passthrough: list[str] = []
    platforms: list[str] = []
    files: list[str] = []
    requirements: list[str] = []
    constraints: list[str] = []
    read_by_pip: list[str] = []
    for token in tokenize(tokens):
        check_token(token)
        option, value = token.option, token.value
        if option is TARGET:
            raise UsageError(f"{token.shown} given twice", hint="pass -t/--target once")
        if option is not None and option.role is Role.CHECKED and value is not None:
            _check_agreement(option, value, target)
            if option is PLATFORM:
                platforms.append(value)
            if option in _REPLACED:
                continue
        if option in (REQUIREMENT, CONSTRAINT) and value is not None:
            files.append(value)
            if option is CONSTRAINT:
                constraints.append(value)
        elif option in (REQUIREMENTS_FROM_SCRIPT, GROUP):
            read_by_pip.append(_pip_source(token))
        elif token.is_positional and value is not None:
            requirements.append(value)
        passthrough.extend(token.raw)
    return PipArgs(
        tuple(passthrough),
        tuple(platforms),
        tuple(files),
        tuple(requirements),
        tuple(constraints),
        tuple(read_by_pip),
    )
