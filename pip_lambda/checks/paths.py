"""The path checks: ``.pth`` files and ``direct_url.json`` that point outside the package."""

from __future__ import annotations

import json
import posixpath
import re

from pip_lambda.checks.findings import Finding, Level


def check_pth(path: str, text: str, site: str, distribution: str) -> list[Finding]:
    """A ``.pth`` file that points outside the package (an editable or path install)."""
    fix = "install the project from a wheel or an index instead of in editable mode (-e) or from a local path"
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if entry.startswith(("import ", "import\t")):
            if "__editable__" in entry:
                return [
                    Finding(
                        Level.ERROR,
                        "pth-outside",
                        distribution,
                        path,
                        "an editable install's import hook; the project's source is not in the package",
                        fix,
                    )
                ]
            continue
        outside = entry.startswith("/") or re.match(r"[A-Za-z]:[\\/]", entry) is not None
        resolved = posixpath.normpath(posixpath.join(site, entry))
        if outside or resolved == ".." or resolved.startswith("../"):
            return [
                Finding(
                    Level.ERROR,
                    "pth-outside",
                    distribution,
                    path,
                    f"adds {entry} to sys.path, outside the package (it does not exist on Lambda)",
                    fix,
                )
            ]
    return []


def check_direct_url(path: str, text: str, distribution: str) -> list[Finding]:
    """``direct_url.json`` of a distribution installed from a local folder or in editable mode."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    url = data.get("url", "") if isinstance(data, dict) else ""
    if not isinstance(url, str) or not url.startswith("file:"):
        return []
    editable = bool(data.get("dir_info", {}).get("editable")) if isinstance(data.get("dir_info"), dict) else False
    what = "an editable install" if editable else "a local path install"
    return [
        Finding(
            Level.ERROR,
            "direct-url",
            distribution,
            path,
            f"{what} from {url}, outside the package",
            "install the project from a wheel or an index; pip-lambda install refuses -e and builds no local paths",
        )
    ]
