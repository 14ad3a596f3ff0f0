"""What the build cache reads of a build request, and nothing more."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the no-op rebuild imports this before anything heavy
    from pip_lambda.pip.args import PipArgs
    from pip_lambda.plan.request import BuildRequest
    from pip_lambda.plan.target import Target

NOT_IN_KEY = frozenset({"target_dir", "output", "verbosity", "use_cache", "refresh", "source"})
"""Fields of the BuildRequest that say where the result goes, how chatty the build is or how its requirements
were found (a lock's choice is keyed as the ``selection``), not what it contains."""
_OWN_FIELDS = frozenset({"target", "pip_args"})


@dataclass(frozen=True)
class CacheRequest:
    """The key's, the wheel store's and the reuse's view of one BuildRequest."""

    target: Target
    pip_args: PipArgs
    target_dir: Path
    output: Path | None
    verbose: bool
    """pip's output is streamed (``-v``)."""
    refresh: bool
    settings: tuple[tuple[str, object], ...]
    """Every other field of the request that can change what is built, by name, hashed into the key
    (taken by reflection, so a field added to the request later is keyed without a list to keep in sync)."""

    @classmethod
    def of(cls, request: BuildRequest) -> CacheRequest:
        settings = tuple(
            (field.name, getattr(request, field.name))
            for field in dataclasses.fields(request)
            if field.name not in NOT_IN_KEY | _OWN_FIELDS
        )
        return cls(
            target=request.target,
            pip_args=request.pip_args,
            target_dir=request.target_dir,
            output=request.output,
            verbose=request.verbosity > 0,
            refresh=request.refresh,
            settings=settings,
        )
