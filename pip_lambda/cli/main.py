"""The command line: parses options, runs a build, prints results and turns errors into exit codes."""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pip_lambda import __version__
from pip_lambda.checks.findings import table, to_json
from pip_lambda.checks.verify import VerifyOptions, summary, verify_path
from pip_lambda.cli.cache import cache_command
from pip_lambda.cli.terminal import TerminalHandler, live_status, paint, use_colour
from pip_lambda.config.options import VERIFY_OPTIONS, build_parser, split_argv
from pip_lambda.config.settings import (
    ConfigError,
    Layer,
    ProjectConfig,
    Setting,
    command_line_layer,
    describe,
    environment_layer,
    find_config,
    pip_arguments,
    settings_for,
)
from pip_lambda.errors import EXIT_OK, EXIT_VERIFY_FAILED, PipLambdaError, UsageError
from pip_lambda.pip.args import parse_pip_args
from pip_lambda.pipeline import BuildRequest, BuildResult, build
from pip_lambda.plan.runtimes import default_runtime, get_runtime
from pip_lambda.plan.target import Arch, Target
from pip_lambda.report.document import make_report, write_report
from pip_lambda.report.summary import summary_lines
from pip_lambda.system.redact import RedactingFilter, redact, remember, remember_environment
from pip_lambda.system.signals import Terminated, signals_raise
from pip_lambda.trim.steps import TrimOptions

log = logging.getLogger("pip_lambda")

EXIT_INTERRUPTED = 130
EXIT_UNEXPECTED = 70

INSTALL_EPILOG = """\
Any other argument is passed to 'pip install' unchanged: -r, -c, -i, --extra-index-url,
--find-links, --no-index, --no-deps, --require-hashes, --pre and requirement specifiers.
pip-lambda adds --target, one --platform per tag the runtime can load, --implementation cp,
--python-version, --only-binary=:all: and --no-compile, and evaluates environment markers
for the target.

Settings also come from PIP_LAMBDA_<OPTION> variables, [tool.pip-lambda] in pyproject.toml
and [pip-lambda] in setup.cfg (keys named after the long options, plus requirements and
pip-args); the command line wins, then the environment, pyproject.toml, setup.cfg.
-v shows where each setting came from.

examples:
  # a function: dependencies and the handler, for this interpreter's Python -> build/lambda.zip
  pip-lambda install -r requirements.txt --code app.py

  # a layer (everything under python/) for python3.13 -> build/layer.zip
  pip-lambda install --layer --runtime python3.13 -r requirements.txt

  # arm64 (Graviton) for python3.12, written where you want it
  pip-lambda install --runtime python3.12 --arch arm64 -r requirements.txt -o dist/fn-arm64.zip

  # a lock file with hashes: pip installs exactly what it lists
  pip-lambda install --no-deps --require-hashes -r requirements.lock --code app.py

  # the named target [tool.pip-lambda.targets.api], with a JSON report
  pip-lambda install --name api --report build/api.json
"""

BUILD_EPILOG = """\
Builds every named target of the configuration ([tool.pip-lambda.targets.NAME] in
pyproject.toml, [pip-lambda.targets.NAME] in setup.cfg), each into build/NAME and
build/NAME.zip unless its table says otherwise. Options and pip arguments given here
apply to every target.

examples:
  pip-lambda build                                   # every named target
  pip-lambda build --report build/report.json        # one report for all of them
"""

TOP_HELP = f"""\
usage: pip-lambda install [options] [pip install arguments...]
       pip-lambda verify [options] PATH

Build an AWS Lambda deployment package (function or layer zip) with pip,
correct for the Lambda runtime and architecture whatever machine runs it.

commands:
  install    install requirements for a Lambda runtime and write a reproducible zip
  build      build every named target of pyproject.toml or setup.cfg
  verify     check that a zip or folder, built by any tool, will load on a Lambda runtime
  cache      show (info), trim (prune) or delete (purge) the build cache

'pip-lambda install --help' and 'pip-lambda verify --help' list the options.  pip-lambda {__version__}
"""


def configure_logging(verbosity: int) -> None:
    """-v shows debug lines, -q hides progress, -qq hides warnings too."""
    level = {1: logging.DEBUG, 0: logging.INFO, -1: logging.WARNING}.get(
        verbosity, logging.DEBUG if verbosity > 0 else logging.ERROR
    )
    for old in log.handlers:
        old.close()
    # pip streams its own output with -v, so the live status line is for the default verbosity only.
    live = verbosity == 0 and live_status(sys.stderr)
    handler = TerminalHandler(sys.stderr, colour=use_colour(sys.stderr), live=live)
    handler.addFilter(RedactingFilter())
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


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
    namespace: argparse.Namespace, environment: Layer, project: ProjectConfig, name: str | None
) -> dict[str, Setting]:
    settings = settings_for(command_line_layer(vars(namespace)), environment, project, name)
    configure_logging(settings["verbose"].value - settings["quiet"].value)
    log.debug("settings%s:\n%s", f" of {name}" if name else "", "\n".join(describe(settings)))
    return settings


def _target(settings: Mapping[str, Setting]) -> Target:
    # Values from files and variables were checked when read, so an error here is the command line's.
    runtime = get_runtime(settings["runtime"].value) if settings["runtime"].value else default_runtime()
    arch = Arch.parse(settings["arch"].value) if settings["arch"].value else Arch.X86_64
    if str(arch) not in runtime.architectures:
        raise UsageError(
            f"{runtime.name} does not run on {arch}", hint=f"choose one of: {', '.join(runtime.architectures)}"
        )
    return Target(runtime, arch)


def _request(settings: Mapping[str, Setting], pips: Sequence[str], name: str | None) -> BuildRequest:
    """Turn resolved settings into a build request."""
    target = _target(settings)
    notice = target.runtime.deprecation_notice(datetime.date.today())
    if notice:
        log.warning(notice)
    layer = bool(settings["layer"].value)
    default_dir = f"build/{name}" if name else ("build/layer" if layer else "build/lambda")
    target_dir = Path(settings["target"].value or default_dir)
    output = settings["output"].value or f"{target_dir}.zip"
    pip_tokens = pip_arguments(settings, pips)
    remember(pip_tokens)  # index URLs with tokens may come from the configuration too
    return BuildRequest(
        target=target,
        pip_args=parse_pip_args(pip_tokens, target),
        target_dir=target_dir,
        output=None if settings["no-zip"].value else Path(output),
        layer=layer,
        code=tuple(Path(path) for path in settings["code"].value),
        verbosity=settings["verbose"].value - settings["quiet"].value,
        verify=VerifyOptions(
            enabled=not settings["no-verify"].value,
            import_test=bool(settings["verify-import"].value or settings["handler"].value),
            handler=settings["handler"].value or None,
            python=settings["python"].value or None,
        ),
        allow_sdist=tuple(settings["allow-sdist"].value),
        trim=TrimOptions(
            slim=bool(settings["slim"].value),
            strip=bool(settings["strip"].value),
            compile=bool(settings["compile"].value),
            exclude=tuple(settings["exclude"].value),
            exclude_packages=tuple(settings["exclude-package"].value),
            exclude_runtime_provided=bool(settings["exclude-runtime-provided"].value),
            python=settings["python"].value or None,
        ),
        allow_outside_project=bool(settings["allow-outside-project"].value),
        use_cache=not settings["no-cache"].value,
        refresh=bool(settings["refresh"].value),
    )


def _summarise(name: str | None, result: BuildResult) -> None:
    """The build's warnings, then its summary (unless -q)."""
    end_status()
    for warning in result.warnings:
        log.warning(warning)
    if result.request.verbosity >= 0:
        lines = summary_lines(result)
        title = f"{name}: {lines[0]}" if name else lines[0]
        print("\n".join([paint(title, "bold", use_colour(sys.stdout)), *lines[1:]]))


def _write_report(results: Sequence[tuple[str | None, BuildResult]], report: str | None) -> None:
    if report:
        write_report(make_report(results), Path(report))
        log.info("wrote the report %s", report)


def run_install(argv: Sequence[str]) -> int:
    parsed = _parse(argv, "pip-lambda install", INSTALL_EPILOG)
    if parsed is None:
        return 0
    namespace, pips = parsed
    settings = _settings(namespace, environment_layer(os.environ), find_config(), namespace.name)
    result = build(_request(settings, pips, namespace.name))
    _summarise(namespace.name, result)
    _write_report([(namespace.name, result)], settings["report"].value)
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
    environment = environment_layer(os.environ)
    base = _settings(namespace, environment, project, None)
    requests = [(name, _request(_settings(namespace, environment, project, name), pips, name)) for name in names]
    _check_distinct(requests)
    results: list[tuple[str | None, BuildResult]] = []
    for name, request in requests:
        results.append((name, build(request)))
        _summarise(*results[-1])
    _write_report(results, base["report"].value)
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


VERIFY_EPILOG = """\
Runtime, architecture, --layer, --handler and --python default as for 'install'
(PIP_LAMBDA_* variables, pyproject.toml, setup.cfg).

checks (each finding names the distribution, the file, the reason and the fix):
  wheel-tags        each distribution's WHEEL tags load on the runtime (CPython version and ABI,
                    glibc ceiling, architecture; no musllinux, macOS, Windows, PyPy, free-threaded)
  binary-format     files named like libraries are ELF, not Mach-O (macOS) or PE (Windows)
  elf-machine       every ELF file is 64-bit for the architecture (x86-64 or AArch64)
  elf-glibc         GLIBC_x.y versions within the runtime's glibc; GLIBC_PRIVATE is an error
  extension-suffix  extension modules carry a suffix the runtime imports
  elf-needed        (warning) needed libraries are in the package or on every Lambda runtime
  pth-outside, direct-url   editable or local-path installs that point outside the package
  sdk-partial       (warning) boto3, botocore and s3transfer bundled only partly
  layout            a layer's python/ folder and site-packages version
  import            (--import) every top-level module imports in the target's Python

exit codes: 0 no errors (warnings allowed), 4 errors found, 2 usage error.
"""


def run_verify(argv: Sequence[str]) -> int:
    parser = build_parser(
        "pip-lambda verify",
        VERIFY_OPTIONS,
        usage="%(prog)s [options] PATH",
        description="Check that a Lambda zip or folder, built by any tool, will load on the runtime.",
        epilog=VERIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="store_true", help="show this help and exit")
    parser.add_argument("path", metavar="PATH", nargs="?", help="the zip file or folder to verify")
    namespace = parser.parse_args(argv)
    if namespace.help:
        print(parser.format_help(), end="")
        return EXIT_OK
    if namespace.path is None:
        raise UsageError("verify needs the PATH of a zip file or folder", hint="see 'pip-lambda verify --help'")
    verbosity = namespace.verbose - namespace.quiet
    configure_logging(verbosity)
    command_line = command_line_layer(vars(namespace), VERIFY_OPTIONS)
    settings = settings_for(command_line, environment_layer(os.environ), find_config())
    target = _target(settings)
    path = Path(namespace.path)
    options = VerifyOptions(
        import_test=getattr(namespace, "import") or bool(settings["handler"].value),
        handler=settings["handler"].value or None,
        python=settings["python"].value or None,
    )
    result = verify_path(path, target, bool(settings["layer"].value), options)
    end_status()
    if namespace.json:
        about: dict[str, object] = {"path": str(path), "runtime": target.runtime.name, "arch": str(target.arch)}
        about.update(layer=bool(settings["layer"].value), distributions=result.distributions, files=result.files)
        about["import_test"] = result.import_status.as_json() if result.import_status else None
        print(to_json(result.findings, **about))
        return EXIT_OK if result.ok else EXIT_VERIFY_FAILED
    if result.findings:
        print(table(result.findings))
    if verbosity >= 0 or not result.ok:
        print(summary(result, path, target))
    return EXIT_OK if result.ok else EXIT_VERIFY_FAILED


def run_cache(argv: Sequence[str]) -> int:
    lines = cache_command(argv)
    if lines:
        print("\n".join(lines))
    return 0


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "install": run_install,
    "build": run_build,
    "verify": run_verify,
    "cache": run_cache,
}


def end_status() -> None:
    """End the live status line, if one is drawn, before printing anything else."""
    for handler in log.handlers:
        handler.flush()


def report_error(error: PipLambdaError) -> None:
    end_status()
    if error.detail:
        print(redact(error.detail.rstrip()), file=sys.stderr)
    line = f"{paint('error:', 'red', use_colour(sys.stderr))} {error.message}"
    if error.hint:
        line += f"; {error.hint}"
    print(redact(line), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run pip-lambda with ``argv`` (default: the process arguments) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(TOP_HELP, end="")
        return 0 if args else 2
    if args[0] == "--version":
        print(f"pip-lambda {__version__} from {Path(__file__).parent} (Python {sys.version.split()[0]})")
        return 0
    command = COMMANDS.get(args[0])
    remember_environment(os.environ)
    remember(args)
    try:
        with signals_raise():
            if command is None:
                raise UsageError(f"unknown command {args[0]!r}", hint=f"choose one of: {', '.join(COMMANDS)}")
            return command(args[1:])
    except PipLambdaError as error:
        report_error(error)
        return error.exit_code
    except KeyboardInterrupt:
        end_status()
        print("error: interrupted; the previous package was left as it was", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated as stopped:
        end_status()
        print(f"error: stopped by {stopped.name}; the previous package was left as it was", file=sys.stderr)
        return stopped.exit_code
    except Exception as error:  # noqa: BLE001 - the last line of defence against a traceback
        end_status()
        if log.isEnabledFor(logging.DEBUG):
            print(redact(traceback.format_exc()), end="", file=sys.stderr)
        print(
            redact(f"error: unexpected {type(error).__name__}: {error}; rerun with -v for the traceback and report it"),
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED


def entrypoint() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
