"""Requirement files read the way pip reads them, to refuse bad input before pip runs.

pip-lambda follows ``-r``/``-c`` includes (relative to the including file, as
pip does), detects circular and too deeply nested includes, refuses
undecodable files and lines pip would reject or that cannot make a Lambda
package (editable, version control, local source folders and archives,
``--no-binary``), and checks that hash checking covers every requirement.
pip still reads the files itself.  What was read (lines, option lines, every
file named, and where the files tell pip to look, resolved as pip resolves
it) is the build's one reading of its requirements: the cache key, the wheel
store and the failure diagnosis take it from here.
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import shlex
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement

from pip_lambda.errors import UsageError
from pip_lambda.pip.args import (
    CONSTRAINT,
    EDITABLE,
    FIND_LINKS,
    HASH,
    ONLY_BINARY,
    REQUIRE_HASHES,
    REQUIREMENT,
    Role,
    Token,
    tokenize,
)
from pip_lambda.system.redact import remember

if TYPE_CHECKING:
    from pip_lambda.pip.args import PipArgs

COMMAND_LINE = "the command line"
MAX_DEPTH = 100
"""How deep ``-r``/``-c`` includes may nest; pip itself crashes a few hundred levels further down."""
MAX_BYTES = 16 * 2**20
"""The largest requirements file read (``-r /dev/zero`` would never end)."""

# UTF-32's little-endian mark starts like UTF-16's, so it is tried first.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_COMMENT = re.compile(r"(^|\s+)#.*$")
_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)\}")
_VCS = re.compile(r"^(git|hg|svn|bzr)\+", re.IGNORECASE)
_PYLOCK = re.compile(r"^pylock\.([^.]+\.)?toml$")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_ARCHIVES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar", ".zip")
_BUILD_FIRST = "build a wheel first (pip wheel PATH -w wheels) and install it with --find-links wheels, or add your own code with --code"
_LOOKS_FILE = "looks.txt"


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
    """Every requirement and constraint pip will read, every file they came from, and where they tell pip to look."""

    lines: tuple[RequirementLine, ...]
    files: tuple[Path, ...]
    require_hashes: bool = False
    options: tuple[RequirementLine, ...] = ()
    """The option lines of the files (``-r``, ``--find-links``, ``--index-url``...), as written."""
    sources: tuple[str, ...] = ()
    """Every file named, as pip opens it: those read, and the URLs and lock files left to pip."""
    looks: tuple[str, ...] = ()
    """The files' options that say where pip looks, as pip applies them, one option line each: a find-links
    path made absolute when pip takes it relative to the file, ``${VARIABLE}`` left for pip to expand."""
    find_links: tuple[str, ...] = ()
    """The files' find-links, as pip resolves them (variables expanded, relative to the file when it exists there)."""

    @property
    def requirements(self) -> tuple[RequirementLine, ...]:
        return tuple(line for line in self.lines if not line.constraint)


def decode(data: bytes, name: str) -> str:
    """The text of a requirements file: a BOM's encoding, else UTF-8; anything else is refused."""
    bom, encoding = next(((bom, encoding) for bom, encoding in _BOMS if data.startswith(bom)), (b"", "utf-8"))
    body = data[len(bom) :]
    try:
        return body.decode(encoding)
    except UnicodeDecodeError as error:
        line = body[: error.start].decode(encoding, errors="replace").count("\n") + 1
        named = encoding.removesuffix("-le").removesuffix("-be").upper()
        marked = f"; it starts with a {named} byte order mark" if bom else ""
        raise UsageError(
            f"requirements file {name} is not {named} text (byte 0x{body[error.start]:02x} on line {line}{marked})",
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


def local_location(link: str) -> Path | None:
    """The local file or folder a find-links value names, as pip reads it (a path or a file: URL); None if remote."""
    if link.lower().startswith("file:"):
        parts = urlsplit(link)
        if parts.netloc not in ("", "localhost"):
            return None
        from urllib.request import url2pathname  # here: urllib.request loads ssl, which a no-op build never needs

        return Path(url2pathname(parts.path))
    if _URL.match(link):
        return None
    return Path(link).expanduser()


def find_link_in_file(value: str, file: Path) -> str:
    """A find-links value of a requirements file as pip takes it: relative to the file's folder when it exists there."""
    beside = file.absolute().parent / value
    try:
        exists = beside.exists()
    except (OSError, ValueError):  # a name too long, or with a NUL: not there, as os.path.exists says for pip
        exists = False
    return str(beside) if exists else value


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
        kind = "folder" if _is_dir(location) or not location.lower().endswith(_ARCHIVES) else "source archive"
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


def _is_dir(location: str) -> bool:
    try:
        return Path(location).is_dir()
    except OSError:  # a name too long for the system
        return False


def _has_name(text: str) -> bool:
    """``name @ url`` and plain names are requirements, not paths."""
    return " @ " in text or "@" in text.split("/", 1)[0]


def _read_bytes(path: Path, shown: str) -> bytes:
    """A requirements file's bytes; anything but a readable regular file is refused."""
    try:
        info = path.stat()
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            raise UsageError(
                f"requirements file {shown} not found",
                hint="check the path given to -r/-c (relative to the current folder, or to the file that includes it)",
            ) from None
        raise _unreadable(shown, error) from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"requirements file {shown} is a folder", hint="give -r/-c a text file")
    if stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode):
        raise UsageError(f"requirements file {shown} is not a regular file", hint="give -r/-c a text file")
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as error:
        raise _unreadable(shown, error) from None
    if len(data) > MAX_BYTES:
        raise UsageError(
            f"requirements file {shown} is larger than {MAX_BYTES // 2**20} MiB", hint="give -r/-c a text file"
        )
    return data


def _unreadable(shown: str, error: OSError) -> UsageError:
    return UsageError(
        f"requirements file {shown} cannot be read: {error.strerror or error}",
        hint="check the file and its permissions",
    )


def _needs_value(where: str, token: Token) -> UsageError:
    return UsageError(f"{where}: {token.shown} needs a value", hint="see 'pip install --help'")


@dataclass
class _Reader:
    lines: list[RequirementLine]
    files: list[Path]
    require_hashes: bool = False
    options: list[RequirementLine] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    looks: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)

    def read(self, name: str, base: Path | None, constraint: bool, chain: tuple[tuple[Path, str], ...]) -> None:
        shown = name if base is None else str(base / name)
        if "\0" in name:
            raise UsageError(f"requirements file name {shown!r} contains a NUL byte", hint="check the -r/-c line")
        if len(chain) >= MAX_DEPTH:
            raise UsageError(
                f"requirement files nested more than {MAX_DEPTH} deep: {chain[0][1]} includes {shown} through {len(chain) - 1} other files",
                hint="include the files from fewer levels",
            )
        path = (base / name) if base is not None else Path(name)
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop, before Python 3.13
            raise UsageError(f"requirements file {shown} cannot be read: {error}", hint="check the path") from None
        if resolved in (step for step, _ in chain):
            cycle = " -> ".join(step_name for _, step_name in (*chain, (resolved, shown)))
            raise UsageError(
                f"circular requirement includes: {cycle}", hint="remove the -r/-c line that includes a file again"
            )
        if resolved in self.files:
            return
        data = _read_bytes(path, shown)
        self.files.append(resolved)
        self.sources.append(shown)
        for number, line in logical_lines(decode(data, shown)):
            self.line(line, number, shown, path, constraint, (*chain, (resolved, shown)))

    def line(
        self, line: str, number: int, source: str, file: Path, constraint: bool, chain: tuple[tuple[Path, str], ...]
    ) -> None:
        where = f"{source}:{number}"
        if line.startswith("-"):
            self.options.append(RequirementLine(source, number, line, constraint=constraint))
            remember([_expand(line)])  # an index URL with a token, perhaps from ${VARIABLE}
            try:
                words = shlex.split(line)
            except ValueError as error:
                raise UsageError(
                    f"{where}: cannot read {line!r}: {error}", hint="check the quotes on that line"
                ) from None
            self.option_line(list(tokenize(words)), where, file, constraint, chain)
            return
        words = line.split()
        cut = next((index for index, word in enumerate(words) if word.startswith("-")), len(words))
        text = " ".join(words[:cut])
        hashes: list[str] = []
        for token in tokenize(words[cut:]):
            if token.option is HASH:
                if token.value is None:
                    raise _needs_value(where, token)
                hashes.append(token.value)
        check_specifier(text, where)
        self.lines.append(RequirementLine(source, number, text, tuple(hashes), constraint))

    def option_line(
        self, tokens: list[Token], where: str, file: Path, constraint: bool, chain: tuple[tuple[Path, str], ...]
    ) -> None:
        """One option line of a file: includes followed, refusals raised, where pip looks recorded as pip applies it."""
        first_find_links = True
        for token in tokens:
            option, value = token.option, token.value
            if option is None:
                continue  # an option pip does not know either: pip names it
            if option is EDITABLE:
                raise _editable_error(where, value or "")
            if option.role is Role.REFUSED:
                raise UsageError(f"{where}: pip option {token.shown} cannot make a Lambda package: {option.reason}")
            if option.takes_value and value is None:
                raise _needs_value(where, token)
            if option is ONLY_BINARY and ":none:" in (value or "").split(","):
                raise UsageError(
                    f"{where}: --only-binary :none: contradicts pip-lambda's wheels-only build",
                    hint="drop it: sdists built on this machine would carry this machine's binaries",
                )
            if option in (REQUIREMENT, CONSTRAINT) and value is not None:
                if _URL.match(value):
                    self.sources.append(value)
                else:
                    self.read(_expand(value), file.parent, option is CONSTRAINT or constraint, chain)
            elif option is REQUIRE_HASHES:
                self.require_hashes = True
            elif option is FIND_LINKS and value is not None:
                if first_find_links:  # pip takes the first -f of a line only
                    link = find_link_in_file(_expand(value), file)
                    self.find_links.append(link)
                    self.looks.append(shlex.join(["--find-links", link]))
                first_find_links = False
            elif option.role is Role.LOOKS:
                self.looks.append(shlex.join(token.alone))


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
        tuple(reader.lines),
        tuple(reader.files),
        reader.require_hashes,
        tuple(reader.options),
        tuple(reader.sources),
        tuple(reader.looks),
        tuple(reader.find_links),
    )
    check_hashes(found)
    return found


def read_pip_args(pip_args: PipArgs) -> RequirementSet:
    """What pip will read for these arguments: their files (followed) and requirements, checked.

    The files pip reads requirements from by itself (``--group``, ``--requirements-from-script``) count as sources.
    """
    found = read_requirements(
        pip_args.requirement_files,
        pip_args.constraint_files,
        pip_args.requirements,
        require_hashes=pip_args.require_hashes,
    )
    return replace(found, sources=(*found.sources, *pip_args.read_by_pip))


def looks_arguments(pip_args: PipArgs, found: RequirementSet, folder: Path) -> list[str]:
    """Arguments that make another pip run look where the build's pip looks, without its requirements.

    The command line's index, find-links and connection options are repeated;
    the files' are written to a requirements file of their own in ``folder``,
    so ``${VARIABLE}`` credentials reach pip the way they did, never its command line.
    """
    return [*pip_args.looks, *files_looks(found, folder)]


def files_looks(found: RequirementSet, folder: Path) -> list[str]:
    """``-r FILE`` for a file in ``folder`` holding the option lines that say where the requirement files look."""
    if not found.looks:
        return []
    looks = folder / _LOOKS_FILE
    looks.write_text("".join(f"{line}\n" for line in found.looks), "utf-8")
    return ["-r", str(looks)]


def _pinned(text: str) -> bool:
    """Pinned as pip's hash checking wants it: one ``==``/``===`` version, or a direct URL (``name @ url``)."""
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return _URL.match(text) is not None or _looks_like_path(text)
    specifiers = list(requirement.specifier)
    if requirement.url:
        return True
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
