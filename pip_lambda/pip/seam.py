"""Run pip's command line with environment markers evaluated for the Lambda target.

Why this module exists: pip evaluates environment markers (``python_version``,
``platform_machine``, ``sys_platform``…) for the interpreter that runs it, even
with ``--platform`` and ``--python-version``, which only filter wheel files
(pypa/pip#11664).  No pip option or setting changes that, so a build on macOS,
on arm64 or under another Python would install the wrong set of dependencies.

Every marker evaluation in pip goes through one function,
``pip._vendor.packaging.markers.default_environment``, looked up at call time.
This module, run as ``python -m pip_lambda.pip.seam <pip arguments>`` in pip's
own subprocess, replaces that function with one that overlays the target's
values (JSON in ``PIP_LAMBDA_MARKERS``), then hands over to pip's command line
unchanged.  It is the only place pip-lambda touches pip internals, imports
nothing but the standard library and pip, and is tested against the oldest and
newest pip pip-lambda supports.
"""

from __future__ import annotations

import json
import os
import sys

MARKERS_VARIABLE = "PIP_LAMBDA_MARKERS"


def install_target_markers(values: dict[str, str]) -> None:
    """Make pip's marker evaluation see ``values`` instead of this interpreter's."""
    from pip._vendor.packaging import markers

    host_environment = markers.default_environment

    def target_environment() -> dict[str, str]:
        environment: dict[str, str] = dict(host_environment())  # type: ignore[arg-type]
        environment.update(values)
        return environment

    markers.default_environment = target_environment  # type: ignore[assignment]


def main(argv: list[str]) -> int:
    values = json.loads(os.environ.get(MARKERS_VARIABLE, "{}"))
    install_target_markers(values)
    from pip._internal.cli.main import main as pip_main

    return int(pip_main(argv) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
