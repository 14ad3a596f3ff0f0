"""What a build installs: the wheels chosen for the target, by pip's resolution or by a lock file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Wheel:
    """One wheel file chosen for the target."""

    name: str
    """The distribution's canonical name (``packaging.utils.canonicalize_name``)."""
    version: str
    filename: str
    """The wheel's file name, whose tags say where it loads."""
    url: str
    """Where it is fetched from, credentials removed; a ``file://`` URL for a local wheel; empty when pip
    resolved and fetched in one pass, which says which files it chose but not where it found them."""
    sha256: str
    """Of the wheel file: its identity in the wheel store and the hash pip checks when fetching it."""
    direct: bool = False
    """Named by URL or path (``name @ url``), not found on an index."""


@dataclass(frozen=True)
class Selection:
    """Every wheel a build installs, sorted by name, and what decided them."""

    wheels: tuple[Wheel, ...]
    source: str
    """``"pip"`` when pip resolved the requirements, else the lock file that decided (e.g. ``pylock.toml``)."""

    def same_wheels(self, other: Selection) -> bool:
        """Whether both install the same files: the same names, versions and wheel hashes, wherever found."""
        return _files(self) == _files(other)

    def by_name(self) -> dict[str, Wheel]:
        return {wheel.name: wheel for wheel in self.wheels}


def _files(selection: Selection) -> set[tuple[str, str, str]]:
    return {(wheel.name, wheel.version, wheel.sha256) for wheel in selection.wheels}


PIP = "pip"
"""The source of a selection pip's resolver made."""
