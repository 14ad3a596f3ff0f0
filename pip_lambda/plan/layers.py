"""The layers a function is deployed with (``--with-layer ZIP``): read from their zips, counted, compared.

Lambda unpacks every layer of a function into ``/opt``, later layers over
earlier ones, and counts the function and all its layers (at most five)
against one unzipped limit.  A layer zip is read without unpacking it: the
central directory gives its names and sizes, and only the small ``METADATA``
and ``RECORD`` members of its distributions are streamed (archive/reader.py).
Its distributions are those on the target's ``sys.path``: in
``python/lib/python3.X/site-packages`` and in ``python``.
"""

from __future__ import annotations

import email.parser
import logging
import posixpath
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pip_lambda.archive.reader import Kind, Member, ZipReader, open_zip
from pip_lambda.cache.storage import file_sha256
from pip_lambda.checks.findings import NO_DISTRIBUTION, Finding, Level
from pip_lambda.errors import UsageError
from pip_lambda.plan.target import Target
from pip_lambda.tree.distributions import Distribution
from pip_lambda.tree.records import parse_record

log = logging.getLogger(__name__)

MAX_LAYERS = 5
"""Layers a Lambda function can have."""
_METADATA_BYTES = 1 << 20
"""Read of a METADATA member: its headers come first, the long description after them."""
_RECORD_BYTES = 64 << 20
"""A larger RECORD is not read: the distribution's size then counts its own folder only."""
# Only the central directory and a few small members are read, each with its own budget: a layer
# declaring more than Lambda's limit is read to the end, so the budget can name what is big in it.
_READ_LIMIT = sys.maxsize


@dataclass(frozen=True)
class Layer:
    """One layer zip the function is deployed with, as its central directory and metadata describe it."""

    path: Path
    sha256: str
    """Of the zip file."""
    unzipped_size: int
    """Bytes of its files as the central directory declares them: what Lambda counts against the limit."""
    sites: tuple[str, ...]
    """Its folders on the target's ``sys.path``, in Lambda's order; empty when it has no ``python/``."""
    distributions: tuple[Distribution, ...]
    """Those in its sites, sorted by name; ``files`` relative to the site, ``size`` from the central directory."""
    libraries: tuple[str, ...]
    """Names directly under ``lib/``, which Lambda puts on ``LD_LIBRARY_PATH`` as ``/opt/lib``."""
    foreign_sites: tuple[str, ...] = ()
    """``site-packages`` folders of other Python versions, which the target never reads."""

    @property
    def name(self) -> str:
        return self.path.name


def site_packages(target: Target) -> str:
    """Where a layer's distributions go for the target's Python (Lambda also reads ``python/`` itself)."""
    return f"python/lib/python{target.runtime.python_version}/site-packages"


def layer_sites(target: Target) -> tuple[str, str]:
    """The folders of ``/opt`` on the target's ``sys.path``, in Lambda's order."""
    return site_packages(target), "python"


def read_layers(paths: Sequence[Path], target: Target, outputs: Sequence[Path] = ()) -> tuple[Layer, ...]:
    """Read every ``--with-layer`` zip, in the order Lambda stacks them; bad input is a UsageError (exit 2).

    ``outputs`` are the files this build writes: a layer cannot be one of them.
    """
    if len(paths) > MAX_LAYERS:
        raise UsageError(
            f"{len(paths)} layers given with --with-layer; a Lambda function can have at most {MAX_LAYERS}",
            hint="merge layers, or move dependencies into the function",
        )
    written = {output.resolve() for output in outputs}
    for path in paths:
        if path.resolve() in written:
            raise UsageError(
                f"--with-layer {path} is the zip this build writes",
                hint="give the layers the function is deployed with",
            )
    return tuple(read_layer(path, target) for path in paths)


def read_layer(path: Path, target: Target) -> Layer:
    """One layer zip: its size, sites, distributions and libraries; a function zip or a damaged one is a UsageError."""
    if path.is_dir():
        raise UsageError(
            f"--with-layer {path} is a folder; it takes the layer's zip",
            hint="give the zip Lambda gets ('pip-lambda install --layer' writes one)",
        )
    if not path.exists():
        raise UsageError(f"--with-layer {path} does not exist", hint="build the layer first, or fix the path")
    with open_zip(path, limit=_READ_LIMIT) as archive:
        members = {member.name: member for member in archive.members}
        wanted = site_packages(target)
        sites = tuple(site for site in layer_sites(target) if any(name.startswith(site + "/") for name in members))
        if not sites and any(_dist_info_of(name, "") for name in members):
            raise UsageError(
                f"{path} is a function package, not a layer: its distributions are at the zip's root, "
                "where Lambda puts nothing of a layer on sys.path",
                hint="build the layer with 'pip-lambda install --layer' (everything under python/)",
            )
        distributions = sorted(
            (
                _distribution(archive, members, site, dist_info)
                for site in sites
                for dist_info in _dist_infos(members, site)
            ),
            key=lambda dist: dist.key,
        )
        foreign = sorted({site for name in members for site in [_site_of(name)] if site} - {wanted})
        libraries = tuple(
            sorted(
                name[len("lib/") :]
                for name, member in members.items()
                if name.startswith("lib/") and "/" not in name[len("lib/") :] and member.kind is not Kind.DIRECTORY
            )
        )
        size = archive.declared_size
    log.debug("layer %s: %d bytes unzipped, %d distributions", path, size, len(distributions))
    return Layer(path, file_sha256(path), size, sites, tuple(distributions), libraries, tuple(foreign))


def _site_of(name: str) -> str | None:
    """The ``python/lib/python3.X/site-packages`` folder ``name`` lies in, of whichever Python."""
    parts = name.split("/")
    if (
        len(parts) >= 4
        and parts[:2] == ["python", "lib"]
        and parts[2].startswith("python3.")
        and parts[3] == "site-packages"
    ):
        return "/".join(parts[:4])
    return None


def _dist_info_of(name: str, site: str) -> str | None:
    """The ``.dist-info`` folder directly in ``site`` whose METADATA ``name`` is, relative to the site."""
    prefix = site + "/" if site else ""
    if not name.startswith(prefix):
        return None
    parts = name[len(prefix) :].split("/")
    if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
        return parts[0]
    return None


def _dist_infos(members: dict[str, Member], site: str) -> list[str]:
    return sorted(found for name in members for found in [_dist_info_of(name, site)] if found)


def _distribution(archive: ZipReader, members: dict[str, Member], site: str, dist_info: str) -> Distribution:
    """A distribution of the layer: name and version from METADATA, files from RECORD, sizes from the central directory."""
    headers = email.parser.HeaderParser().parsestr(_head(archive, members[f"{site}/{dist_info}/METADATA"]))
    name = headers.get("Name") or dist_info.split("-")[0]
    version = headers.get("Version") or "?"
    record = members.get(f"{site}/{dist_info}/RECORD")
    if record is not None and record.size <= _RECORD_BYTES:
        files = parse_record(_text(archive, record), f"{archive.path}:{record.name}").paths
    else:
        files = _without_record(members, site, dist_info, name)
    sizes = (members.get(posixpath.join(site, path)) for path in files)
    size = sum(member.size for member in sizes if member is not None and member.kind is Kind.FILE)
    return Distribution(str(name), str(version), dist_info, tuple(files), size)


def _without_record(members: dict[str, Member], site: str, dist_info: str, name: str) -> tuple[str, ...]:
    """A distribution whose RECORD was left out (``--slim`` does): its folder and the package named like it."""
    module = name.lower().replace("-", "_").replace(".", "_")
    tops = (f"{site}/{dist_info}/", f"{site}/{module}/", f"{site}/{module}.")
    return tuple(
        sorted(
            member.name[len(site) + 1 :]
            for member in members.values()
            if member.kind is Kind.FILE and member.name.startswith(tops)
        )
    )


def _text(archive: ZipReader, member: Member) -> str:
    return b"".join(archive.stream(member)).decode("utf-8", errors="replace")


def _head(archive: ZipReader, member: Member) -> str:
    """The start of a METADATA member, up to the blank line that ends its headers (at most _METADATA_BYTES)."""
    data = b""
    for chunk in archive.stream(member):
        data += chunk
        if b"\n\n" in data or b"\r\n\r\n" in data or len(data) >= _METADATA_BYTES:
            break
    return data[:_METADATA_BYTES].decode("utf-8", errors="replace")


def layer_findings(
    layers: Sequence[Layer], distributions: Sequence[Distribution], target: Target, *, layer: bool = False
) -> list[Finding]:
    """Warnings about the layers: a layout Lambda does not read, and distributions carried twice.

    ``distributions`` are the package's own; with ``layer`` the package is itself
    a layer, unpacked last over the others.
    """
    findings = [finding for each in layers for finding in _layout(each, target)]
    carried: dict[str, tuple[Distribution, Layer]] = {}
    for each in layers:
        for dist in each.distributions:
            earlier = carried.get(dist.key)
            if earlier is not None:
                findings.append(_mixed(dist, str(each.path), earlier[0], earlier[1].name))
            carried[dist.key] = (dist, each)
    for dist in distributions:
        found = carried.get(dist.key)
        if found is None:
            continue
        if layer:
            findings.append(_mixed(dist, dist.dist_info, found[0], found[1].name))
        else:
            findings.append(_shadowing(dist, *found))
    return findings


def _layout(layer: Layer, target: Target) -> list[Finding]:
    findings = []
    if not layer.sites:
        findings.append(
            Finding(
                Level.WARNING,
                "layer-layout",
                NO_DISTRIBUTION,
                str(layer.path),
                f"the layer has no python/ folder, so Lambda puts none of it on sys.path (only its bin/ on PATH and "
                f"lib/ on LD_LIBRARY_PATH); its {layer.unzipped_size:,} bytes still count toward the limit",
                "build a layer of Python packages with 'pip-lambda install --layer', which puts them under python/",
            )
        )
    for site in layer.foreign_sites:
        findings.append(
            Finding(
                Level.WARNING,
                "layer-layout",
                NO_DISTRIBUTION,
                f"{layer.path}:{site}/",
                f"site-packages of another Python: {target.runtime.name} reads only /opt/{site_packages(target)} "
                "and /opt/python",
                f"build the layer for {target.runtime.name} (pip-lambda install --layer --runtime {target.runtime.name})",
            )
        )
    return findings


def _shadowing(dist: Distribution, other: Distribution, layer: Layer) -> Finding:
    return Finding(
        Level.WARNING,
        "layer-shadowing",
        str(dist),
        dist.dist_info,
        f"the layer {layer.name} also carries {other.name} {other.version}: the function's copy ({dist.version}) "
        "wins on sys.path, and the layer's only takes space",
        f"leave {dist.name} out of the function (--exclude-package {dist.name}) or out of the layer, so one version ships",
    )


def _mixed(dist: Distribution, where: str, other: Distribution, other_layer: str) -> Finding:
    return Finding(
        Level.WARNING,
        "layer-shadowing",
        str(dist),
        where,
        f"the layer {other_layer} also carries {other.name} {other.version}: Lambda unpacks later layers over "
        f"earlier ones in /opt, so the files of {dist.version} and {other.version} can mix",
        f"keep {dist.name} in one layer only",
    )
