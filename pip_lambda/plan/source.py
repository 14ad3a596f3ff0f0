"""Where a build's requirements came from, when pip-lambda chose or converted them, and the sdists a lock allows."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SourceKind(enum.Enum):
    """The kind of file that decided what a build installs."""

    PYLOCK = "pylock.toml"
    UV_LOCK = "uv.lock"
    POETRY_LOCK = "poetry.lock"
    REQUIREMENTS = "requirements.txt"


@dataclass(frozen=True)
class RequirementsSource:
    """The lock or requirements file a build used, as the summary and the JSON report name it."""

    kind: SourceKind
    path: str
    """As given or found, relative to the current folder when found."""
    converted_by: str | None = None
    """The command that turned it into a pylock.toml (``uv export``, ``poetry export``); None when read as it is."""
    discovered: bool = False
    """Found in the project folder because no requirements were given."""

    def describe(self) -> str:
        """``uv.lock (converted with uv export)``, ``requirements.txt (found in the project folder)``."""
        notes = [f"converted with {self.converted_by}"] if self.converted_by else []
        if self.discovered:
            notes.append("found in the project folder")
        return f"{self.path} ({', '.join(notes)})" if notes else self.path


@dataclass(frozen=True)
class Sdist:
    """A lock entry with only a source distribution for the target, which ``--allow-sdist`` lets this machine build."""

    name: str
    version: str
    filename: str
    url: str
    sha256: str
