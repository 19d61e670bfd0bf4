"""The body of a request to the local S3 gateway, read as it arrives: `Content-Length` bytes or
HTTP/1.1 chunks, never more than a block at a time; and a body kept aside (in memory while
small, on disk beyond) with the digests S3 checks an upload against, so that what the gateway
refuses never reaches the emulator and what it stores is held once.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from typing import IO, Any, Protocol

from mediaflow.localcloud.s3_errors import S3Error

BLOCK = 1 << 20
# Bodies up to this size stay in memory while they are checked; larger ones go to a file.
_IN_MEMORY = 8 << 20


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...

    def readline(self, size: int, /) -> bytes: ...


class RequestBody:
    """A readable body of known length (`length`) or chunked (`length` None)."""

    def __init__(self, stream: Readable, length: int | None, chunked: bool) -> None:
        self._stream = stream
        self.length = length
        self._left = length or 0
        self._chunked = chunked
        self._chunk_left = 0
        self._done = not chunked and not length

    @classmethod
    def of(cls, stream: Readable, headers: Any) -> RequestBody:
        if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
            return cls(stream, None, chunked=True)
        declared = headers.get("Content-Length")
        if declared is None:
            return cls(stream, None, chunked=False)
        try:
            length = int(declared)
        except ValueError:
            length = -1
        if length < 0:
            raise S3Error("BadRequest", "An error occurred when parsing the HTTP request.", 400)
        return cls(stream, length, chunked=False)

    @property
    def declared(self) -> bool:
        """Whether the client sent `Content-Length` (S3 requires it of a POST form)."""
        return self.length is not None

    def read(self, size: int = BLOCK) -> bytes:
        """Up to `size` bytes; b"" once the body is over."""
        if self._done:
            return b""
        if not self._chunked:
            data = self._stream.read(min(size, self._left))
            if not data:
                raise S3Error(
                    "IncompleteBody",
                    "You did not provide the number of bytes specified by the Content-Length "
                    "HTTP header",
                    400,
                )
            self._left -= len(data)
            self._done = self._left == 0
            return data
        if self._chunk_left == 0:
            line = self._stream.readline(1024)
            try:
                self._chunk_left = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise S3Error(
                    "IncompleteBody", "The request body is not valid chunks.", 400
                ) from None
            if self._chunk_left == 0:
                # The last chunk, then trailers until an empty line.
                while self._stream.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass
                self._done = True
                return b""
        data = self._stream.read(min(size, self._chunk_left))
        if not data:
            raise S3Error("IncompleteBody", "The request body ended inside a chunk.", 400)
        self._chunk_left -= len(data)
        if self._chunk_left == 0:
            self._stream.readline(8)
        return data

    def blocks(self) -> Iterator[bytes]:
        while data := self.read():
            yield data

    def drain(self) -> None:
        """Reads what is left, so that a refusal answers a client still sending its body."""
        try:
            for _ in self.blocks():
                pass
        except (S3Error, OSError):
            pass


class Digests:
    """The digests S3 can check a body against, computed as the body goes by: Content-MD5's
    MD5 and the SHA-256, SHA-1 and CRC32 of `x-amz-checksum-*` (OBJECT_INTEGRITY), each as
    the base64 of its bytes. Only the ones asked for are computed."""

    def __init__(self, algorithms: Iterable[str]) -> None:
        wanted = set(algorithms)
        self._hashes: dict[str, Any] = {
            name: hashlib.new(name) for name in ("md5", "sha1", "sha256") if name in wanted
        }
        self._crc32: int | None = 0 if "crc32" in wanted else None

    def update(self, data: bytes) -> None:
        for digest in self._hashes.values():
            digest.update(data)
        if self._crc32 is not None:
            self._crc32 = zlib.crc32(data, self._crc32)

    def base64(self, algorithm: str) -> str | None:
        if algorithm == "crc32":
            raw = None if self._crc32 is None else self._crc32.to_bytes(4, "big")
        else:
            digest = self._hashes.get(algorithm)
            raw = None if digest is None else digest.digest()
        return None if raw is None else base64.b64encode(raw).decode()


class Spooled:
    """A body read to its end: its bytes (a file positioned at 0), size and digests."""

    def __init__(self, algorithms: Iterable[str], limit: int | None = None) -> None:
        # Closed by `close`, once what it holds has gone on or been refused.
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115
        self.size = 0
        self.digests = Digests(algorithms)
        # Past `limit` bytes the body is only counted: S3 will refuse it for its size anyway.
        self._limit = limit

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self._limit is None or self.size <= self._limit:
            self.file.write(data)
            self.digests.update(data)

    def finish(self) -> Spooled:
        self.file.seek(0)
        return self

    def close(self) -> None:
        self.file.close()

    @classmethod
    def of(cls, body: RequestBody, algorithms: Iterable[str]) -> Spooled:
        spooled = cls(algorithms)
        try:
            for data in body.blocks():
                spooled.write(data)
        except BaseException:
            spooled.close()
            raise
        return spooled.finish()
