"""The two records of a finished build: a result kept under its key, and the stamp a target and zip left.

``results/<key>/entry.json`` (beside ``result.zip``) lets any build with the
same key copy the zip; ``stamps/<place>.json`` lets the next build of the same
target and zip see that nothing changed.  Both are checksummed records (see
jsondata.py) whose every field is checked when read: a record that is damaged,
of another kind, or that belongs to another key or place reads as None.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from pip_lambda.cache import jsondata
from pip_lambda.cache.jsondata import Json, Malformed, count, field, flag, items, sha256_hex, text
from pip_lambda.cache.storage import (
    ENTRY,
    RESULT,
    STAMP,
    file_sha256,
    new_folder,
    publish,
    result_folder,
    stamp_path,
)
from pip_lambda.plan.selection import Selection, Wheel

ZIP = "result.zip"


@dataclass(frozen=True)
class Known:
    """What a finished build recorded about itself."""

    key: str
    pinned: bool
    """True when the key alone decides the result (every requirement pinned): pip need not resolve again."""
    resolution: Selection | None
    """pip's resolution, compared with a new one when the requirements are not pinned."""
    result: Json
    """``BuildResult.to_json()``; the reader turns it back with ``BuildResult.from_json`` and its own request."""


@dataclass(frozen=True)
class ResultEntry:
    """A finished build kept under its key: the zip and what it was made of."""

    folder: Path
    known: Known
    zip_sha256: str
    zip_size: int

    @property
    def zip(self) -> Path:
        return self.folder / ZIP


@dataclass(frozen=True)
class Stamp:
    """What the last build of one target and zip left there, to tell whether anything changed since."""

    known: Known
    place: str
    """The target and zip paths the stamp is for."""
    tree: str
    """``tree_fingerprint`` of the target."""
    zip: tuple[int, ...] | None
    """Size and modification time of the zip, ``(-1,)`` when it was missing; None without a zip."""


def _known_json(known: Known) -> dict[str, Json]:
    resolution: Json = None if known.resolution is None else _selection_json(known.resolution)
    return {"key": known.key, "pinned": known.pinned, "resolution": resolution, "result": known.result}


def _selection_json(selection: Selection) -> Json:
    wheels: list[Json] = [
        [wheel.name, wheel.version, wheel.filename, wheel.url, wheel.sha256, wheel.direct] for wheel in selection.wheels
    ]
    return {"source": selection.source, "wheels": wheels}


def _wheel(value: Json) -> Wheel:
    row = items(value)
    if len(row) != 6:
        raise Malformed(f"{value!r} is not a selected wheel")
    name, version, filename, url, sha256, direct = row
    return Wheel(text(name), text(version), text(filename), text(url), sha256_hex(sha256), flag(direct))


def _selection(value: Json) -> Selection:
    return Selection(tuple(_wheel(item) for item in items(field(value, "wheels"))), text(field(value, "source")))


def _known(body: Json) -> Known:
    resolution = field(body, "resolution")
    return Known(
        key=sha256_hex(field(body, "key")),
        pinned=flag(field(body, "pinned")),
        resolution=None if resolution is None else _selection(resolution),
        result=field(body, "result"),
    )


def _place(target_dir: Path, output: Path | None) -> str:
    return f"{target_dir.resolve()}\0{output.resolve() if output else ''}"


def read_result(root: Path, key: str) -> ResultEntry | None:
    folder = result_folder(root, key)
    body = jsondata.read(folder / ENTRY, RESULT)
    try:
        entry = ResultEntry(folder, _known(body), sha256_hex(field(body, "zip_sha256")), count(field(body, "zip_size")))
    except Malformed:
        return None
    return entry if entry.known.key == key else None


def store_result(root: Path, known: Known, zip_path: Path, zip_sha256: str) -> None:
    """Keep a copy of a finished zip under its key (a copy, not a link: the user may edit theirs).

    Nothing is kept when the zip no longer has the checksum the build computed (it changed meanwhile).
    """
    final = result_folder(root, known.key)
    if final.exists():
        shutil.rmtree(final, ignore_errors=True)
    folder = new_folder(final.parent)
    try:
        shutil.copyfile(zip_path, folder / ZIP)
        if file_sha256(folder / ZIP) != zip_sha256:
            shutil.rmtree(folder, ignore_errors=True)
            return
        body = _known_json(known)
        body["zip_sha256"] = zip_sha256
        body["zip_size"] = (folder / ZIP).stat().st_size
        jsondata.write(folder / ENTRY, RESULT, body)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    publish(folder, final)


def discard_result(entry: ResultEntry) -> None:
    shutil.rmtree(entry.folder, ignore_errors=True)


def read_stamp(root: Path, target_dir: Path, output: Path | None, key: str) -> Stamp | None:
    """The stamp of this target and zip when it was left by a build with ``key``."""
    body = jsondata.read(stamp_path(root, target_dir, output), STAMP)
    try:
        zipped = field(body, "zip")
        stamp = Stamp(
            _known(body),
            text(field(body, "place")),
            text(field(body, "tree")),
            None if zipped is None else tuple(_identity(part) for part in items(zipped)),
        )
    except Malformed:
        return None
    return stamp if stamp.known.key == key and stamp.place == _place(target_dir, output) else None


def _identity(value: Json) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Malformed(f"{value!r} is not a size or a time")
    return value


def write_stamp(
    root: Path, known: Known, target_dir: Path, output: Path | None, tree: str, zip_identity: tuple[int, ...] | None
) -> None:
    body = _known_json(known)
    body["place"] = _place(target_dir, output)
    body["tree"] = tree
    body["zip"] = None if zip_identity is None else [part for part in zip_identity]
    jsondata.write(stamp_path(root, target_dir, output), STAMP, body)
