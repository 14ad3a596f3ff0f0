"""pip failures pip-lambda can name better than "pip failed": unknown options, hash checks, a full disk.

Only pip's final error lines are read, and only to choose the one-line
message; pip's own lines are still shown above it.
"""

from __future__ import annotations

import re

from pip_lambda.errors import EnvironmentProblem, PipFailedError, PipLambdaError, UsageError

_NO_SUCH_OPTION = re.compile(r"no such option: (\S+)")
_NEEDS_ARGUMENT = re.compile(r"(\S+) option requires (\d+) argument")
_HASHES_MISSING = "Hashes are required in --require-hashes mode"
_NOT_PINNED = "must have their versions pinned with =="
_HASH_MISMATCH = "DO NOT MATCH THE HASHES"
_NO_SPACE = ("[Errno 28]", "No space left on device")


def explain(failure: PipFailedError) -> PipLambdaError | None:
    """A clearer error for a known pip failure, or None to keep pip's."""
    detail = failure.detail
    option = _NO_SUCH_OPTION.search(detail)
    if option:
        return UsageError(
            f"unknown option {option.group(1)}: neither pip-lambda nor 'pip install' has it (on the command line or in a requirements file)",
            hint="see 'pip-lambda install --help' and 'pip install --help'",
            detail=detail,
        )
    needs = _NEEDS_ARGUMENT.search(detail)
    if needs:
        return UsageError(f"{needs.group(1)} needs a value", hint="see 'pip install --help'", detail=detail)
    if _HASHES_MISSING in detail or _NOT_PINNED in detail:
        return PipFailedError(
            f"{failure.message}: hash checking is on, and a requirement or one of its dependencies has no pinned, hashed line",
            hint="list every package, dependencies included, with == and --hash (pip-compile --generate-hashes does this)",
            detail=detail,
        )
    if _HASH_MISMATCH in detail:
        return PipFailedError(
            f"{failure.message}: a downloaded file does not match the --hash in the requirements",
            hint="the file changed on the index, or the hash is wrong: check it before updating the hash",
            detail=detail,
        )
    if any(marker in detail for marker in _NO_SPACE):
        return EnvironmentProblem(
            "no space left on the disk while pip installed the requirements",
            hint="free space on the disk of the target folder (or of TMPDIR); the previous package was left as it was",
            detail=detail,
        )
    return None
