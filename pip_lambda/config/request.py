"""Resolved settings turned into the typed build request (and the target of ``verify``)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from pip_lambda.config.sources import Setting, pip_arguments
from pip_lambda.errors import UsageError
from pip_lambda.lock.decide import Wanted, decide
from pip_lambda.pip.args import parse_pip_args
from pip_lambda.plan.layout import layout_of
from pip_lambda.plan.request import BuildRequest, TrimOptions, VerifyOptions
from pip_lambda.plan.runtimes import default_runtime, get_runtime
from pip_lambda.plan.target import Arch, Target
from pip_lambda.system.redact import remember

log = logging.getLogger(__name__)


def target_for(settings: Mapping[str, Setting], doing: str | None = "building") -> Target:
    """The target of the settings; without a runtime anywhere, the first line says which one was chosen and why.

    ``doing`` names what the runtime is for in that line; None says nothing (commands that only read a package,
    where the runtime only evaluates dependency markers).
    """
    # Values from files and variables were checked when read, so an error here is the command line's.
    if settings["runtime"].value:
        runtime = get_runtime(settings["runtime"].value)
    else:
        runtime = default_runtime()
        if doing is not None:
            log.info("%s for %s, the Python running pip-lambda; pass --runtime to choose", doing, runtime.name)
    arch = Arch.parse(settings["arch"].value) if settings["arch"].value else Arch.X86_64
    if str(arch) not in runtime.architectures:
        raise UsageError(
            f"{runtime.name} does not run on {arch}", hint=f"choose one of: {', '.join(runtime.architectures)}"
        )
    return Target(runtime, arch)


def request_for(settings: Mapping[str, Setting], pips: Sequence[str], name: str | None) -> BuildRequest:
    """Turn resolved settings into a build request."""
    target = target_for(settings)
    notice = target.runtime.deprecation_notice(datetime.date.today())
    if notice:
        log.warning(notice)
    if settings["allow-outside-project"].value:
        log.info("note: allow-outside-project is no longer needed: a target may be anywhere that is safe to replace")
    layer = bool(settings["layer"].value)
    container = settings["container"].value
    _check_container(settings)
    default_dir = f"build/{name}" if name else layout_of(layer).default_target
    target_dir = Path(container or settings["target"].value or default_dir)
    output = settings["output"].value or f"{target_dir}.zip"
    pip_tokens = pip_arguments(settings, pips)
    remember(pip_tokens)  # index URLs with tokens may come from the configuration too
    decided = decide(pip_tokens, _wanted(settings, discover=name is None), target)
    return BuildRequest(
        target=target,
        pip_args=parse_pip_args(decided.pip_tokens, target),
        target_dir=target_dir,
        output=None if settings["no-zip"].value or container else Path(output),
        layer=layer,
        with_layers=tuple(Path(path) for path in settings["with-layer"].value),
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
        use_cache=not settings["no-cache"].value,
        refresh=bool(settings["refresh"].value),
        container=bool(container),
        selection=decided.selection,
        sdists=decided.sdists,
        source=decided.source,
    )


def _wanted(settings: Mapping[str, Setting], *, discover: bool) -> Wanted:
    """What the settings ask of a lock file; a named target says what it installs, so nothing is looked for."""
    return Wanted(
        lock=settings["lock"].value or None,
        extras=tuple(settings["extra"].value),
        groups=tuple(settings["group"].value),
        allow_sdist=tuple(settings["allow-sdist"].value),
        discover=discover,
        verbose=settings["verbose"].value - settings["quiet"].value > 0,
    )


def _check_container(settings: Mapping[str, Setting]) -> None:
    """--container names where the package goes: neither a zip nor another folder, and never a layer."""
    if not settings["container"].value:
        return
    hint = "a container image holds a function; build a layer as a zip (drop --container)"
    if settings["layer"].value:
        raise UsageError("a layer cannot be a container image: --container and --layer exclude each other", hint=hint)
    for option, flag in (("target", "-t/--target"), ("output", "-o/--output")):
        if settings[option].value:
            raise UsageError(
                f"--container DIR and {flag} both say where the package goes",
                hint="give one of them: the tree is written to DIR/package, beside its Dockerfile",
            )
