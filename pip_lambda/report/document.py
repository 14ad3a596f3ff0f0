"""The JSON report of ``--report FILE``: what was built, from what, and where it went.

The format is versioned (``report_version``) and described by the JSON schema
shipped as ``pip_lambda/data/report.schema.json``.  A change that removes or
renames a field, or changes its meaning, increments the version; new optional
fields do not.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pip_lambda import __version__
from pip_lambda.archive import container
from pip_lambda.archive.contents import build_members
from pip_lambda.errors import EnvironmentProblem
from pip_lambda.plan.layers import Layer
from pip_lambda.plan.limits import DIRECT_UPLOAD_LIMIT, UNZIPPED_LIMIT
from pip_lambda.plan.request import BuildRequest
from pip_lambda.report.summary import terraform_hash
from pip_lambda.result import BuildResult
from pip_lambda.system.redact import redact

if TYPE_CHECKING:
    from pip_lambda.shared import SharedBuild

REPORT_VERSION = 1


def schema() -> dict[str, Any]:
    """The report's JSON schema, as shipped in the package."""
    text = resources.files("pip_lambda").joinpath("data/report.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def build_entry(result: BuildResult, name: str | None = None) -> dict[str, Any]:
    """One build in the report."""
    request = result.request
    runtime = request.target.runtime
    zipped = result.zip
    entry: dict[str, Any] = {
        "name": name,
        "kind": request.layout.kind,
        "runtime": {
            "name": runtime.name,
            "python": runtime.python_version,
            "os": runtime.os,
            "glibc": f"{runtime.glibc[0]}.{runtime.glibc[1]}",
        },
        "arch": str(request.target.arch),
        "platform_tags": list(request.target.platform_tags),
        "distributions": [
            {
                "name": dist.name,
                "version": dist.version,
                "files": list(dist.files),
                "unpacked_size": dist.size,
            }
            for dist in result.distributions
        ],
        "file_count": result.file_count,
        "members": build_members(zipped, request.target_dir, request.layer),
        "unpacked_size": result.unzipped_size,
        "findings": [finding.as_json() for finding in result.findings],
        "warnings": list(result.warnings),
        "outputs": {
            "target": str(request.target_dir),
            "zip": None
            if zipped is None
            else {
                "path": str(zipped.path),
                "size": zipped.size,
                "entries": zipped.entries,
                "sha256": zipped.sha256,
                "sha256_base64": terraform_hash(zipped.sha256),
            },
            **({"container": _container(request)} if request.container else {}),
        },
        "limits": {"unzipped": UNZIPPED_LIMIT, "direct_upload": DIRECT_UPLOAD_LIMIT},
        "timings": {step: round(seconds, 6) for step, seconds in result.timings.items()},
        **({"size": result.size.to_json()} if result.size is not None else {}),
    }
    if result.layers:
        entry["layers"] = [layer_entry(layer) for layer in result.layers]
        entry["unpacked_size_with_layers"] = result.unzipped_with_layers
    if request.source is not None:
        entry["source"] = {
            "kind": request.source.kind.value,
            "path": request.source.path,
            "converted_by": request.source.converted_by,
            "discovered": request.source.discovered,
        }
    return entry


def _container(request: BuildRequest) -> dict[str, str]:
    folder = request.target_dir
    return {
        "path": str(folder),
        "dockerfile": str(folder / container.DOCKERFILE),
        "tree": str(folder / container.PACKAGE),
        "base_image": container.base_image(request.target),
        "platform": container.platform(request.target),
    }


def layer_entry(layer: Layer) -> dict[str, Any]:
    """One layer the package is deployed with (--with-layer), as read from its zip."""
    return {
        "path": str(layer.path),
        "sha256": layer.sha256,
        "unpacked_size": layer.unzipped_size,
        "distributions": [
            {"name": dist.name, "version": dist.version, "unpacked_size": dist.size} for dist in layer.distributions
        ],
    }


def make_report(builds: Sequence[tuple[str | None, BuildResult]], shared: SharedBuild | None = None) -> dict[str, Any]:
    """The whole report: one entry per build, in the order they ran, and the shared layer's summary."""
    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "pip_lambda_version": __version__,
        "python": sys.version.split()[0],
        "builds": [build_entry(result, name) for name, result in builds],
    }
    if shared is not None:
        report["shared_layer"] = shared_layer_entry(shared)
    return report


def shared_layer_entry(shared: SharedBuild) -> dict[str, Any]:
    """The shared layer: its zip's content hash, the wheels in it, the functions sharing it, the zip bytes saved."""
    zipped = shared.layer.zip
    savings = shared.savings
    return {
        "name": shared.name,
        "zip": None if zipped is None else {"path": str(zipped.path), "sha256": zipped.sha256},
        "functions": list(shared.sharing),
        "distributions": [
            {"name": wheel.name, "version": wheel.version, "wheel": wheel.filename, "sha256": wheel.sha256}
            for wheel in shared.shared
        ],
        "zip_bytes": None
        if savings is None
        else {
            "layer": savings.layer_zip,
            "functions": savings.function_zips,
            "standalone_estimate": savings.standalone,
            "saved": savings.saved,
        },
    }


def write_report(report: Mapping[str, Any], path: Path) -> None:
    """Write the report atomically, so a reader never sees half of it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(redact(json.dumps(report, indent=2, sort_keys=False)) + "\n", "utf-8")
        temporary.replace(path)
    except OSError as error:
        raise EnvironmentProblem(
            f"cannot write the report {path}: {error.strerror}", hint="pass --report with a writable path"
        ) from None
