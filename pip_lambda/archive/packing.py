"""Each member's bytes for the zip, in order: copied from its wheel, or compressed on every core.

zlib releases the GIL, so threads compress in parallel; a large file is
compressed in fixed-size chunks (as pigz does), so its bytes never depend on
the number of workers.  A file that is byte for byte a deflated member of a
wheel (``Entry.raw``) is not compressed again: its compressed bytes are read
from the wheel.  :func:`compressor` is the one place zlib compresses.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

if TYPE_CHECKING:
    from pip_lambda.archive.writer import Entry, RawSource

log = logging.getLogger(__name__)

CHUNK = 1 << 20
"""Members larger than this are compressed in pieces of this size, in parallel (a fixed size: same bytes on any machine)."""
WINDOW_BYTES = 64 << 20
_WINDOW = 32 << 10
STORED, DEFLATED = 0, 8
# Formats that are compressed already: deflating them again costs time and saves nothing.
_COMPRESSED_SUFFIXES = frozenset(
    {".zip", ".whl", ".jar", ".egg", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".lz4", ".7z",
     ".png", ".jpg", ".jpeg", ".gif", ".webp", ".woff", ".woff2", ".mp3", ".mp4", ".npz", ".pyz"}
)  # fmt: skip
T = TypeVar("T")


@dataclass(frozen=True)
class Packed:
    method: int
    crc: int
    size: int
    data: bytes
    copied: bool = False


def compressor(level: int, zdict: bytes | memoryview | None = None) -> zlib._Compress:
    """A raw deflate stream (the one place the writer calls zlib to compress; tests put another in its place)."""
    if zdict is None:
        return zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zdict=zdict)


def _compressible(entry: Entry, level: int) -> bool:
    return entry.source is not None and entry.source.suffix.lower() not in _COMPRESSED_SUFFIXES and level != 0


def _copyable(entry: Entry, level: int) -> bool:
    """Whether the entry has deflated bytes in a wheel, and compression is on."""
    return entry.raw is not None and entry.raw.member.method == DEFLATED and level != 0


def _pack(entry: Entry, level: int) -> Packed:
    if entry.source is None:
        return Packed(STORED, 0, 0, b"")
    return _packed(entry.source.read_bytes(), _compressible(entry, level), level)


def _packed(raw: bytes, compressible: bool, level: int) -> Packed:
    crc = zlib.crc32(raw)
    if not raw or not compressible:
        return Packed(STORED, crc, len(raw), raw)
    stream = compressor(level)
    deflated = stream.compress(raw) + stream.flush()
    if len(deflated) >= len(raw):
        return Packed(STORED, crc, len(raw), raw)
    return Packed(DEFLATED, crc, len(raw), deflated)


class _Archives:
    """The wheels raw members are copied from, each opened once and read by one thread at a time."""

    def __init__(self) -> None:
        self._handles: dict[Path, BinaryIO] = {}
        self._lock = threading.Lock()

    def read(self, source: RawSource) -> bytes | None:
        """The member's compressed bytes; None when the wheel cannot be read or is shorter than its directory says."""
        member = source.member
        try:
            with self._lock:
                handle = self._handles.get(source.archive)
                if handle is None:
                    handle = self._handles[source.archive] = open(source.archive, "rb")  # noqa: SIM115
                handle.seek(member.offset)
                data = handle.read(member.compressed_size)
        except OSError as error:
            log.debug("cannot read %s from %s: %s", member.name, source.archive, error)
            return None
        return data if len(data) == member.compressed_size else None

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()


def _copied(entry: Entry, archives: _Archives) -> Packed | None:
    """The file as its wheel compressed it, when it still is that member (size and crc); None to deflate it here.

    A member its wheel could not make smaller is stored: the same bytes whatever the zlib.
    """
    assert entry.source is not None and entry.raw is not None
    raw = entry.source.read_bytes()
    member = entry.raw.member
    if len(raw) != member.size or zlib.crc32(raw) != member.crc:
        log.debug("%s is no longer %s of %s: deflated here", entry.name, member.name, entry.raw.archive)
        return None
    if member.compressed_size >= member.size:
        return Packed(STORED, member.crc, member.size, raw)
    data = archives.read(entry.raw)
    return None if data is None else Packed(DEFLATED, member.crc, member.size, data, copied=True)


def _deflate_chunk(raw: bytes, start: int, level: int) -> bytes:
    """One CHUNK of a large member as a piece of one deflate stream (as pigz does).

    The compressor is primed with the 32 KiB before the chunk, so matches still
    reach back across the boundary; every chunk but the last ends on a byte
    boundary (sync flush) so the pieces concatenate into one valid stream.
    The pieces depend on the chunk size only, never on the number of workers.
    """
    view = memoryview(raw)
    end = min(start + CHUNK, len(raw))
    stream = compressor(level, view[max(0, start - _WINDOW) : start] if start else None)
    last = end == len(raw)
    return stream.compress(view[start:end]) + stream.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def _done(value: T) -> Future[T]:
    future: Future[T] = Future()
    future.set_result(value)
    return future


class _Inline:
    """An executor that runs each task at once: the single-worker path, with the same code."""

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        return _done(function(*args))


@dataclass(frozen=True)
class _Pending:
    """A member being compressed: one task, or one task per chunk of a large file."""

    size: int
    whole: Future[Packed] | None = None
    raw: bytes = b""
    chunks: tuple[Future[bytes], ...] = ()

    def result(self) -> Packed:
        if self.whole is not None:
            return self.whole.result()
        deflated = b"".join(chunk.result() for chunk in self.chunks)
        crc = zlib.crc32(self.raw)
        if len(deflated) >= len(self.raw):
            return Packed(STORED, crc, len(self.raw), self.raw)
        return Packed(DEFLATED, crc, len(self.raw), deflated)


def _submit(pool: ThreadPoolExecutor | _Inline, entry: Entry, level: int, archives: _Archives) -> _Pending:
    size = entry.source.stat().st_size if entry.source is not None else 0
    # Copying is mostly Python-level work, done here: handing it to a thread costs more than it saves.
    copied = _copied(entry, archives) if _copyable(entry, level) else None
    if copied is not None:
        return _Pending(size, whole=_done(copied))
    if size <= CHUNK or entry.source is None or not _compressible(entry, level):
        return _Pending(size, whole=pool.submit(_pack, entry, level))
    raw = entry.source.read_bytes()
    chunks = tuple(pool.submit(_deflate_chunk, raw, start, level) for start in range(0, len(raw), CHUNK))
    return _Pending(len(raw), raw=raw, chunks=chunks)


def packed_in_order(entries: Sequence[Entry], level: int, workers: int) -> Iterator[Packed]:
    """Compress on ``workers`` threads, yielding in entry order.

    The window of members in flight is bounded in count and in bytes, so memory
    stays bounded whatever the size of the tree.
    """
    with contextlib.ExitStack() as stack:
        archives = _Archives()
        stack.callback(archives.close)
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=workers)) if workers > 1 else _Inline()
        window: deque[_Pending] = deque()
        in_flight = 0
        for entry in entries:
            pending = _submit(pool, entry, level, archives)
            window.append(pending)
            in_flight += pending.size
            while window and (len(window) >= workers * 4 or in_flight > WINDOW_BYTES):
                done = window.popleft()
                in_flight -= done.size
                yield done.result()
        while window:
            yield window.popleft().result()


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
