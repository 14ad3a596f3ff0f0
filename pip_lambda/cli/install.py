"""``pip-lambda install`` and ``pip-lambda build``: settings to requests, builds, summaries and the report."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pip_lambda.cli.help import BUILD_EPILOG, INSTALL_EPILOG
from pip_lambda.cli.terminal import configure_logging, end_status, paint, use_colour
from pip_lambda.config.files import ProjectConfig, find_config
from pip_lambda.config.options import build_parser, split_argv
from pip_lambda.config.request import request_for
from pip_lambda.config.sources import Setting, Source, command_line_source, describe, environment_source, settings_for
from pip_lambda.config.values import ConfigError
from pip_lambda.pipeline import build
from pip_lambda.plan.request import BuildRequest
from pip_lambda.report.document import make_report, write_report
from pip_lambda.report.summary import summary_lines
from pip_lambda.report.treemap import PAGE_START, render, write_page
from pip_lambda.result import BuildResult
from pip_lambda.tree.outputs import check_page, check_report

log = logging.getLogger(__name__)


def _parse(argv: Sequence[str], prog: str, epilog: str) -> tuple[argparse.Namespace, list[str]] | None:
    """pip-lambda's options and pip's arguments; None when help was asked for (and printed)."""
    parser = build_parser(
        prog,
        usage="%(prog)s [options] [pip install arguments...]",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    before_separator = argv[: argv.index("--")] if "--" in argv else argv
    if "-h" in before_separator or "--help" in before_separator:
        print(parser.format_help(), end="")
        return None
    ours, pips = split_argv(argv)
    namespace = parser.parse_args(ours)
    configure_logging(namespace.verbose - namespace.quiet)
    return namespace, pips


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


def _write_report(results: Sequence[tuple[str | None, BuildResult]], report: str | None, page: str | None) -> None:
    if report:
        write_report(make_report(results), Path(report))
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
    parsed = _parse(argv, "pip-lambda install", INSTALL_EPILOG)
    if parsed is None:
        return 0
    namespace, pips = parsed
    settings = _settings(namespace, environment_source(os.environ), find_config(), namespace.name)
    request = request_for(settings, pips, namespace.name)
    _check_report(settings["report"].value, settings["size-report"].value, [request])
    result = build(request)
    _summarise(namespace.name, result)
    _write_report([(namespace.name, result)], settings["report"].value, settings["size-report"].value)
    return 0


def run_build(argv: Sequence[str]) -> int:
    parsed = _parse(argv, "pip-lambda build", BUILD_EPILOG)
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
    requests = [(name, request_for(_settings(namespace, environment, project, name), pips, name)) for name in names]
    _check_distinct(requests)
    _check_report(base["report"].value, base["size-report"].value, [request for _, request in requests])
    results: list[tuple[str | None, BuildResult]] = []
    for name, request in requests:
        results.append((name, build(request)))
        _summarise(*results[-1])
    _write_report(results, base["report"].value, base["size-report"].value)
    return 0


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
        check_report(Path(report), targets, outputs)
    if page:
        check_page(
            Path(page), PAGE_START.encode(), "--size-report", targets, [*outputs, *([Path(report)] if report else [])]
        )
