"""The presigned POST to S3: a multipart/form-data body with every field the API gave, in its
order, and then the file as the last part, named `file`
(https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html: S3 ignores fields after
`file`). The file is streamed from disk; the body's length is known beforehand, so it is sent
with a Content-Length rather than chunked."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from mediaflow.device_client.errors import ApiError
from mediaflow.device_client.local_files import FileSlice
from mediaflow.device_client.transport import Response, Transport


def post_file(
    transport: Transport, url: str, fields: dict[str, str], path: Path, size: int
) -> None:
    """POSTs the form; S3's refusal is an ApiError with S3's code (AccessDenied, BadDigest…)."""
    boundary = f"mediaflow-{secrets.token_hex(16)}"
    head = b"".join(_field(boundary, name, value) for name, value in fields.items())
    # A plain ASCII file name: S3 uses it only for ${filename} in a key, which the API never does.
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\n'
        f"Content-Type: {fields.get('Content-Type', 'application/octet-stream')}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    with FileSlice(path, 0, size) as file:
        body = _Chain(head, file, tail)
        answer = transport.request(
            "POST",
            url,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + size + len(tail)),
            },
            body=body,
        )
    if answer.status >= 300:
        raise s3_error(answer)


def _field(boundary: str, name: str, value: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()


def s3_error(answer: Response) -> ApiError:
    """S3's XML error (`<Error><Code>…</Code><Message>…</Message></Error>`) as an ApiError."""
    try:
        root = ElementTree.fromstring(answer.data)
    except ElementTree.ParseError:
        text = answer.data[:200].decode("utf-8", "replace").strip()
        return ApiError(answer.status, "", f"S3 refused the upload: {text or 'no explanation'}")
    code = root.findtext("Code") or ""
    message = root.findtext("Message") or "no explanation"
    return ApiError(answer.status, code, f"S3 refused the upload: {message}")


class _Chain:
    """Bytes, then a file slice, then bytes, read as one stream."""

    def __init__(self, head: bytes, file: FileSlice, tail: bytes) -> None:
        self._parts: list[bytes | FileSlice] = [head, file, tail]

    def read(self, size: int = -1) -> bytes:
        while self._parts:
            part = self._parts[0]
            if isinstance(part, bytes):
                if not part:
                    self._parts.pop(0)
                    continue
                block, rest = (part, b"") if size < 0 else (part[:size], part[size:])
                self._parts[0] = rest
                return block
            block = part.read(size)
            if block:
                return block
            self._parts.pop(0)
        return b""
