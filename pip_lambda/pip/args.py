"""pip's own install arguments: split from pip-lambda's, checked against the target, passed through.

pip-lambda owns a few pip options (``--target``, the platform flags); everything
else reaches pip unchanged and in order.  Options that cannot make a Lambda
package are refused; the platform flags of the manual command are accepted
when they agree with the target and refused when they contradict it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pip_lambda.errors import UsageError
from pip_lambda.plan.target import Target

# pip install options that take a value, so the value is never mistaken for an option of ours.
VALUE_OPTIONS = frozenset(
    {
        "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-t", "--target",
        "--platform", "--python-version", "--implementation", "--abi", "--root", "--prefix",
        "--src", "--upgrade-strategy", "-C", "--config-settings", "--global-option",
        "--no-binary", "--only-binary", "--progress-bar", "--root-user-action", "--report",
        "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--log", "--log-file",
        "--local-log", "--proxy", "--retries", "--timeout", "--exists-action", "--trusted-host",
        "--cert", "--client-cert", "--cache-dir", "--python", "--keyring-provider",
        "--use-feature", "--use-deprecated", "--resume-retries", "--group", "--build-constraint",
    }
)  # fmt: skip

_REFUSED = {
    "--user": "a Lambda package is a folder of its own, not the user site-packages",
    "--prefix": "pip-lambda chooses the install location itself; use -t/--target for the folder",
    "--root": "pip-lambda chooses the install location itself; use -t/--target for the folder",
    "-e": "an editable install points at this machine's source folder, which Lambda never has; "
    "install the project as a wheel or add its source with --code",
    "--editable": "an editable install points at this machine's source folder, which Lambda never has; "
    "install the project as a wheel or add its source with --code",
    "--src": "--src only serves editable VCS installs, which cannot make a Lambda package",
    "--python": "pip-lambda runs pip itself, with markers evaluated for the Lambda target",
    "--compile": "bytecode compiled by this machine's Python is useless on Lambda",
    "--no-binary": "building from source on this machine produces binaries for this machine, not Lambda",
}


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

    @property
    def has_requirements(self) -> bool:
        return bool(self.requirements or self.requirement_files)


def _pairs(tokens: Sequence[str]) -> Iterable[tuple[str | None, str | None, list[str]]]:
    """Yield (option, value, raw tokens); option is None for a positional argument."""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token == "--":
            for rest in tokens[index:]:
                yield None, rest, [rest]
            return
        if token.startswith("--") and "=" in token:
            option, attached = token.split("=", 1)
            yield option, attached, [token]
        elif token in VALUE_OPTIONS:
            if index < len(tokens):
                index += 1
                yield token, tokens[index - 1], [token, tokens[index - 1]]
            else:
                yield token, None, [token]
        elif len(token) > 2 and token[0] == "-" and token[1] != "-" and token[:2] in VALUE_OPTIONS:
            yield token[:2], token[2:], [token]
        elif token.startswith("-") and token != "-":
            yield token, None, [token]
        else:
            yield None, token, [token]


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


def _check_agreement(option: str, value: str, target: Target) -> None:
    if option == "--platform":
        _check_platform(value, target)
    elif option == "--python-version":
        _check_python_version(value, target)
    elif option == "--implementation" and value != "cp":
        raise UsageError(
            f"--implementation {value} contradicts the target: Lambda runs CPython",
            hint="drop --implementation; pip-lambda passes --implementation cp",
        )
    elif option == "--only-binary" and ":none:" in value.split(","):
        raise UsageError(
            "--only-binary=:none: contradicts pip-lambda's wheels-only build",
            hint="drop it: sdists built on this machine would carry this machine's binaries",
        )
    elif option == "--abi" and value not in (target.runtime.cpython_tag, "abi3", "none"):
        raise UsageError(
            f"--abi {value} contradicts the target {target}",
            hint=f"drop --abi, or use {target.runtime.cpython_tag}, abi3 or none",
        )


_CHECKED = frozenset({"--platform", "--python-version", "--implementation", "--only-binary", "--abi"})
# pip-lambda injects its own value for these, so the user's (agreeing) value is not passed twice.
_REPLACED = frozenset({"--platform", "--python-version", "--implementation", "--only-binary"})


def parse_pip_args(tokens: Sequence[str], target: Target) -> PipArgs:
    """Check the pip arguments against the target and keep what passes through."""
    passthrough: list[str] = []
    platforms: list[str] = []
    files: list[str] = []
    requirements: list[str] = []
    constraints: list[str] = []
    for option, value, raw in _pairs(tokens):
        if option in VALUE_OPTIONS and value is None:
            raise UsageError(f"{option} needs a value", hint="see 'pip-lambda install --help'")
        if option in _REFUSED:
            raise UsageError(f"pip option {option} cannot make a Lambda package: {_REFUSED[option]}")
        if option in ("-t", "--target"):
            raise UsageError(f"{option} given twice", hint="pass -t/--target once")
        if option in _CHECKED:
            if value is None:
                raise UsageError(f"{option} needs a value")
            _check_agreement(option, value, target)
            if option == "--platform":
                platforms.append(value)
            if option in _REPLACED:
                continue
        if option in ("-r", "--requirement", "-c", "--constraint") and value is not None:
            files.append(value)
            if option in ("-c", "--constraint"):
                constraints.append(value)
        if option is None and value is not None:
            requirements.append(value)
        passthrough.extend(raw)
    return PipArgs(tuple(passthrough), tuple(platforms), tuple(files), tuple(requirements), tuple(constraints))
