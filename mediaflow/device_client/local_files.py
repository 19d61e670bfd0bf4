"""A file as a device declares it to the API (size, SHA-256 of the whole file, content type),
and the readers that stream a file, or one part of it, from disk without holding it in memory."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mediaflow.device_client.errors import DeviceClientError

_BLOCK = 1024 * 1024
# Names some systems' mime.types give for types the API's allow-list spells otherwise
# (layers/shared/mediakit/media_types.py).
_ALIASES = {
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/x-aiff": "audio/aiff",
    "audio/x-flac": "audio/flac",
    "audio/mp3": "audio/mpeg",
    "image/x-ms-bmp": "image/bmp",
    "audio/x-m4a": "audio/mp4",
    "audio/x-aac": "audio/aac",
    "audio/aacp": "audio/aac",
}
# Phone and recorder audio that Python's table or the system's mime.types often lack (Python's
# own has no .caf or .m4b); looked up before them, so that every machine declares the same.
_EXTENSIONS = {
    ".m4a": "audio/mp4",
    ".m4b": "audio/mp4",
    ".3gp": "audio/3gpp",
    ".3g2": "audio/3gpp2",
    ".aac": "audio/aac",
    ".caf": "audio/x-caf",
    ".amr": "audio/amr",
    ".awb": "audio/amr-wb",
}


@dataclass(frozen=True)
class LocalFile:
    path: Path
    size: int
    sha256: str
    content_type: str

    @classmethod
    def read(cls, path: Path) -> LocalFile:
        """Hashes the file once, in blocks; an unreadable file is a DeviceClientError."""
        digest = hashlib.sha256()
        size = 0
        try:
            with path.open("rb") as stream:
                while block := stream.read(_BLOCK):
                    digest.update(block)
                    size += len(block)
        except OSError as error:
            raise DeviceClientError(f"cannot read {path}: {error.strerror or error}") from None
        return cls(path, size, digest.hexdigest(), content_type(path))

    def part_range(self, number: int, part_size: int) -> tuple[int, int]:
        """Offset and length of part `number` (from 1), as the API split the file."""
        offset = (number - 1) * part_size
        return offset, max(0, min(part_size, self.size - offset))

    def part_sha256(self, number: int, part_size: int) -> str:
        offset, length = self.part_range(number, part_size)
        digest = hashlib.sha256()
        with FileSlice(self.path, offset, length) as part:
            while block := part.read(_BLOCK):
                digest.update(block)
        return digest.hexdigest()


def content_type(path: Path) -> str:
    """The media type the device declares, from the file's extension; the API refuses what is
    not on its allow-list, naming the field."""
    known = _EXTENSIONS.get(path.suffix.lower())
    if known:
        return known
    guessed = mimetypes.guess_type(path.name, strict=False)[0] or "application/octet-stream"
    return _ALIASES.get(guessed.lower(), guessed.lower())


class FileSlice:
    """`length` bytes of a file from `offset`, read as a stream (http.client sends a body that
    has `read` block by block)."""

    def __init__(self, path: Path, offset: int, length: int) -> None:
        self._stream: BinaryIO = path.open("rb")
        self._stream.seek(offset)
        self._left = length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        wanted = self._left if size is None or size < 0 else min(size, self._left)
        block = self._stream.read(wanted)
        self._left -= len(block)
        return block

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> FileSlice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
