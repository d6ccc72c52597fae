"""A gzip-compressed tar written as a stream of byte chunks.

Why not `tarfile` for writing: it writes to a file, and a backup is answered over HTTP
as it is made, so it would have to be written whole to disk first, then read again.
A tar member is a 512-byte header (tarfile builds it), the content, and padding to the
next 512 bytes; the archive ends with two empty blocks. Here each piece is compressed as
it comes and handed on, so memory holds one chunk at a time. Reading uses `tarfile`.
"""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Iterable, Iterator
from typing import Protocol

BLOCK = tarfile.BLOCKSIZE
CHUNK = 64 * 1024


class TarGzStream:
    def __init__(self, level: int = 6) -> None:
        # wbits 31: a gzip header and trailer (CRC-32 of everything) around the deflate data.
        self._z = zlib.compressobj(level, zlib.DEFLATED, 31)

    def _header(self, name: str, size: int, mtime: float, kind: bytes, mode: int) -> bytes:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = int(mtime)
        info.type = kind
        info.mode = mode
        return self._z.compress(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict"))

    def directory(self, name: str, mtime: float) -> bytes:
        return self._header(name.rstrip("/") + "/", 0, mtime, tarfile.DIRTYPE, 0o755)

    def file(self, name: str, size: int, mtime: float, content: Iterable[bytes]) -> Iterator[bytes]:
        """A regular file of exactly `size` bytes: content beyond it is cut, content
        short of it (a file that shrank while being read) is padded with zeros."""
        yield self._header(name, size, mtime, tarfile.REGTYPE, 0o644)
        left = size
        for piece in content:
            piece = piece[:left]
            left -= len(piece)
            if piece:
                yield self._z.compress(piece)
            if left == 0:
                break
        if left:
            yield self._z.compress(bytes(left))
        remainder = size % BLOCK
        if remainder:
            yield self._z.compress(bytes(BLOCK - remainder))

    def end(self) -> bytes:
        return self._z.compress(bytes(2 * BLOCK)) + self._z.flush()


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_chunks(handle: Readable, size: int = CHUNK) -> Iterator[bytes]:
    """A binary file's content, `size` bytes at a time."""
    while True:
        piece = handle.read(size)
        if not piece:
            return
        yield piece
