"""pip-lambda's own options: one table, from which the command line is built and split from pip's."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from pip_lambda.errors import UsageError
from pip_lambda.pip.args import PIP_TABLE, SEPARATOR, OptionTable, PipOption, Role, Token, tokenize

Kind = Literal["str", "bool", "list", "count"]


@dataclass(frozen=True)
class Option:
    """One option of ``pip-lambda install``; ``name`` is its long form without dashes."""

    name: str
    kind: Kind
    help: str
    short: str | None = None
    metavar: str | None = None
    forwarded_to_pip: bool = False
    """Also handed to pip (pip's -q/-v), besides being read by pip-lambda."""
    path: bool = False
    """The value names a file or folder: relative paths in a configuration file are relative to that file."""
    configurable: bool = True
    """Also settable as a configuration key and a ``PIP_LAMBDA_<NAME>`` variable (see config.py)."""

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    @property
    def takes_value(self) -> bool:
        return self.kind in ("str", "list")


WITH_LAYER = Option(
    "with-layer",
    "list",
    "a layer zip the function is deployed with (repeatable, at most 5, in Lambda's order): the size limit counts "
    "the function and its layers together, and verification sees them at /opt",
    metavar="ZIP",
    path=True,
)

INSTALL_OPTIONS: tuple[Option, ...] = (
    Option("runtime", "str", "Lambda runtime, e.g. python3.12 (default: this interpreter's version)", metavar="NAME"),
    Option("arch", "str", "x86_64 (alias amd64, the default) or arm64 (alias aarch64)", metavar="ARCH"),
    Option(
        "target",
        "str",
        "folder for the installed tree (default: build/lambda, or build/layer with --layer)",
        short="-t",
        metavar="DIR",
        path=True,
    ),
    Option(
        "output", "str", "zip file to write (default: the target folder + .zip)", short="-o", metavar="ZIP", path=True
    ),
    Option("layer", "bool", "build a layer: everything under python/ in the zip"),
    WITH_LAYER,
    Option(
        "code",
        "list",
        "function source file or folder to add at the package root (repeatable)",
        metavar="PATH",
        path=True,
    ),
    Option(
        "lock",
        "str",
        "install exactly what a lock file chose for the target: pylock.toml or pylock.NAME.toml (extras as "
        "pylock.toml[aws]), or a uv.lock or poetry.lock converted by uv or poetry (default without requirements: "
        "pylock.lambda.toml, pylock.toml, uv.lock, poetry.lock, then requirements.txt of the project folder)",
        metavar="FILE",
        path=True,
    ),
    Option("extra", "list", "an extra of the lock file to install (repeatable)", metavar="NAME"),
    Option(
        "group",
        "list",
        "a dependency group of the lock file to install; without a lock, pip's --group (repeatable)",
        metavar="NAME",
    ),
    Option("no-zip", "bool", "stop after the target folder; write no zip"),
    Option("no-cache", "bool", "neither reuse nor record builds in the cache (pip's own cache is untouched)"),
    Option("refresh", "bool", "rebuild everything with pip, ignoring the cache, then update the cache"),
    Option("quiet", "count", "less output (repeatable; also passed to pip)", short="-q", forwarded_to_pip=True),
    Option(
        "verbose",
        "count",
        "more output, pip's included (repeatable; also passed to pip)",
        short="-v",
        forwarded_to_pip=True,
    ),
    Option(
        "report",
        "str",
        "write a JSON report of the build (schema: pip_lambda/data/report.schema.json)",
        metavar="FILE",
        path=True,
    ),
    Option(
        "sbom",
        "str",
        "write a CycloneDX 1.6 JSON bill of materials of the package (needs pip install 'pip-lambda[sbom]')",
        metavar="FILE",
        path=True,
    ),
    Option(
        "name",
        "str",
        "build the named target [tool.pip-lambda.targets.NAME] of pyproject.toml or setup.cfg",
        metavar="NAME",
        configurable=False,
    ),
    Option(
        "shared-layer",
        "str",
        "build only: put every distribution that all the function targets install identically into one layer "
        "target NAME (build/NAME.zip), leave it out of each function and verify each function with it",
        metavar="NAME",
    ),
    Option("no-verify", "bool", "skip verifying the package before it replaces the last one"),
    Option(
        "verify-import",
        "bool",
        "also import every top-level module in an interpreter of the target's Python "
        "(RUNS THE PACKAGES' IMPORT-TIME CODE on this machine, with an empty HOME and no credentials)",
    ),
    Option(
        "handler",
        "str",
        "also import the handler, e.g. app.handler (implies --verify-import)",
        metavar="MODULE.FUNCTION",
    ),
    Option(
        "python",
        "str",
        "interpreter of the target's Python version and architecture (default: found on PATH, pyenv or py)",
        metavar="PATH",
    ),
    Option(
        "allow-sdist",
        "list",
        "build NAME's sdist on this machine into a wheel when no wheel exists (RUNS THE SDIST'S BUILD CODE here; "
        "only pure-Python wheels are accepted; repeatable, or :all:)",
        metavar="NAME",
    ),
    Option(
        "slim",
        "bool",
        "leave out what code never needs at run time, by named rules: tests/ and docs/ folders inside packages "
        "that the package never imports, type stubs, C/C++/Cython sources and headers, RECORD; "
        ".dist-info METADATA, entry points and licences stay",
    ),
    Option(
        "strip",
        "bool",
        "strip debug symbols from shared objects with the system 'strip', keeping any file that fails a check; "
        "can break some auditwheel-repaired libraries, so test the package",
    ),
    Option(
        "exclude",
        "list",
        "leave out paths matching a glob, relative to the package root: 'tests' or '*.md' at any depth, "
        "'pkg/data' from the root, ** for any folders (repeatable)",
        metavar="PATTERN",
    ),
    Option(
        "exclude-package",
        "list",
        "leave out a whole installed distribution: the files its RECORD lists and its .dist-info (repeatable)",
        metavar="NAME",
    ),
    Option(
        "exclude-runtime-provided",
        "bool",
        "leave out the AWS SDK every Lambda runtime has (boto3, botocore, s3transfer, jmespath) "
        "and what only they need, as one unit",
    ),
    Option(
        "compile",
        "bool",
        "add bytecode for the target Python (PEP 552 unchecked-hash), written by an interpreter of the runtime's "
        "version found on this machine or given with --python; faster cold starts, a larger package",
    ),
    Option(
        "allow-outside-project",
        "bool",
        "no longer needed (a target may be anywhere that is safe to replace); accepted so older scripts still run",
    ),
    Option(
        "size-report",
        "str",
        "write a self-contained HTML page of what takes the space: a treemap of the distributions and their largest "
        "folders, coloured by the requirement that pulled them in",
        metavar="FILE.html",
        path=True,
    ),
    Option(
        "container",
        "str",
        "instead of a zip, write a Lambda container-image build context to DIR: a Dockerfile FROM "
        "public.ecr.aws/lambda/python for the target, and the verified tree (10 GB limit instead of 250 MB)",
        metavar="DIR",
        path=True,
    ),
)


def install_option(name: str) -> Option:
    """The option of ``install`` called ``name`` (other commands share it, and its key)."""
    return next(option for option in INSTALL_OPTIONS if option.name == name)


LOCK_OPTIONS: tuple[Option, ...] = (
    install_option("runtime"),
    install_option("arch"),
    Option(
        "output",
        "str",
        "the lock file to write, named pylock.toml or pylock.NAME.toml "
        "(default: the configured lock when it is one, else pylock.toml)",
        short="-o",
        metavar="FILE",
        configurable=False,
    ),
    Option("extra", "list", "also lock these optional dependencies of [project] (repeatable)", metavar="NAME"),
    Option(
        "group", "list", "also lock this dependency group of pyproject.toml (pip's --group; repeatable)", metavar="NAME"
    ),
    install_option("quiet"),
    install_option("verbose"),
)
"""The options of ``pip-lambda lock``; runtime, arch, extra and group share their keys with ``install``."""

VERIFY_OPTIONS: tuple[Option, ...] = (
    INSTALL_OPTIONS[0],
    INSTALL_OPTIONS[1],
    Option("layer", "bool", "PATH is a layer: its code is under python/"),
    WITH_LAYER,
    Option(
        "import",
        "bool",
        "also import every top-level module in an interpreter of the target's Python "
        "(RUNS THE PACKAGES' IMPORT-TIME CODE on this machine, with an empty HOME and no credentials)",
    ),
    Option("handler", "str", "also import the handler, e.g. app.handler (implies --import)", metavar="MODULE.FUNCTION"),
    Option(
        "python",
        "str",
        "interpreter for --import (default: found on PATH, pyenv or py)",
        metavar="PATH",
    ),
    Option("json", "bool", "print the findings as JSON (schema in the README)"),
    Option("quiet", "count", "less output (repeatable)", short="-q"),
    Option("verbose", "count", "more output (repeatable)", short="-v"),
)

SIZE_OPTIONS: tuple[Option, ...] = (
    Option("runtime", "str", "Lambda runtime whose markers decide the chains, e.g. python3.12", metavar="NAME"),
    INSTALL_OPTIONS[1],
    Option("layer", "bool", "PATH is a layer: its code is under python/ (default: detected)"),
    Option("json", "bool", "print the analysis as JSON (schema pip-lambda-size, in the README)"),
    Option("html", "str", "also write the treemap page to FILE.html", metavar="FILE.html", configurable=False),
    Option("quiet", "count", "less output (repeatable)", short="-q"),
    Option("verbose", "count", "more output (repeatable)", short="-v"),
)


class _Parser(argparse.ArgumentParser):
    """An argparse parser that raises UsageError instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, hint=f"see '{self.prog} --help'")


def _table(options: Sequence[Option]) -> tuple[OptionTable, dict[str, Option]]:
    """pip's option table with pip-lambda's options laid over it (never abbreviated: argparse here does not)."""
    ours = {spelling: option for option in options for spelling in (option.flag, option.short) if spelling}
    laid = {spelling: PipOption((spelling,), option.takes_value, Role.PIP_LAMBDA) for spelling, option in ours.items()}
    return OptionTable({**PIP_TABLE.exact, **laid}, PIP_TABLE.abbreviable), ours


def _bundles(tokens: Iterable[Token]) -> Iterator[list[Token]]:
    """Tokens grouped by the argument they were written in (``-qU`` is one bundle of two)."""
    bundle: list[Token] = []
    for token in tokens:
        if bundle and not (token.bundled and not token.raw):
            yield bundle
            bundle = []
        bundle.append(token)
    if bundle:
        yield bundle


def split_argv(argv: Sequence[str], options: Sequence[Option] = INSTALL_OPTIONS) -> tuple[list[str], list[str]]:
    """Split ``argv`` into pip-lambda's tokens and pip's, keeping the order of each.

    Options of pip-lambda's table are ours (``-q``/``-v`` go to both); everything
    else, and everything after ``--``, is pip's.  A value of a pip option that
    takes one stays with it, so ``-r --layer`` names a file called ``--layer``.
    A bundle of short options is ours only when it repeats one of ours (``-qq``).
    """
    table, by_spelling = _table(options)
    ours: list[str] = []
    pips: list[str] = []
    separated = False
    for bundle in _bundles(tokenize(argv, table)):
        first = bundle[0]
        if separated or first.spelling == SEPARATOR:
            separated = True
            pips.extend(first.raw)
            continue
        mine = first.option is not None and first.option.role is Role.PIP_LAMBDA
        if not mine or any(token.spelling != first.spelling for token in bundle):
            pips.extend(first.raw)
            continue
        ours.extend(first.raw)
        if by_spelling[first.spelling or ""].forwarded_to_pip:
            pips.extend(first.raw)
    return ours, pips


def build_parser(prog: str, options: Sequence[Option] = INSTALL_OPTIONS, **kwargs: Any) -> argparse.ArgumentParser:
    """An argparse parser for the options of the table (pip's arguments are split off first)."""
    parser = _Parser(prog=prog, allow_abbrev=False, **kwargs)
    for option in options:
        names = [option.flag] + ([option.short] if option.short else [])
        if option.kind == "bool":
            parser.add_argument(*names, dest=option.dest, action="store_true", help=option.help)
        elif option.kind == "count":
            parser.add_argument(*names, dest=option.dest, action="count", default=0, help=option.help)
        elif option.kind == "list":
            parser.add_argument(
                *names, dest=option.dest, action="append", default=[], metavar=option.metavar, help=option.help
            )
        else:
            parser.add_argument(*names, dest=option.dest, metavar=option.metavar, help=option.help)
    return parser
