"""The typed build request: everything one build needs, decided before anything runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pip_lambda.pip.args import PipArgs
from pip_lambda.plan.layout import Layout, layout_of
from pip_lambda.plan.selection import Selection
from pip_lambda.plan.source import RequirementsSource, Sdist
from pip_lambda.plan.target import Target


@dataclass(frozen=True)
class TrimOptions:
    slim: bool = False
    strip: bool = False
    compile: bool = False
    exclude: tuple[str, ...] = ()
    exclude_packages: tuple[str, ...] = ()
    exclude_runtime_provided: bool = False
    python: str | None = None
    """--python: the interpreter that writes bytecode (found on this machine when None)."""

    @property
    def active(self) -> bool:
        return bool(
            self.slim
            or self.strip
            or self.compile
            or self.exclude
            or self.exclude_packages
            or self.exclude_runtime_provided
        )


@dataclass(frozen=True)
class VerifyOptions:
    """How ``install`` verifies its result (``verify`` takes the same choices from its own options)."""

    enabled: bool = True
    import_test: bool = False
    handler: str | None = None
    python: str | None = None


@dataclass(frozen=True)
class BuildRequest:
    """Everything one build needs, decided before anything runs."""

    target: Target
    pip_args: PipArgs
    target_dir: Path
    output: Path | None
    """None with --no-zip."""
    layer: bool = False
    with_layers: tuple[Path, ...] = ()
    """--with-layer: the layer zips the package is deployed with, in Lambda's order (counted and verified with it)."""
    code: tuple[Path, ...] = ()
    verbosity: int = 0
    verify: VerifyOptions = field(default_factory=VerifyOptions)
    allow_sdist: tuple[str, ...] = ()
    """Names (or ``:all:``) whose sdists may be built on this machine into pure-Python wheels."""
    trim: TrimOptions = field(default_factory=TrimOptions)
    use_cache: bool = True
    """False with --no-cache: neither read nor write the build cache."""
    refresh: bool = False
    """--refresh: build from scratch with pip, then replace what the cache holds."""
    selection: Selection | None = None
    """The wheels a lock file chose for the target, installed instead of pip's resolution (None: pip resolves)."""
    sdists: tuple[Sdist, ...] = ()
    """Entries of the lock with only an sdist for the target, allowed by --allow-sdist: built on this machine."""
    source: RequirementsSource | None = None
    """The lock or requirements file pip-lambda read, found or converted, for the summary and the report."""
    container: bool = False
    """--container: ``target_dir`` is a Lambda container-image build context (a Dockerfile and the tree under
    ``package/``) instead of a zip; ``output`` is then None."""

    @property
    def layout(self) -> Layout:
        """A function or a layer, and where Lambda puts it."""
        return layout_of(self.layer)
