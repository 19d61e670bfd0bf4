"""The names the API chooses: an upload's key, `<UploadPrefix><deviceId>/<ULID><extension>`, and
its `mediaId`, which is the workflow's own rule (*Identify object*: SHA-256 of
`<bucket>/<key>`), so that the record the API writes is the one the workflow later claims.

A ULID (https://github.com/ulid/spec) is 48 bits of milliseconds and 80 random bits in Crockford's
base32: keys sort by time, and two uploads never share one, so no upload overwrites another.
"""

from __future__ import annotations

import hashlib
import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(now_ms: int | None = None) -> str:
    """26 characters: the time in milliseconds (10), then 80 random bits (16)."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = (millis << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def upload_key(upload_prefix: str, device_id: str, extension: str) -> str:
    return f"{upload_prefix}{device_id}/{new_ulid()}{extension}"


def media_id(bucket: str, key: str) -> str:
    """The record's partition key for an object (lower-case hex SHA-256)."""
    return hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()
