"""A pylock.toml (PEP 751) read with ``packaging.pylock`` and selected for the Lambda target, never the host.

The lock's ``requires-python`` and ``environments`` must cover the target;
``Pylock.select`` then chooses each package's wheel with the target's marker
environment and tags.  It is given the target's tags followed by every other tag
the lock's wheels carry, so it always names a wheel and the check of that wheel
against the target is pip-lambda's: an entry without a wheel the target loads
is reported with the tags the lock does have.  Only wheels come out, each with
the lock's sha256; version-control, folder and non-wheel archive entries are
refused, sdist-only entries follow the sdist policy (``--allow-sdist``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from pip_lambda.errors import EnvironmentProblem, NoCompatibleWheelError, UsageError
from pip_lambda.pip.sdists import SdistOnlyError, allows
from pip_lambda.plan.selection import Selection, Wheel
from pip_lambda.plan.source import Sdist
from pip_lambda.plan.target import Target
from pip_lambda.system.redact import redact

if TYPE_CHECKING:
    from packaging.pylock import Package, PackageArchive, PackageSdist, PackageWheel, Pylock

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

_EXTRAS = re.compile(r"^(?P<path>.+?)\[(?P<extras>[^\]]*)\]$")
_SHOWN_TAGS = 6
_BUILD_FIRST = "build a wheel of it (pip wheel) and lock that, or add your own code with --code"


def split_extras(name: str) -> tuple[str, tuple[str, ...]]:
    """``pylock.toml[aws,cli]`` as pip spells extras on a lock file: the path and the extras."""
    match = _EXTRAS.match(name)
    if match is None:
        return name, ()
    extras = tuple(extra.strip() for extra in match.group("extras").split(",") if extra.strip())
    return match.group("path"), extras


def parse(text: str, shown: str) -> Pylock:
    """Validate a lock's text; an invalid file is a usage error with packaging's validation message."""
    try:
        from packaging.pylock import Pylock, PylockValidationError
    except ImportError:
        raise EnvironmentProblem(
            f"reading {shown} needs packaging 26.1 or newer, which needs Python 3.10 or newer",
            hint="run pip-lambda with Python 3.10 or newer (--runtime still chooses the Lambda runtime)",
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{shown} is not a valid lock file: {error}", hint="fix its TOML syntax") from None
    try:
        return Pylock.from_dict(data)
    except PylockValidationError as error:
        raise UsageError(
            f"{shown} is not a valid lock file: {error}", hint="write it again with the tool that made it"
        ) from None


def read(path: Path, shown: str) -> Pylock:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"lock file {shown} not found", hint="check the path (relative to the current folder)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"lock file {shown} cannot be read: {error}", hint="check the file") from None
    return parse(text, shown)


def select(
    lock: Pylock,
    target: Target,
    *,
    shown: str,
    base: Path,
    extras: Sequence[str] = (),
    groups: Sequence[str] = (),
    allow_sdist: Sequence[str] = (),
) -> tuple[Selection, tuple[Sdist, ...]]:
    """The wheels the lock chooses for ``target``, and its sdist-only entries that ``allow_sdist`` accepts.

    ``base`` is the folder the lock's relative paths start from (the lock file's).
    """
    from packaging.pylock import PackageArchive, PackageSdist, PackageWheel, PylockSelectError

    _check_declared(lock, shown, extras, groups)
    _check_covers(lock, target, shown)
    wheels: list[Wheel] = []
    sdists: list[Sdist] = []
    try:
        for package, chosen in lock.select(
            environment=target.marker_environment,  # type: ignore[arg-type]
            tags=_tags(lock, target),
            extras=extras,
            dependency_groups=groups or None,
        ):
            if isinstance(chosen, PackageArchive) and _filename(chosen).endswith(".whl"):
                chosen = PackageWheel(url=chosen.url, path=chosen.path, size=chosen.size, hashes=chosen.hashes)
            if isinstance(chosen, PackageWheel):
                if _loads(chosen, target):
                    wheels.append(_wheel(package, chosen, shown, base))
                    continue
                if package.sdist is None:
                    raise _no_wheel(package, target, shown)
                chosen = package.sdist
            if isinstance(chosen, PackageSdist):
                sdists.append(_sdist(package, chosen, target, shown, base, allow_sdist))
            else:
                raise _not_a_wheel(package, chosen, shown)
    except PylockSelectError as error:
        if str(error).startswith("Multiple packages"):
            raise UsageError(f"{shown}: {error}", hint="write the lock again with the tool that made it") from None
        raise NoCompatibleWheelError(f"{shown}: {error} for {target}", hint=_relock(target)) from None
    return Selection(tuple(sorted(wheels, key=lambda wheel: wheel.name)), shown), tuple(sdists)


def _relock(target: Target) -> str:
    return f"lock for the target (pip-lambda lock --runtime {target.runtime.name} --arch {target.arch}), or choose a runtime the lock covers"


def _check_declared(lock: Pylock, shown: str, extras: Sequence[str], groups: Sequence[str]) -> None:
    declared = {canonicalize_name(extra) for extra in lock.extras or ()}
    for extra in extras:
        if canonicalize_name(extra) not in declared:
            raise UsageError(
                f"{shown} declares no extra {extra!r}",
                hint=f"extras it declares: {', '.join(sorted(declared)) or 'none'}",
            )
    known = {canonicalize_name(group) for group in [*(lock.dependency_groups or ()), *(lock.default_groups or ())]}
    for group in groups:
        if canonicalize_name(group) not in known:
            raise UsageError(
                f"{shown} declares no dependency group {group!r}",
                hint=f"groups it declares: {', '.join(sorted(known)) or 'none'}",
            )


def _check_covers(lock: Pylock, target: Target, shown: str) -> None:
    """The lock's ``requires-python`` and ``environments`` must admit the target."""
    environment = target.marker_environment
    python = environment["python_full_version"]
    if lock.requires_python is not None and not lock.requires_python.contains(python):
        raise NoCompatibleWheelError(
            f"{shown} is for Python {lock.requires_python}, not {target} (Python {target.runtime.python_version})",
            hint=_relock(target),
        )
    if lock.environments is not None and not any(marker.evaluate(environment) for marker in lock.environments):
        covered = " or ".join(f"'{marker}'" for marker in lock.environments)
        raise NoCompatibleWheelError(f"{shown} covers only {covered}, not {target}", hint=_relock(target))


def _wheel_tags(filename: str) -> frozenset[Tag]:
    try:
        return parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return frozenset()


def _tags(lock: Pylock, target: Target) -> list[Tag]:
    """The target's tags, best first, then every other tag the lock's wheels carry (never chosen over the target's)."""
    others = {
        tag
        for package in lock.packages
        for wheel in package.wheels or ()
        for tag in _wheel_tags(wheel.filename)
        if tag not in target.supported_tag_set
    }
    return [*target.supported_tags, *sorted(others, key=str)]


def _loads(wheel: PackageWheel, target: Target) -> bool:
    return not _wheel_tags(wheel.filename).isdisjoint(target.supported_tag_set)


def _filename(archive: PackageArchive) -> str:
    location = archive.path or urlsplit(archive.url or "").path
    return unquote(location.replace("\\", "/").rsplit("/", 1)[-1])


def _location(url: str | None, path: str | None, base: Path) -> str:
    """A URL for the file: the lock's URL (credentials removed), or its path, relative to the lock, as a file URL."""
    if url:
        return redact(url, keep_user=False)
    assert path is not None  # packaging validates that one of them is set
    return Path(os.path.normpath((base / path).absolute())).as_uri()


def _sha256(hashes: object, filename: str, name: str, shown: str) -> str:
    sha256 = hashes.get("sha256") if isinstance(hashes, dict) else None
    if not isinstance(sha256, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        algorithms = ", ".join(sorted(hashes)) if isinstance(hashes, dict) else "none"
        raise UsageError(
            f"{shown}: {name}'s {filename} has no sha256 in the lock (it has {algorithms or 'none'}), so the lock cannot prove which file it is",
            hint="lock again with a tool that records sha256 hashes",
        )
    return sha256.lower()


def _wheel(package: Package, wheel: PackageWheel, shown: str, base: Path) -> Wheel:
    filename = wheel.filename
    version = str(package.version) if package.version is not None else str(parse_wheel_filename(filename)[1])
    return Wheel(
        name=canonicalize_name(package.name),
        version=version,
        filename=filename,
        url=_location(wheel.url, wheel.path, base),
        sha256=_sha256(dict(wheel.hashes), filename, package.name, shown),
        direct=package.index is None,
    )


def _sdist(
    package: Package, sdist: PackageSdist, target: Target, shown: str, base: Path, allow_sdist: Sequence[str]
) -> Sdist:
    """An sdist-only entry: kept when --allow-sdist names it, else refused as pip-lambda refuses sdists."""
    version = str(package.version) if package.version is not None else "?"
    url = _location(sdist.url, sdist.path, base)
    sha256 = _sha256(dict(sdist.hashes), sdist.filename, package.name, shown)
    if allows(allow_sdist, package.name):
        return Sdist(canonicalize_name(package.name), version, sdist.filename, url, sha256)
    wheels = f" (its wheels are for {_tag_list(package)})" if package.wheels else ""
    raise SdistOnlyError(
        f"{shown}: {package.name} {version} has only an sdist ({sdist.filename}) for {target}{wheels}",
        hint=f"--allow-sdist {package.name} builds it on this machine (it runs its build code; pure-Python results only), or lock a version with wheels",
        detail="",
        name=package.name,
        requirement=f"{package.name} @ {url}#sha256={sha256}",
        sdist=sdist.filename,
    )


def _tag_list(package: Package) -> str:
    """The wheels' tags as their file names write them: ``cp313-cp313-macosx_14_0_arm64``…"""
    names = sorted({wheel.filename.removesuffix(".whl").split("-", 2)[-1] for wheel in package.wheels or ()})
    names = [name.split("-", 1)[-1] if name.count("-") > 2 else name for name in names]  # a build tag left
    shown = ", ".join(names[:_SHOWN_TAGS])
    return shown + (f" and {len(names) - _SHOWN_TAGS} more" if len(names) > _SHOWN_TAGS else "")


def _no_wheel(package: Package, target: Target, shown: str) -> NoCompatibleWheelError:
    version = f" {package.version}" if package.version is not None else ""
    return NoCompatibleWheelError(
        f"{shown}: {package.name}{version} has no wheel for {target}: the lock has only {_tag_list(package)}",
        hint=_relock(target),
    )


def _not_a_wheel(package: Package, chosen: object, shown: str) -> UsageError:
    from packaging.pylock import PackageArchive, PackageVcs

    if isinstance(chosen, PackageVcs):
        what = f"a version-control entry ({chosen.type} {chosen.url or chosen.path})"
        why = "a checkout would be built on this machine"
    elif isinstance(chosen, PackageArchive):
        what, why = f"an archive that is not a wheel ({_filename(chosen)})", "it would be built on this machine"
    else:
        what, why = "a local folder entry", "building it here would give this machine's binaries"
    return UsageError(
        f"{shown}: {package.name} is {what}; pip-lambda installs wheels only, and {why}", hint=_BUILD_FIRST
    )
