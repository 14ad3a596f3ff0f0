"""A CycloneDX 1.6 JSON bill of materials of what a package ships (``--sbom FILE``, ``pip-lambda sbom PATH``).

Every distribution in the package is a component: name, version, its
``pkg:pypi`` purl, the sha256 of the wheel file it was installed from (when
the build knows it), and its licence as its METADATA declares it
(``License-Expression``, else ``License``, else the ``License ::``
classifiers).  The dependency graph follows each distribution's
``Requires-Dist`` with markers evaluated for the target; a requirement of an
extra counts when what it names is in the package.  The main component is
the package itself, holding the files no RECORD lists (your ``--code``) with
their sha256, and depending on the distributions nothing else requires.

The document is deterministic: its serial number is derived from the zip's
sha256 (or, without a zip, from the package's files) and the wheel hashes,
its timestamp is the zip's (``SOURCE_DATE_EPOCH``, else 1980-01-01).

Needs the optional ``cyclonedx-python-lib`` (``pip install 'pip-lambda[sbom]'``);
:mod:`pip_lambda.cli` imports this module only when an SBOM is asked for.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageMetadata
from pathlib import Path

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import AttachedText, HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import License, LicenseAcknowledgement
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL
from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pip_lambda import __version__
from pip_lambda.archive.contents import NO_LIMIT, Contents, Installed, Source, read_contents
from pip_lambda.archive.reader import open_zip
from pip_lambda.archive.writer import ZIP_EPOCH, zip_time
from pip_lambda.errors import EnvironmentProblem, UsageError
from pip_lambda.plan.layout import layout_of
from pip_lambda.plan.target import Target
from pip_lambda.result import BuildResult

log = logging.getLogger(__name__)

_NAMESPACE = uuid.UUID("8a4a2f64-5a0f-4b0e-9a51-7069702d6c61")
"""pip-lambda's namespace for the serial numbers of its bills of materials (uuid5)."""
_LICENCE_NAME_LENGTH = 80
"""A ``License`` field longer than this, or of several lines, is licence text, not a licence's name."""


@dataclass(frozen=True)
class Package:
    """What the bill of materials describes."""

    name: str
    """The main component's name: the named target, or the package's file or folder name."""
    layer: bool
    target: Target
    contents: Contents
    code: Mapping[str, str]
    """sha256 of each file no RECORD lists, by its name in the package."""
    wheel_hashes: Mapping[str, str]
    """sha256 of the wheel file each distribution came from, by canonical name, where known."""
    zip_sha256: str | None


def licences(metadata: PackageMetadata | None) -> list[License]:
    """The licence a distribution declares: License-Expression, else License, else its classifiers."""
    if metadata is None:
        return []
    factory = LicenseFactory()
    declared = LicenseAcknowledgement.DECLARED
    expression = (metadata.get_all("License-Expression") or [""])[0].strip()
    if expression:
        return [factory.make_from_string(expression, license_acknowledgement=declared)]
    text = (metadata.get_all("License") or [""])[0].strip()
    if text and text.upper() != "UNKNOWN":
        if "\n" in text or len(text) > _LICENCE_NAME_LENGTH:
            name = text.splitlines()[0].strip()[:_LICENCE_NAME_LENGTH] or "licence text"
            return [factory.make_with_name(name, text=AttachedText(content=text), acknowledgement=declared)]
        return [factory.make_from_string(text, license_acknowledgement=declared)]
    classifiers = [
        value.split("::")[-1].strip()
        for value in metadata.get_all("Classifier") or []
        if value.startswith("License ::") and value.count("::") >= 2
    ]
    return [factory.make_from_string(name, license_acknowledgement=declared) for name in sorted(set(classifiers))]


def requirements(dist: Installed, environment: Mapping[str, str], installed: Iterable[str]) -> list[str]:
    """The keys of the installed distributions ``dist`` requires on the target (see the module's documentation)."""
    if dist.metadata is None:
        return []
    present = set(installed)
    extras = ["", *(canonicalize_name(extra) for extra in dist.metadata.get_all("Provides-Extra") or [])]
    found: set[str] = set()
    for line in dist.metadata.get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(line)
            applies = requirement.marker is None or any(
                requirement.marker.evaluate({**environment, "extra": extra}) for extra in extras
            )
        except (InvalidRequirement, InvalidMarker):
            log.debug("%s: ignoring the requirement %r, which packaging cannot read", dist.name, line)
            continue
        key = canonicalize_name(requirement.name)
        if applies and key in present and key != dist.key:
            found.add(key)
    return sorted(found)


def _purl(dist: Installed) -> PackageURL:
    return PackageURL(type="pypi", name=dist.key, version=dist.version)


def _component(dist: Installed, wheel_sha256: str | None) -> Component:
    purl = _purl(dist)
    return Component(
        type=ComponentType.LIBRARY,
        name=dist.name,
        version=dist.version,
        purl=purl,
        bom_ref=purl.to_string(),
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=wheel_sha256)] if wheel_sha256 else [],
        licenses=licences(dist.metadata),
    )


def _moment() -> datetime.datetime:
    """The zip's timestamp: SOURCE_DATE_EPOCH (checked as the zip writer checks it), else 1980-01-01."""
    zip_time()
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    epoch = max(ZIP_EPOCH, int(raw)) if raw else ZIP_EPOCH
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)


def _serial(package: Package) -> uuid.UUID:
    listing = sorted(f"{name}\0{info.size}\0{info.crc32}" for name, info in package.contents.files.items())
    identity = package.zip_sha256 or hashlib.sha256("\n".join(listing).encode("utf-8", "surrogateescape")).hexdigest()
    hashes = "".join(f"\n{key}={sha256}" for key, sha256 in sorted(package.wheel_hashes.items()))
    return uuid.uuid5(_NAMESPACE, identity + hashes)


def bill_of_materials(package: Package) -> str:
    """The CycloneDX 1.6 JSON document, the same bytes for the same package."""
    dists = package.contents.distributions
    main = Component(
        type=ComponentType.LIBRARY if package.layer else ComponentType.APPLICATION,
        name=package.name,
        bom_ref=f"pip-lambda:{package.name}",
        components=[
            Component(
                type=ComponentType.FILE,
                name=name,
                bom_ref=f"file:{name}",
                hashes=[HashType(alg=HashAlgorithm.SHA_256, content=sha256)],
            )
            for name, sha256 in sorted(package.code.items())
        ],
    )
    properties = [
        Property(name="pip-lambda:kind", value=layout_of(package.layer).kind),
        Property(name="pip-lambda:runtime", value=package.target.runtime.name),
        Property(name="pip-lambda:arch", value=str(package.target.arch)),
    ]
    if package.zip_sha256:
        properties.append(Property(name="pip-lambda:zip-sha256", value=package.zip_sha256))
    bom = Bom(
        serial_number=_serial(package),
        metadata=BomMetaData(component=main, timestamp=_moment(), properties=properties),
    )
    bom.metadata.tools.components.add(Component(type=ComponentType.APPLICATION, name="pip-lambda", version=__version__))
    components = {dist.key: _component(dist, package.wheel_hashes.get(dist.key)) for dist in dists}
    bom.components.update(components.values())
    environment = package.target.marker_environment
    required: set[str] = set()
    for dist in dists:
        needs = requirements(dist, environment, components)
        required.update(needs)
        bom.register_dependency(components[dist.key], [components[key] for key in needs])
    bom.register_dependency(main, [components[key] for key in sorted(components) if key not in required])
    return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"


def build_package(result: BuildResult, name: str | None) -> Package:
    """What a build shipped, read from its zip (or its target folder with --no-zip)."""
    request = result.request
    contents = read_contents(result.zip.path if result.zip else request.target_dir, layer=request.layer)
    prefix = request.layout.prefix
    # The build's own file lists: --slim removes RECORD, which the zip then lacks.
    owned = {f"{prefix}{path}" for dist in result.distributions for path in dist.files}
    code = [path for path in contents.files if path not in owned]
    hashes = {dist.key: dist.wheel_sha256 for dist in result.distributions if dist.wheel_sha256}
    unknown = [str(dist) for dist in result.distributions if not dist.wheel_sha256]
    if unknown:
        log.info(
            "the bill of materials has no wheel sha256 for %s: this build did not resolve them", ", ".join(unknown)
        )
    return Package(
        name=name or (result.zip.path.name.removesuffix(".zip") if result.zip else request.target_dir.name),
        layer=request.layer,
        target=request.target,
        contents=contents,
        code=sha256_of(contents, code),
        wheel_hashes=hashes,
        zip_sha256=result.zip.sha256 if result.zip else None,
    )


def write_sbom(package: Package, path: Path) -> None:
    """Write the bill of materials atomically, so a reader never sees half of it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(bill_of_materials(package), "utf-8")
        temporary.replace(path)
    except OSError as error:
        raise EnvironmentProblem(
            f"cannot write the bill of materials {path}: {error.strerror}", hint="pass --sbom with a writable path"
        ) from None


def path_package(path: Path, target: Target, layer: bool | None) -> Package:
    """What a zip or folder built by any tool ships (``pip-lambda sbom PATH``); no wheel hashes are known.

    ``layer`` None detects a layer's layout (archive/contents.py).
    """
    contents = read_contents(path, layer=layer)
    owned = {name for dist in contents.distributions for name in dist.files}
    zip_sha256 = None
    if contents.source is Source.ZIP:
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        zip_sha256 = digest.hexdigest()
    return Package(
        name=path.name.removesuffix(".zip"),
        layer=contents.layer,
        target=target,
        contents=contents,
        code=sha256_of(contents, [name for name in contents.files if name not in owned]),
        wheel_hashes={},
        zip_sha256=zip_sha256,
    )


def sha256_of(contents: Contents, names: Iterable[str]) -> dict[str, str]:
    """The sha256 of these files of a zip or a folder, streamed (a report holds no contents)."""
    wanted = sorted(set(names))
    if contents.source is Source.REPORT:
        raise UsageError(f"{contents.path} is a report: it lists files but holds none", hint="give the zip or folder")
    digests: dict[str, str] = {}
    if contents.source is Source.FOLDER:
        for name in wanted:
            digest = hashlib.sha256()
            with (contents.path / name).open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
            digests[name] = digest.hexdigest()
        return digests
    with open_zip(contents.path, limit=NO_LIMIT) as reader:
        members = {member.name: member for member in reader.members}
        for name in wanted:
            digest = hashlib.sha256()
            for chunk in reader.stream(members[name], budget=[members[name].size]):
                digest.update(chunk)
            digests[name] = digest.hexdigest()
    return digests
