"""The JSON the cache keeps: its value type, checksummed files, and readers that check every type.

Every record the cache writes (a result's ``entry.json``, a stamp, a wheel's
manifest) is an envelope ``{"kind", "format", "sha256", "body"}`` whose
``sha256`` covers the canonical text of ``body``.  A file that is not whole,
not of the expected kind or format, or whose body does not match its checksum
reads as nothing at all, so a damaged record is a cache miss, never a crash.
Inside a body, the readers below turn an unexpected type into
:class:`Malformed`, which callers treat the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Union

Json = Union[dict[str, "Json"], list["Json"], str, int, float, bool, None]
"""A JSON value as ``json.loads`` returns it."""

FORMAT = 1
"""Bumped whenever the envelope or the meaning of a body changes; older records then read as nothing."""


class Malformed(ValueError):
    """A cache record whose content is not what this version writes."""


def canonical(value: Json) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def write(path: Path, kind: str, body: Mapping[str, Json]) -> None:
    """Write a checksummed record atomically (a temporary file renamed into place)."""
    content = dict(body)
    envelope: dict[str, Json] = {
        "kind": kind,
        "format": FORMAT,
        "sha256": hashlib.sha256(canonical(content)).hexdigest(),
        "body": content,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(canonical(envelope))
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read(path: Path, kind: str) -> dict[str, Json] | None:
    """The body of the record at ``path``; None when it is missing, damaged, or of another kind or format."""
    try:
        envelope = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(envelope, dict) or envelope.get("kind") != kind or envelope.get("format") != FORMAT:
        return None
    body = envelope.get("body")
    if not isinstance(body, dict):
        return None
    try:
        intact = hashlib.sha256(canonical(body)).hexdigest() == envelope.get("sha256")
    except ValueError:  # NaN or infinity: never written by write()
        return None
    return body if intact else None


def field(data: Json, name: str) -> Json:
    if not isinstance(data, dict) or name not in data:
        raise Malformed(f"no field {name!r}")
    return data[name]


def text(value: Json) -> str:
    if not isinstance(value, str):
        raise Malformed(f"{value!r} is not a string")
    return value


def optional_text(value: Json) -> str | None:
    return None if value is None else text(value)


def count(value: Json) -> int:
    """A whole number of zero or more (JSON booleans are not numbers here)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Malformed(f"{value!r} is not a count")
    return value


def number(value: Json) -> float:
    """A finite number (a whole number too large for a float is not one)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):
            if math.isfinite(converted := float(value)):
                return converted
    raise Malformed(f"{value!r} is not a number")


def flag(value: Json) -> bool:
    if not isinstance(value, bool):
        raise Malformed(f"{value!r} is not true or false")
    return value


def items(value: Json) -> list[Json]:
    if not isinstance(value, list):
        raise Malformed(f"{value!r} is not a list")
    return value


def texts(value: Json) -> tuple[str, ...]:
    return tuple(text(item) for item in items(value))


def mapping(value: Json) -> dict[str, Json]:
    if not isinstance(value, dict):
        raise Malformed(f"{value!r} is not an object")
    return value


def sha256_hex(value: Json) -> str:
    digest = text(value)
    if len(digest) != 64 or digest.strip("0123456789abcdef"):
        raise Malformed(f"{digest!r} is not a sha256")
    return digest
