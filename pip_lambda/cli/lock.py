"""``pip-lambda lock``: write a pylock.toml resolved for the Lambda target, from any host."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from pip_lambda.cli.arguments import parse_command
from pip_lambda.cli.help import LOCK_EPILOG
from pip_lambda.cli.terminal import configure_logging, end_status
from pip_lambda.config.files import find_config
from pip_lambda.config.options import LOCK_OPTIONS, install_option
from pip_lambda.config.request import target_for
from pip_lambda.config.sources import (
    Setting,
    command_line_source,
    describe,
    environment_source,
    pip_arguments,
    settings_for,
)
from pip_lambda.errors import UsageError
from pip_lambda.lock import write
from pip_lambda.pip.args import parse_pip_args
from pip_lambda.system.redact import remember
from pip_lambda.tree.staging import project_root

log = logging.getLogger(__name__)

DEFAULT_OUTPUT = "pylock.toml"


def run_lock(argv: Sequence[str]) -> int:
    parsed = parse_command(argv, "pip-lambda lock", LOCK_EPILOG, LOCK_OPTIONS)
    if parsed is None:
        return 0
    namespace, pips = parsed
    resolved_options = (*LOCK_OPTIONS, install_option("lock"))
    command_line = command_line_source(vars(namespace), LOCK_OPTIONS)
    settings = settings_for(command_line, environment_source(os.environ), find_config(), None, resolved_options)
    configure_logging(settings["verbose"].value - settings["quiet"].value)
    log.debug("settings:\n%s", "\n".join(describe(settings)))
    target = target_for(settings, "locking")
    output = _output(namespace.output, settings)
    tokens = pip_arguments(settings, pips)
    remember(tokens)
    parse_pip_args(tokens, target)  # what cannot make a Lambda package is refused before anything is looked for
    wanted = write.lock_inputs(tokens, settings["extra"].value, settings["group"].value, project_root())
    picks = write.resolved(target, parse_pip_args(wanted, target))
    text = write.render(write.document(picks, target, output.parent), target, str(output))
    changed = write.write(output, text)
    end_status()
    what = f"{len(picks)} package(s) locked for {target.runtime.name} on {target.arch}"
    print(f"wrote {output}: {what}" if changed else f"{output} is up to date: {what}")
    if picks:
        print("  " + ", ".join(f"{pick.name}=={pick.version}" for pick in picks))
    return 0


def _output(given: str | None, settings: Mapping[str, Setting]) -> Path:
    """-o, else the configured lock when it is a pylock.toml, else pylock.toml; other names are refused."""
    configured = settings["lock"].value
    name = given or (configured if configured and _is_pylock(Path(configured)) else DEFAULT_OUTPUT)
    path = Path(name)
    if not _is_pylock(path):
        raise UsageError(
            f"-o {name}: a lock file is named pylock.toml or pylock.NAME.toml (PEP 751)",
            hint="pass -o pylock.toml, or -o pylock.lambda.toml for a lock of its own",
        )
    if path.is_dir():
        raise UsageError(f"-o {name} is a folder", hint="pass -o with a file path")
    return path


def _is_pylock(path: Path) -> bool:
    name = path.name
    return name == "pylock.toml" or (name.startswith("pylock.") and name.endswith(".toml") and name.count(".") == 2)
