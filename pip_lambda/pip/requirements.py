"""Requirement files read the way pip reads them, to refuse bad input before pip runs.

pip-lambda follows ``-r``/``-c`` includes (relative to the including file, as
pip does), detects circular includes, refuses undecodable files and lines pip
would reject or that cannot make a Lambda package (editable, version control,
local source folders and archives), and checks that hash checking covers every
requirement.  pip still reads the files itself: nothing here is passed on.  What
it found (lines, option lines, every file named) is also what the cache key records.
"""

from __future__ import annotations

import codecs
import os
import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement

from pip_lambda.errors import UsageError
from pip_lambda.system.redact import remember

if TYPE_CHECKING:
    from pip_lambda.pip.args import PipArgs

COMMAND_LINE = "the command line"

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_COMMENT = re.compile(r"(^|\s+)#.*$")
_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)\}")
_VCS = re.compile(r"^(git|hg|svn|bzr)\+", re.IGNORECASE)
_PYLOCK = re.compile(r"^pylock\.([^.]+\.)?toml$")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_ARCHIVES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar", ".zip")
_INCLUDES = {"-r": "requirement", "--requirement": "requirement", "-c": "constraint", "--constraint": "constraint"}
_EDITABLE = ("-e", "--editable")
_TAKES_VALUE = frozenset(
    {*_INCLUDES, *_EDITABLE, "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host",
     "--hash", "--config-settings", "--global-option", "--only-binary", "--no-binary", "--use-feature"}
)  # fmt: skip
_BUILD_FIRST = "build a wheel first (pip wheel PATH -w wheels) and install it with --find-links wheels, or add your own code with --code"


@dataclass(frozen=True)
class RequirementLine:
    """One requirement: where it was written, its text, and the hashes it carries."""

    source: str
    """The file it came from, or COMMAND_LINE."""
    number: int
    text: str
    """The requirement itself, without comments or per-line options."""
    hashes: tuple[str, ...] = ()
    constraint: bool = False

    @property
    def where(self) -> str:
        return self.source if self.source == COMMAND_LINE else f"{self.source}:{self.number}"

    @property
    def kind(self) -> str:
        return "constraint" if self.constraint else "requirement"


@dataclass(frozen=True)
class RequirementSet:
    """Every requirement and constraint pip will read, and every file they came from."""

    lines: tuple[RequirementLine, ...]
    files: tuple[Path, ...]
    require_hashes: bool = False
    options: tuple[RequirementLine, ...] = ()
    """The option lines of the files (``-r``, ``--find-links``, ``--index-url``...), as written."""
    sources: tuple[str, ...] = ()
    """Every file named, as pip opens it: those read, and the URLs and lock files left to pip."""

    @property
    def requirements(self) -> tuple[RequirementLine, ...]:
        return tuple(line for line in self.lines if not line.constraint)


def decode(data: bytes, name: str) -> str:
    """The text of a requirements file: a BOM's encoding, else UTF-8; anything else is refused."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UsageError(
            f"requirements file {name} is not UTF-8 text (byte 0x{data[error.start]:02x} on line {line})",
            hint="save it as UTF-8; pip-lambda reads requirement files the same way on every machine",
        ) from None


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, line) with continuations joined and comments removed, as pip does."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.endswith("\\") and not _COMMENT.search(raw):
            pending.append(raw[:-1])
            continue
        line = _COMMENT.sub("", "".join([*pending, raw])).strip()
        pending = []
        if line:
            yield start, line
    if pending:
        line = _COMMENT.sub("", "".join(pending)).strip()
        if line:
            yield start, line


def _expand(value: str) -> str:
    return _VARIABLE.sub(lambda match: os.environ.get(match.group(1), match.group(0)), value)


def referenced_variables(text: str) -> list[str]:
    """The names of the ``${VARIABLE}`` references pip expands in a requirements file line."""
    return _VARIABLE.findall(text)


def _split_options(tokens: Sequence[str]) -> Iterator[tuple[str, str | None]]:
    """(option, value) pairs from the tokens of an option line or of a requirement's options."""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.startswith("--") and "=" in token:
            option, attached = token.split("=", 1)
            yield option, attached
        elif len(token) > 2 and token[0] == "-" and token[1] != "-":
            yield token[:2], token[2:]
        elif token in _TAKES_VALUE:
            yield token, tokens[index] if index < len(tokens) else None
            index += 1
        else:
            yield token, None


def _editable_error(where: str, value: str) -> UsageError:
    return UsageError(
        f"{where}: editable requirement -e {value} cannot make a Lambda package: it points at this machine's source folder",
        hint=_BUILD_FIRST,
    )


def _looks_like_path(text: str) -> bool:
    return (
        text.startswith((".", "/", "~")) or "/" in text or "\\" in text or text.lower().endswith((".whl", *_ARCHIVES))
    )


def check_specifier(written: str, where: str, shown: str | None = None) -> None:
    """Refuse a requirement pip would reject, or that installs source from a folder, archive or VCS.

    ``${VARIABLE}`` references are checked as placeholders and never expanded,
    so a token kept in the environment cannot reach an error message.
    """
    text = _VARIABLE.sub("VARIABLE", written)
    shown = shown or written
    if _VCS.match(text):
        raise UsageError(
            f"{where}: {shown} is a version-control requirement; pip-lambda installs wheels only, and a checkout would be built on this machine",
            hint=_BUILD_FIRST,
        )
    if _URL.match(text) and not text.lower().startswith("file:"):
        return  # a remote archive: pip with --only-binary=:all: accepts wheels only
    if text.lower().startswith("file:") or (_looks_like_path(text) and not _has_name(text)):
        location = text.split("://", 1)[-1] if text.lower().startswith("file:") else text
        if location.lower().endswith(".whl"):
            return
        kind = "folder" if Path(location).is_dir() or not location.lower().endswith(_ARCHIVES) else "source archive"
        raise UsageError(
            f"{where}: {shown} is a local {kind}; pip-lambda installs wheels only, and building it here would give this machine's binaries",
            hint=_BUILD_FIRST,
        )
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        reason = str(error).splitlines()[0]
        raise UsageError(
            f"{where}: invalid requirement {written!r}: {reason}",
            hint="write one PEP 508 requirement per line, such as requests>=2.31 or boto3==1.35.0",
        ) from None
    if requirement.url:
        check_specifier(requirement.url, where, written)


def _has_name(text: str) -> bool:
    """``name @ url`` and plain names are requirements, not paths."""
    return " @ " in text or "@" in text.split("/", 1)[0]


@dataclass
class _Reader:
    lines: list[RequirementLine]
    files: list[Path]
    require_hashes: bool = False
    options: list[RequirementLine] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def read(self, name: str, base: Path | None, constraint: bool, chain: tuple[tuple[Path, str], ...]) -> None:
        shown = name if base is None else str(base / name)
        path = (base / name) if base is not None else Path(name)
        resolved = path.resolve()
        if resolved in (step for step, _ in chain):
            cycle = " -> ".join(step_name for _, step_name in (*chain, (resolved, shown)))
            raise UsageError(
                f"circular requirement includes: {cycle}", hint="remove the -r/-c line that includes a file again"
            )
        if resolved in self.files:
            return
        if not path.exists():
            raise UsageError(
                f"requirements file {shown} not found",
                hint="check the path given to -r/-c (relative to the current folder, or to the file that includes it)",
            )
        if path.is_dir():
            raise UsageError(f"requirements file {shown} is a folder", hint="give -r/-c a text file")
        try:
            data = path.read_bytes()
        except OSError as error:
            raise UsageError(
                f"requirements file {shown} cannot be read: {error.strerror}", hint="check its permissions"
            ) from None
        self.files.append(resolved)
        self.sources.append(shown)
        for number, line in logical_lines(decode(data, shown)):
            self.line(line, number, shown, path.parent, constraint, (*chain, (resolved, shown)))

    def line(
        self, line: str, number: int, source: str, base: Path, constraint: bool, chain: tuple[tuple[Path, str], ...]
    ) -> None:
        where = f"{source}:{number}"
        if line.startswith("-"):
            self.options.append(RequirementLine(source, number, line, constraint=constraint))
            remember([_expand(line)])  # an index URL with a token, perhaps from ${VARIABLE}
            try:
                tokens = shlex.split(line)
            except ValueError as error:
                raise UsageError(
                    f"{where}: cannot read {line!r}: {error}", hint="check the quotes on that line"
                ) from None
            for option, value in _split_options(tokens):
                if option in _EDITABLE:
                    raise _editable_error(where, value or "")
                if option in _INCLUDES:
                    if not value:
                        raise UsageError(f"{where}: {option} needs a file name")
                    if _URL.match(value):
                        self.sources.append(value)
                    else:
                        self.read(_expand(value), base, _INCLUDES[option] == "constraint", chain)
                elif option == "--require-hashes":
                    self.require_hashes = True
            return
        words = line.split()
        cut = next((index for index, word in enumerate(words) if word.startswith("-")), len(words))
        text, options = " ".join(words[:cut]), words[cut:]
        hashes = tuple(value for option, value in _split_options(options) if option == "--hash" and value)
        check_specifier(text, where)
        self.lines.append(RequirementLine(source, number, text, hashes, constraint))


def is_lock_file(name: str) -> bool:
    """A PEP 751 lock file (``pylock.toml``, ``pylock.NAME.toml``, extras allowed): pip reads it, not this module."""
    return bool(_PYLOCK.match(Path(re.sub(r"\[[^\]]*\]$", "", name)).name))


def read_requirements(
    requirement_files: Sequence[str],
    constraint_files: Sequence[str] = (),
    command_line: Sequence[str] = (),
    *,
    require_hashes: bool = False,
) -> RequirementSet:
    """Read every file (following includes) and check every requirement; raise UsageError on bad input.

    pip reads ``pylock.toml`` lock files itself (and refuses them with platform flags); they are left to it.
    """
    reader = _Reader([], [], require_hashes)
    for requirement in command_line:
        check_specifier(requirement, COMMAND_LINE)
        reader.lines.append(RequirementLine(COMMAND_LINE, 0, requirement))
    for name in requirement_files:
        if _URL.match(name) or is_lock_file(name):
            reader.sources.append(name)
        else:
            reader.read(name, None, name in constraint_files, ())
    found = RequirementSet(
        tuple(reader.lines), tuple(reader.files), reader.require_hashes, tuple(reader.options), tuple(reader.sources)
    )
    check_hashes(found)
    return found


def read_pip_args(pip_args: PipArgs) -> RequirementSet:
    """What pip will read for these arguments: their files (followed) and requirements, checked."""
    return read_requirements(
        pip_args.requirement_files,
        pip_args.constraint_files,
        pip_args.requirements,
        require_hashes="--require-hashes" in pip_args.passthrough,
    )


def _pinned(text: str) -> bool:
    try:
        specifiers = list(Requirement(text).specifier)
    except InvalidRequirement:
        return False
    return len(specifiers) == 1 and specifiers[0].operator in ("==", "===") and "*" not in specifiers[0].version


def check_hashes(found: RequirementSet) -> None:
    """With --require-hashes, or once any line has a --hash, every requirement needs a pinned, hashed line."""
    hashed = [line for line in found.requirements if line.hashes]
    if not (found.require_hashes or hashed):
        return
    why = "--require-hashes is given" if found.require_hashes else f"{hashed[0].where} has a --hash"
    for line in found.requirements:
        if not line.hashes:
            raise UsageError(
                f"{line.where}: {line.text} has no --hash, but hash checking is on for every requirement ({why})",
                hint="add --hash=sha256:... to every requirement (pip hash, or pip-compile --generate-hashes), pinned with ==",
            )
        if not _pinned(line.text):
            raise UsageError(
                f"{line.where}: {line.text} is not pinned with ==, but hash checking is on ({why})",
                hint="pin every hashed requirement to one version, such as requests==2.32.3",
            )


def empty_warning(found: RequirementSet, code: Sequence[Path]) -> str | None:
    """A warning when requirement files were given but list nothing to install."""
    if found.requirements or not found.files:
        return None
    files = ", ".join(str(path.name) for path in found.files)
    what = "only the --code you gave" if code else "nothing: an empty but valid package"
    return f"the requirements ({files}) list no requirement; the package holds {what}"
