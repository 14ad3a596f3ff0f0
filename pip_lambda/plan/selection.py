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
    """Where it is fetched from, credentials removed; a ``file://`` URL for a local wheel."""
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
