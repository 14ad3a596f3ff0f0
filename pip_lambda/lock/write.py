"""``pip-lambda lock``: a pylock.toml resolved by pip for the Lambda target, from any host.

pip resolves, through the marker seam, with one ``pip install --dry-run
--ignore-installed --report`` (pip/resolve.py): markers are the target's and
the wheels the target's tags, whatever machine runs it.  The lock records the
target in ``environments`` and ``requires-python``, and each package's one
wheel with its sha256 (a local file as a path relative to the lock, as PEP 751
writes it).  It is checked by reading it back and selecting it for the target
before it is written, atomically; the same resolution gives the same bytes.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pip_lambda.errors import UsageError, from_os_error
from pip_lambda.lock import pylock
from pip_lambda.lock.decide import names_requirements
from pip_lambda.pip.args import REQUIREMENT, PipArgs, tokenize
from pip_lambda.pip.requirements import is_lock_file, local_location
from pip_lambda.pip.resolve import NotWheelFiles, resolve_explained
from pip_lambda.plan.selection import Wheel
from pip_lambda.plan.target import Target

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

CREATED_BY = "pip-lambda"
PYPI_FILES = "files.pythonhosted.org"
PYPI_INDEX = "https://pypi.org/simple"


def environment_marker(target: Target) -> str:
    """The marker expression that holds on the target and nowhere else a lock could be installed."""
    return (
        f"python_version == '{target.runtime.python_version}' and platform_machine == '{target.arch.machine}'"
        " and sys_platform == 'linux' and platform_python_implementation == 'CPython'"
    )


def project_requirements(pyproject: Path, extras: Sequence[str]) -> list[str]:
    """The ``[project]`` dependencies of pyproject.toml, with those of the optional dependencies ``extras``."""
    try:
        project = tomllib.loads(pyproject.read_text("utf-8")).get("project")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"cannot read {pyproject}: {error}", hint="fix its TOML syntax") from None
    if not isinstance(project, dict):
        raise UsageError(f"{pyproject} has no [project] table", hint="give the requirements with -r FILE")
    if "dependencies" in project.get("dynamic", []):
        raise UsageError(
            f"{pyproject} declares its dependencies dynamic, so they are known only to its build backend",
            hint="give the requirements with -r FILE",
        )
    optional = project.get("optional-dependencies", {})
    unknown = [extra for extra in extras if extra not in optional]
    if unknown:
        raise UsageError(
            f"{pyproject} has no optional dependencies {unknown[0]!r}",
            hint=f"extras it declares: {', '.join(sorted(optional)) or 'none'}",
        )
    wanted = [*project.get("dependencies", []), *(item for extra in extras for item in optional[extra])]
    if not all(isinstance(item, str) for item in wanted):
        raise UsageError(f"{pyproject}: [project] dependencies must be strings", hint="fix pyproject.toml")
    return [str(item) for item in wanted]


def lock_inputs(tokens: Sequence[str], extras: Sequence[str], groups: Sequence[str], folder: Path) -> list[str]:
    """pip's arguments for what to lock: the requirements given, else the project's [project] dependencies,
    else its requirements.txt; ``groups`` as pip's ``--group`` of the project's pyproject.toml."""
    for token in tokenize(tokens):
        if token.option is REQUIREMENT and token.value is not None and is_lock_file(token.value):
            raise UsageError(
                f"{token.value} is a lock file already; pip-lambda lock reads requirements",
                hint="give the requirements it was made from, such as -r requirements.txt",
            )
    pyproject = folder / "pyproject.toml"
    wanted = [*tokens, *(part for group in groups for part in ("--group", f"{pyproject}:{group}"))]
    if names_requirements(tokens):
        if extras:
            raise UsageError(
                f"--extra {extras[0]} selects optional dependencies of [project], but requirements are given",
                hint="name the extra in the requirement instead, such as requests[socks]",
            )
        return wanted
    if pyproject.is_file() and (extras or _has_project(pyproject)):
        return [*wanted, *project_requirements(pyproject, extras)]
    if (folder / "requirements.txt").is_file():
        return [*wanted, "-r", os.path.relpath(folder / "requirements.txt")]
    if groups:
        return wanted
    raise UsageError(
        "nothing to lock: no requirements given, and the project has no [project] dependencies or requirements.txt",
        hint="give requirements, such as -r requirements.txt",
    )


def _has_project(pyproject: Path) -> bool:
    try:
        return isinstance(tomllib.loads(pyproject.read_text("utf-8")).get("project"), dict)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True  # project_requirements says what is wrong with it


def resolved(target: Target, pip_args: PipArgs) -> tuple[Wheel, ...]:
    """pip's resolution for the target; a failure is explained as an install's is (no wheel, sdist only…)."""
    try:
        return resolve_explained(target, pip_args).wheels
    except NotWheelFiles as why:
        raise UsageError(
            f"{why.name} {why.version} comes from a folder or a version-control checkout, which a lock cannot hold",
            hint="lock wheels only: build it into a wheel and give it with --find-links",
        ) from None


def document(picks: Sequence[Wheel], target: Target, folder: Path) -> dict[str, Any]:
    """The pylock.toml for ``picks``, with local wheels as paths relative to ``folder`` (where the lock goes)."""
    packages = []
    for pick in picks:
        entry: dict[str, Any] = {"name": pick.name, "version": pick.version}
        if urlsplit(pick.url).hostname == PYPI_FILES:
            entry["index"] = PYPI_INDEX
        entry["wheels"] = [{**_location(pick.url, folder), "hashes": {"sha256": pick.sha256}}]
        packages.append(entry)
    return {
        "lock-version": "1.0",
        "environments": [environment_marker(target)],
        "requires-python": f"=={target.runtime.python_version}.*",
        "created-by": CREATED_BY,
        "packages": packages,
    }


def _location(url: str, folder: Path) -> dict[str, str]:
    """``name`` and ``path`` (relative to ``folder``) for a local file, ``name`` and ``url`` otherwise."""
    parts = urlsplit(url)
    name = unquote(parts.path.rsplit("/", 1)[-1])
    path = local_location(url) if parts.scheme == "file" else None
    if path is not None:
        try:
            return {"name": name, "path": Path(os.path.relpath(path, folder.absolute())).as_posix()}
        except ValueError:  # another drive
            return {"name": name, "path": path.as_posix()}
    return {"name": name, "url": parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()}


def render(data: Mapping[str, Any], target: Target, shown: str) -> str:
    """The lock's text, checked by reading it back and selecting it for ``target``."""
    import tomli_w

    runtime = target.runtime
    header = (
        f"# Written by pip-lambda lock for {runtime.name} on {target.arch} "
        f"({runtime.os}, glibc {runtime.glibc[0]}.{runtime.glibc[1]}).\n"
    )
    text = header + tomli_w.dumps(dict(data))
    pylock.select(pylock.parse(text, shown), target, shown=shown, base=Path(shown).parent)
    return text


def write(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` atomically; False (and nothing written) when it already holds exactly that."""
    try:
        if path.is_file() and path.read_bytes() == text.encode("utf-8"):
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with open(descriptor, "w", encoding="utf-8", newline="\n") as file:
                file.write(text)
            Path(temporary).replace(path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise from_os_error(error) from None
    return True
