"""``pip-lambda cache info|prune|purge``: see and bound the build cache."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from pip_lambda.cache import storage as cache
from pip_lambda.cli.help import CACHE_EPILOG
from pip_lambda.errors import UsageError
from pip_lambda.report.text import human


def cache_command(argv: Sequence[str]) -> list[str]:
    """Run a cache action; the lines to print."""
    parser = argparse.ArgumentParser(
        prog="pip-lambda cache",
        description="Manage pip-lambda's build cache.",
        epilog=CACHE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("action", choices=("info", "prune", "purge", "dir"))
    parser.add_argument(
        "--max-size",
        metavar="SIZE",
        help=f"with prune: the size to trim to, e.g. 500M or 2G (default: ${cache.MAX_SIZE_VARIABLE} or 5G)",
    )
    try:
        options = parser.parse_args(list(argv))
    except SystemExit as stop:
        if stop.code == 0:
            return []
        raise UsageError("bad arguments to 'pip-lambda cache'", hint="see 'pip-lambda cache --help'") from None
    root = cache.cache_root()
    if options.action == "dir":
        return [str(root)]
    if options.action == "info":
        sections = cache.summary(root)
        lines = [f"cache folder: {root} (set ${cache.CACHE_VARIABLE} to move it)"]
        lines += [
            f"  {section + ':':9} {count:7,} items  {human(size):>12}" for section, (count, size) in sections.items()
        ]
        total = sum(size for _, size in sections.values())
        lines.append(
            f"  total:    {human(total):>27} (kept under {human(cache.max_size())}, least recently used pruned first)"
        )
        return lines
    if options.action == "prune":
        limit = cache.parse_size(options.max_size, "--max-size") if options.max_size is not None else cache.max_size()
        removed, freed = cache.prune(root, limit)
        return [f"removed {removed:,} items ({human(freed)}); the cache is now under {human(limit)}"]
    return [f"deleted the cache at {root} ({human(cache.purge(root))})"]


def run_cache(argv: Sequence[str]) -> int:
    lines = cache_command(argv)
    if lines:
        print("\n".join(lines))
    return 0
