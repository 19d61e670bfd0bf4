"""A `multipart/form-data` body read as S3 reads a POST form (RFC 7578, RFC 2046 §5.1): the
fields before the file, held in memory and limited to 20 KB with their boundaries ("The form
data and boundaries (excluding the contents of the file) cannot exceed 20KB", POST_OBJECT);
the file, streamed to whoever takes it; and what follows the file, which S3 ignores ("Any
fields below it are ignored"), read only to find a second file.
Pages named in capitals are s3_errors' constants.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mediaflow.localcloud.request_body import RequestBody
from mediaflow.localcloud.s3_errors import S3Error

# S3's limit and answer (observed: the code without the table's `Error` suffix, its spelling).
PRE_DATA_LIMIT = 20480
_PARAMETER = re.compile(r';\s*([A-Za-z0-9_.*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def malformed() -> S3Error:
    return S3Error(
        "MalformedPOSTRequest",
        "The body of your POST request is not well-formed multipart/form-data.",
        400,
    )


def _too_large() -> S3Error:
    return S3Error(
        "MaxPostPreDataLengthExceeded",
        "Your POST request fields preceeding the upload file was too large.",
        400,
        (("MaxPostPreDataLengthBytes", str(PRE_DATA_LIMIT)),),
    )


def boundary_of(content_type: str) -> bytes:
    """The boundary of a `multipart/form-data` Content-Type. Any other type is S3's 412 (observed
    answer; ERROR_RESPONSES names it RequestIsNotMultiPartContent)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind != "multipart/form-data":
        raise S3Error(
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
            412,
            (("Condition", "Bucket POST must be of the enclosure-type multipart/form-data"),),
        )
    for name, value in _PARAMETER.findall(";" + content_type.split(";", 1)[-1]):
        if name.lower() == "boundary":
            boundary = value.strip().strip('"')
            if 0 < len(boundary) <= 70:
                return boundary.encode("latin-1", "replace")
    raise malformed()


@dataclass(frozen=True)
class Part:
    """A part's name and, for a file, the file name it was sent with (None when absent)."""

    name: str
    filename: str | None


def _part(headers: bytes) -> Part:
    disposition = ""
    for line in headers.decode("utf-8", "replace").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-disposition":
            disposition = value
    kind = disposition.split(";", 1)[0].strip().lower()
    parameters = {
        name.lower(): (value[1:-1].replace('\\"', '"') if value.startswith('"') else value.strip())
        for name, value in _PARAMETER.findall(disposition)
    }
    if kind != "form-data" or "name" not in parameters:
        raise malformed()
    return Part(parameters["name"], parameters.get("filename"))


class FormReader:
    """Reads one form from `body`, in order: `fields()`, then `file_into(...)`, then
    `files_after()`."""

    def __init__(self, body: RequestBody, boundary: bytes) -> None:
        self._body = body
        self._delimiter = b"\r\n--" + boundary
        # The body's first boundary has no CRLF before it; one is lent so that every boundary
        # reads alike and a preamble is skipped as the content of no part.
        self._buffer = b"\r\n"
        self._pre_data = -2
        self._ended = False

    def _fill(self) -> None:
        data = self._body.read()
        if not data:
            raise malformed()
        self._buffer += data

    def _take(self, size: int, *, counted: bool) -> bytes:
        taken, self._buffer = self._buffer[:size], self._buffer[size:]
        if counted:
            self._pre_data += len(taken)
            if self._pre_data > PRE_DATA_LIMIT:
                raise _too_large()
        return taken

    def _content(self, sink: Callable[[bytes], None], *, counted: bool) -> None:
        """Passes a part's content to `sink` up to the next boundary, which it consumes."""
        keep = len(self._delimiter) - 1
        while (found := self._buffer.find(self._delimiter)) < 0:
            if len(self._buffer) > keep:
                sink(self._take(len(self._buffer) - keep, counted=counted))
            self._fill()
        sink(self._take(found, counted=counted))
        self._take(len(self._delimiter), counted=counted)

    def _next_part(self, *, counted: bool) -> Part | None:
        """After a boundary: the next part's headers, or None at the closing boundary."""
        while len(self._buffer) < 2:
            self._fill()
        if self._buffer.startswith(b"--"):
            self._ended = True
            return None
        while b"\r\n" not in self._buffer:
            self._fill()
        line_end = self._buffer.index(b"\r\n")
        if self._buffer[:line_end].strip(b" \t"):
            raise malformed()
        self._take(line_end + 2, counted=counted)
        while (end := self._buffer.find(b"\r\n\r\n")) < 0 and not self._buffer.startswith(b"\r\n"):
            if len(self._buffer) > PRE_DATA_LIMIT:
                raise _too_large() if counted else malformed()
            self._fill()
        headers = b"" if self._buffer.startswith(b"\r\n") else self._take(end, counted=counted)
        self._take(2 if not headers else 4, counted=counted)
        return _part(headers)

    def fields(self) -> tuple[list[tuple[str, str]], Part | None]:
        """The fields before the file, as (name, value) in order, and the file's part (None
        when the form has no part named `file`); the file's content is next to read."""
        self._content(lambda _: None, counted=True)
        fields: list[tuple[str, str]] = []
        while (part := self._next_part(counted=True)) is not None:
            if part.name.lower() == "file":
                return fields, part
            value = bytearray()
            self._content(value.extend, counted=True)
            fields.append((part.name, value.decode("utf-8", "replace")))
        return fields, None

    def file_into(self, sink: Callable[[bytes], None]) -> None:
        self._content(sink, counted=False)

    def files_after(self) -> int:
        """Reads the rest of the form and counts further parts named `file`."""
        files = 0
        while not self._ended and (part := self._next_part(counted=False)) is not None:
            files += part.name.lower() == "file"
            self._content(lambda _: None, counted=False)
        self._body.drain()
        return files
