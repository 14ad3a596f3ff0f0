"""A Lambda container-image build context: a Dockerfile FROM AWS's Python base image, and the verified tree.

The context is a folder: ``Dockerfile`` and ``package/``, the same tree a zip
would hold.  The Dockerfile starts from ``public.ecr.aws/lambda/python:<version>``
for the target's platform, copies ``package/`` into ``${LAMBDA_TASK_ROOT}``
and sets the handler.  Same inputs, same files and bytes: the Dockerfile is
written from the target and the handler alone, and the tree's modes are
normalised as in the zip (0644 for files, 0755 for folders and executables),
so ``COPY`` gives every file the permissions Lambda needs.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from pip_lambda.plan.target import Arch, Target

BASE_IMAGE = "public.ecr.aws/lambda/python"
PACKAGE = "package"
"""The tree's folder in the context."""
DOCKERFILE = "Dockerfile"


def platform(target: Target) -> str:
    """Docker's name for the target's architecture."""
    return "linux/arm64" if target.arch is Arch.ARM64 else "linux/amd64"


def base_image(target: Target) -> str:
    return f"{BASE_IMAGE}:{target.runtime.python_version}"


def dockerfile(target: Target, handler: str | None) -> str:
    """The Dockerfile of the context: AWS's base image for the target, the tree in the task root, the handler."""
    if handler:
        command = f'CMD ["{handler}"]'
    else:
        command = (
            "# No handler was given (--handler MODULE.FUNCTION): add the line that names it, such as\n"
            '# CMD ["app.handler"], or set it in the function\'s image configuration (ImageConfig.Command).'
        )
    return (
        f"# A Lambda container image of the package pip-lambda built for {target.runtime.name} on {target.arch}.\n"
        f"# Build it with: docker build --platform {platform(target)} -t NAME .\n"
        f"FROM --platform={platform(target)} {base_image(target)}\n"
        f"COPY {PACKAGE}/ ${{LAMBDA_TASK_ROOT}}/\n"
        f"{command}\n"
    )


def write_context(folder: Path, target: Target, handler: str | None) -> None:
    """Write the Dockerfile into ``folder``, whose ``package/`` holds the verified tree, and normalise its modes."""
    (folder / DOCKERFILE).write_text(dockerfile(target, handler), "utf-8")
    (folder / DOCKERFILE).chmod(0o644)
    _normalise_modes(folder / PACKAGE)


def _normalise_modes(root: Path) -> None:
    """0755 for folders and executables, 0644 for other files, as in the zip.

    A file whose mode changes is replaced by a copy first: it may be a hard
    link to a file a cache keeps, which must not change.
    """
    for parent, _folders, files in os.walk(root):
        Path(parent).chmod(0o755)
        for name in files:
            path = Path(parent, name)
            current = path.lstat().st_mode
            if stat.S_ISLNK(current):
                continue
            wanted = 0o755 if current & 0o111 else 0o644
            if stat.S_IMODE(current) != wanted:
                copy = path.with_name(f".{name}.pip-lambda.tmp")
                shutil.copyfile(path, copy)
                copy.chmod(wanted)
                copy.replace(path)
