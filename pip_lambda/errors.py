"""The exception root and the exit codes the command line maps it to."""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_PIP_FAILED = 1
EXIT_USAGE = 2
EXIT_NO_WHEEL = 3
EXIT_VERIFY_FAILED = 4
EXIT_TOO_LARGE = 5
EXIT_UNSAFE_PATH = 6
EXIT_ENVIRONMENT = 7


class PipLambdaError(Exception):
    """A failure pip-lambda explains in one line: what happened, why, what to do."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, hint: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail = detail


class UsageError(PipLambdaError):
    """Bad options or arguments: unknown runtime, refused pip option, missing file."""

    exit_code = EXIT_USAGE


class PipFailedError(PipLambdaError):
    """pip exited non-zero; ``detail`` carries pip's own error lines."""

    exit_code = EXIT_PIP_FAILED


class NoCompatibleWheelError(PipLambdaError):
    """A requirement has no wheel the Lambda runtime can load."""

    exit_code = EXIT_NO_WHEEL


class VerifyError(PipLambdaError):
    """The package would not load on the target."""

    exit_code = EXIT_VERIFY_FAILED


class SizeLimitError(PipLambdaError):
    """The package exceeds a hard Lambda size limit."""

    exit_code = EXIT_TOO_LARGE


class UnsafePathError(PipLambdaError):
    """pip-lambda refuses to write to, or delete, a path it does not own."""

    exit_code = EXIT_UNSAFE_PATH


class EnvironmentProblem(PipLambdaError):
    """The machine lacks something the build needs, or the disk refused a write."""

    exit_code = EXIT_ENVIRONMENT


def from_os_error(error: OSError) -> EnvironmentProblem:
    """A disk or permission failure as one line, naming the path, the reason and what to do."""
    where = f" {error.filename}" if error.filename else ""
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        hint = "free space on that disk, or pass -t/-o on another one"
    elif error.errno in (errno.EPERM, errno.EACCES, errno.EROFS):
        hint = "make that folder writable, or pass -t/-o elsewhere"
    else:
        hint = "check that folder and the disk"
    return EnvironmentProblem(
        f"cannot write{where}: {error.strerror or error}", hint=f"{hint}; the previous package was left as it was"
    )
