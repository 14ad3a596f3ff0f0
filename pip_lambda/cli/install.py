"""``pip-lambda install`` and ``pip-lambda build``: settings to requests, builds, summaries and the report."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from pip_lambda.cli.arguments import parse_command
from pip_lambda.cli.help import BUILD_EPILOG, INSTALL_EPILOG
from pip_lambda.cli.terminal import configure_logging, end_status, paint, use_colour
from pip_lambda.config.files import ProjectConfig, find_config
from pip_lambda.config.request import request_for
from pip_lambda.config.sources import Setting, Source, command_line_source, describe, environment_source, settings_for
from pip_lambda.config.values import ConfigError
from pip_lambda.errors import EnvironmentProblem, UsageError
from pip_lambda.pipeline import build, check_request
from pip_lambda.plan.request import BuildRequest
from pip_lambda.plan.selection import PIP, Selection
from pip_lambda.plan.sharing import check_functions, layer_request
from pip_lambda.report.document import make_report, write_report
from pip_lambda.report.summary import shared_layer_lines, summary_lines
from pip_lambda.report.treemap import PAGE_START, render, write_page
from pip_lambda.result import BuildResult
from pip_lambda.shared import SharedBuild, build_shared, built, resolved
from pip_lambda.tree.outputs import REPORT, SBOM, SideOutput, check_side_output

log = logging.getLogger(__name__)

PAGE = SideOutput("the size report", "--size-report", "build/size.html", start=PAGE_START.encode())


def _settings(
    namespace: argparse.Namespace, environment: Source, project: ProjectConfig, name: str | None
) -> dict[str, Setting]:
    settings = settings_for(command_line_source(vars(namespace)), environment, project, name)
    configure_logging(settings["verbose"].value - settings["quiet"].value)
    log.debug("settings%s:\n%s", f" of {name}" if name else "", "\n".join(describe(settings)))
    return settings


def _summarise(name: str | None, result: BuildResult) -> None:
    """The build's warnings, then its summary (unless -q)."""
    end_status()
    for warning in result.warnings:
        log.warning(warning)
    if result.request.verbosity >= 0:
        lines = summary_lines(result)
        title = f"{name}: {lines[0]}" if name else lines[0]
        print("\n".join([paint(title, "bold", use_colour(sys.stdout)), *lines[1:]]))


def _write_report(
    results: Sequence[tuple[str | None, BuildResult]],
    report: str | None,
    page: str | None,
    shared: SharedBuild | None = None,
) -> None:
    if report:
        write_report(make_report(results, shared), Path(report))
        log.info("wrote the report %s", report)
    if page:
        packages = [(_title(name, result), result.size) for name, result in results if result.size is not None]
        write_page(render(packages), Path(page))
        log.info("wrote the size report %s", page)


def _title(name: str | None, result: BuildResult) -> str:
    request = result.request
    where = request.target_dir if request.output is None else request.output
    return f"{name + ': ' if name else ''}{where} ({request.target})"


def run_install(argv: Sequence[str]) -> int:
    parsed = parse_command(argv, "pip-lambda install", INSTALL_EPILOG)
    if parsed is None:
        return 0
    namespace, pips = parsed
    if namespace.shared_layer:
        raise UsageError(
            "--shared-layer is an option of 'pip-lambda build', which builds the named targets together",
            hint="run 'pip-lambda build --shared-layer NAME'",
        )
    settings = _settings(namespace, environment_source(os.environ), find_config(), namespace.name)
    request = request_for(settings, pips, namespace.name)
    _check_report(settings["report"].value, settings["size-report"].value, [request])
    sboms = _check_sboms([(namespace.name, request, settings)], settings["report"].value)
    result = build(request)
    _summarise(namespace.name, result)
    _write_report([(namespace.name, result)], settings["report"].value, settings["size-report"].value)
    _write_sboms([(namespace.name, result)], sboms)
    return 0


def run_build(argv: Sequence[str]) -> int:
    parsed = parse_command(argv, "pip-lambda build", BUILD_EPILOG)
    if parsed is None:
        return 0
    namespace, pips = parsed
    project = find_config()
    names = [namespace.name] if namespace.name else project.target_names
    if not names:
        raise ConfigError(
            "no named targets to build",
            hint="define [tool.pip-lambda.targets.NAME] tables in pyproject.toml, or use 'pip-lambda install'",
        )
    environment = environment_source(os.environ)
    base = _settings(namespace, environment, project, None)
    settings = {name: _settings(namespace, environment, project, name) for name in [*names, *project.target_names]}
    for name in settings:
        if settings[name]["shared-layer"] != base["shared-layer"]:
            raise ConfigError(
                f"{settings[name]['shared-layer'].source}: shared-layer names the layer all the function targets "
                "share, so one target cannot set it",
                hint="set shared-layer at the top level ([tool.pip-lambda]) or pass --shared-layer",
            )
    if base["shared-layer"].value:
        return _build_shared(namespace.name, pips, base, {name: settings[name] for name in project.target_names})
    requests = [(name, request_for(settings[name], pips, name)) for name in names]
    _check_distinct(requests)
    _check_report(base["report"].value, base["size-report"].value, [request for _, request in requests])
    sboms = _check_sboms([(name, request, settings[name]) for name, request in requests], base["report"].value)
    results: list[tuple[str | None, BuildResult]] = []
    for name, request in requests:
        results.append((name, build(request)))
        _summarise(*results[-1])
    _write_report(results, base["report"].value, base["size-report"].value)
    _write_sboms(results, sboms)
    return 0


def _build_shared(
    only: str | None, pips: Sequence[str], base: dict[str, Setting], targets: dict[str, dict[str, Setting]]
) -> int:
    """``build --shared-layer``: other layer targets first, then the shared layer and the functions deployed with it."""
    layer, functions, others = _shared_requests(only, pips, base, targets)
    every = [*others, layer, *functions]
    _check_report(base["report"].value, base["size-report"].value, [request for _, request in every])
    sboms = _check_sboms([(name, request, targets.get(name, base)) for name, request in every], base["report"].value)
    results: list[tuple[str | None, BuildResult]] = []

    def summarised(name: str, request: BuildRequest, selection: Selection | None = None) -> BuildResult:
        result = build(request) if selection is None else built(name, request, selection)
        results.append((name, result))
        _summarise(name, result)
        return result

    for name, request in others:
        summarised(name, request)
    shared = build_shared(layer, functions, resolve=resolved, build=summarised, only=only)
    if layer[1].verbosity >= 0:
        lines = shared_layer_lines(shared)
        print("\n".join([paint(lines[0], "bold", use_colour(sys.stdout)), *lines[1:]]))
    _write_report(results, base["report"].value, base["size-report"].value, shared)
    _write_sboms(results, sboms)
    return 0


def _shared_requests(
    only: str | None, pips: Sequence[str], base: dict[str, Setting], targets: dict[str, dict[str, Setting]]
) -> tuple[tuple[str, BuildRequest], list[tuple[str, BuildRequest]], list[tuple[str, BuildRequest]]]:
    """The shared layer's request, the function targets' (every named target but the layer, other layers and
    container images), and the others' (built as usual, none with --name), all checked before anything runs.

    The layer is a target like any other (build/NAME and build/NAME.zip by default);
    a table [tool.pip-lambda.targets.NAME] sets its options, but never its requirements.
    ``targets`` are the settings of every named target, ``base`` those of the top level.
    """
    shared = str(base["shared-layer"].value)
    if only == shared:
        raise UsageError(
            f"--name {shared} names the shared layer, which is built from what the functions share",
            hint="give --name a function target, or leave it out to build every target",
        )
    layer = (shared, layer_request(request_for(targets.get(shared, base), pips, shared)))
    functions: list[tuple[str, BuildRequest]] = []
    others: list[tuple[str, BuildRequest]] = []
    for name, settings in targets.items():
        if name == shared:
            continue
        request = request_for(settings, pips, name)
        if request.container:
            log.info("%s is a container image, which Lambda deploys without layers: built on its own", name)
        (others if request.layer or request.container else functions).append((name, request))
    if only is not None and only not in [name for name, _ in functions]:
        raise ConfigError(
            f"--name {only} is not a function target sharing the layer {shared}",
            hint=f"function targets: {', '.join(name for name, _ in functions) or 'none'}",
        )
    check_functions(shared, functions)
    others = [] if only is not None else others
    _check_distinct([*others, layer, *functions])
    # The layer's wheels are known once the functions are resolved; what it writes is checked now.
    check_request(replace(layer[1], selection=Selection((), PIP)))
    for _, request in functions:
        check_request(request)
    return layer, functions, others


def _check_distinct(requests: Sequence[tuple[str | None, BuildRequest]]) -> None:
    """Two targets writing the same folder or zip would overwrite each other's package."""
    seen: dict[Path, str | None] = {}
    for name, request in requests:
        for path in (request.target_dir, request.output):
            if path is None:
                continue
            other = seen.setdefault(path.resolve(), name)
            if other != name:
                raise ConfigError(
                    f"targets {other} and {name} both write {path}",
                    hint="give each target its own target and output, or leave them to the defaults (build/NAME)",
                )


def _check_report(report: str | None, page: str | None, requests: Sequence[BuildRequest]) -> None:
    """The report and the size page must not overwrite a package or each other, land in a target, or replace a
    file that is no report (no page)."""
    outputs = [request.output for request in requests if request.output is not None]
    targets = [request.target_dir for request in requests]
    if report:
        check_side_output(Path(report), REPORT, targets, outputs)
    if page:
        check_side_output(Path(page), PAGE, targets, [*outputs, *([Path(report)] if report else [])])


def require_sbom_library() -> None:
    """--sbom needs the optional cyclonedx-python-lib: exit 7 naming the extra when it is missing."""
    missing = [name for name in ("cyclonedx", "packageurl") if importlib.util.find_spec(name) is None]
    if missing:
        raise EnvironmentProblem(
            f"--sbom needs cyclonedx-python-lib, which is not installed (no module {missing[0]})",
            hint="pip install 'pip-lambda[sbom]' (or pip install cyclonedx-python-lib)",
        )


def _check_sboms(
    builds: Sequence[tuple[str | None, BuildRequest, Mapping[str, Setting]]], report: str | None
) -> dict[str | None, Path]:
    """Each build's --sbom path, checked before anything runs: the library is there, the paths are safe and distinct."""
    wanted = {name: Path(settings["sbom"].value) for name, _, settings in builds if settings["sbom"].value}
    if not wanted:
        return {}
    require_sbom_library()
    targets = [request.target_dir for _, request, _ in builds]
    others = [request.output for _, request, _ in builds if request.output is not None]
    others += [Path(report)] if report else []
    seen: dict[Path, str | None] = {}
    for name, path in wanted.items():
        check_side_output(path, SBOM, targets, others)
        other = seen.setdefault(path.resolve(), name)
        if other != name:
            raise ConfigError(
                f"targets {other} and {name} both write the bill of materials {path}",
                hint="give each target its own sbom key in its [tool.pip-lambda.targets.NAME] table",
            )
    return wanted


def _write_sboms(results: Sequence[tuple[str | None, BuildResult]], sboms: Mapping[str | None, Path]) -> None:
    if not sboms:
        return
    from pip_lambda.report.sbom import build_package, write_sbom  # here: the library is an optional extra

    for name, result in results:
        if name in sboms:
            write_sbom(build_package(result, name), sboms[name])
            log.info("wrote the bill of materials %s", sboms[name])
