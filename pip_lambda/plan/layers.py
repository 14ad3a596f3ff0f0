"""The layers a function is deployed with (``--with-layer ZIP``): read from their zips, counted, compared.

Lambda unpacks every layer of a function into ``/opt``, later layers over
earlier ones, and counts the function and all its layers (at most five)
against one unzipped limit.  A layer zip is read without unpacking it, by
:mod:`pip_lambda.archive.contents`: the central directory gives its names and
sizes, and only the small ``.dist-info`` members of its distributions are
streamed.  Its distributions are those on the target's ``sys.path``: in
``python/lib/python3.X/site-packages`` and in ``python``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pip_lambda.archive.contents import Contents, Installed, distributions_at_root, read_zip
from pip_lambda.cache.storage import file_sha256
from pip_lambda.checks.findings import NO_DISTRIBUTION, Finding, Level
from pip_lambda.errors import UsageError
from pip_lambda.plan.layout import LAYER
from pip_lambda.plan.target import Target
from pip_lambda.tree.distributions import Distribution

log = logging.getLogger(__name__)

MAX_LAYERS = 5
"""Layers a Lambda function can have."""


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
    contents = read_zip(path, layer=True, python=target.runtime.python_version)
    sites = tuple(site for site in LAYER.sys_path(target) if f"{site}/" in contents.sites)
    if not sites and distributions_at_root(contents.files):
        raise UsageError(
            f"{path} is a function package, not a layer: its distributions are at the zip's root, "
            "where Lambda puts nothing of a layer on sys.path",
            hint="build the layer with 'pip-lambda install --layer' (everything under python/)",
        )
    foreign = tuple(
        site.rstrip("/")
        for site in contents.sites
        if site not in (f"{LAYER.site_packages(target.runtime.python_version)}/", LAYER.prefix)
    )
    libraries = tuple(
        name[len("lib/") :] for name in sorted(contents.files) if name.count("/") == 1 and name.startswith("lib/")
    )
    distributions = tuple(_distribution(contents, dist) for dist in contents.distributions)
    size = contents.unzipped_size
    log.debug("layer %s: %d bytes unzipped, %d distributions", path, size, len(distributions))
    return Layer(path, file_sha256(path), size, sites, distributions, libraries, foreign)


def _distribution(contents: Contents, dist: Installed) -> Distribution:
    """A distribution of the layer as the build sees its own: files relative to its site, sizes from the zip."""
    files = tuple(name[len(dist.site) :] for name in dist.files)
    size = sum(info.size for name in dist.files for info in [contents.files.get(name)] if info is not None)
    return Distribution(dist.name, dist.version, dist.dist_info, files, size)


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
                f"site-packages of another Python: {target.runtime.name} reads only /opt/{LAYER.site_packages(target.runtime.python_version)} "
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
