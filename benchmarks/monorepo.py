"""Issue 13's monorepo benchmark: 20 functions, each the api workload and one extra package, built one after
the other from their pylock.toml files (first builds, tool caches empty, wheels from the local wheelhouse),
then rebuilt after one pin moved in all 20 (the api lock's moved package); pip-lambda's total against uv's.
Medians of ``runs`` interleaved runs (pip-lambda's run 1, uv's run 1, pip-lambda's run 2...).
"""

from __future__ import annotations

from pathlib import Path

from common import Measure, fresh, timed
from lockcase import Tools
from locks import Lock, Locker

EXTRAS = (
    "PyJWT", "tabulate", "attrs", "greenlet", "boto3", "pytz", "simplejson", "cachetools", "click", "jinja2",
    "pyyaml", "tenacity", "structlog", "backoff", "wrapt", "toolz", "ujson", "python-json-logger", "marshmallow",
    "jsonschema",
)  # fmt: skip
PHASES = ("first", "bump")


def monorepo_locks(locker: Locker, api: list[str], package: str, old: str, count: int) -> list[tuple[Lock, Lock]]:
    """The lock of each of the first ``count`` functions, before and after the bump."""
    functions = enumerate(EXTRAS[:count])
    return [locker.moved(f"function{index:02}", [*api, extra], package, old) for index, extra in functions]


def monorepo_case(
    work: Path, env: dict[str, str], tools: Tools, functions: list[tuple[Lock, Lock]], runs: int
) -> dict[str, Measure]:
    """``{"<tool> first|bump": Measure}``: the seconds of all 20 builds of each phase, per run."""
    names = [tool for tool in tools.names if tool != "manual"]
    results = {f"{tool} {phase}": Measure() for tool in names for phase in PHASES}
    for run in range(runs):
        for tool in names:
            root = fresh(work / "monorepo" / tool)
            caches = root / "caches"
            tool_env = dict(
                env,
                PIP_CACHE_DIR=str(caches / "pip"),
                PIP_LAMBDA_CACHE_DIR=str(caches / "pl"),
                UV_CACHE_DIR=str(caches / "uv"),
            )
            for phase in PHASES:
                total = 0.0
                for index, (base, bumped) in enumerate(functions):
                    project = root / f"function{index:02}"
                    project.mkdir(exist_ok=True)
                    total += timed(tools.command(tool, base if phase == "first" else bumped), tool_env, project)[0]
                results[f"{tool} {phase}"].seconds.append(total)
                print(f"    run {run + 1} monorepo {phase:5} {tool:10} {total:7.2f} s", flush=True)
    return results
