"""What an upload says about itself besides its bytes: the SHA-256 that S3 checked on arrival and
the time the device says it was captured.

`sha256_hex` reads HeadObject's `ChecksumSHA256` (asked for with ChecksumMode ENABLED). S3 keeps
it when the upload carried `x-amz-checksum-sha256` (a presigned POST of the HTTP API pins it) and
refused the upload if the bytes did not match; for a multipart upload S3 keeps a checksum of the
parts' checksums (ChecksumType COMPOSITE, "<base64>-<parts>"), which is not the file's SHA-256,
so there is none to record. Such an object is known by its ETag too ("<md5 of the parts' md5s>-
<parts>"), which every S3 answer carries even where the checksum's type or suffix is missing.
https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html

`captured_at_problem` holds the object metadata `captured-at` (`x-amz-meta-captured-at`) to
RFC 3339's date-time, the shape the HTTP API accepts and answers with.
https://www.rfc-editor.org/rfc/rfc3339#section-5.6
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

CAPTURED_AT = "captured-at"
"""The user metadata name (without `x-amz-meta-`) of the device's capture time."""

_SHA256_BYTES = 32
# full-date "T" full-time, with "t" and "z" as RFC 3339 allows; second 60 is a leap second.
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)


def sha256_hex(head_response: Mapping[str, Any]) -> str:
    """The object's SHA-256 in lower-case hex, from HeadObject's answer; "" when S3 has none for
    the whole object (none was sent, or only a composite one of a multipart upload's parts)."""
    checksum = head_response.get("ChecksumSHA256") or ""
    multipart = "-" in str(head_response.get("ETag", "")).strip('"')
    checksum_type = head_response.get("ChecksumType") or ("COMPOSITE" if multipart else "")
    if not checksum or checksum_type == "COMPOSITE":
        return ""
    try:
        digest = base64.b64decode(checksum, validate=True)
    except (binascii.Error, ValueError):
        return ""  # e.g. "<base64>-3": a composite checksum reported without its type
    return digest.hex() if len(digest) == _SHA256_BYTES else ""


def captured_at_problem(value: str) -> str:
    """Why the metadata `captured-at` is not an RFC 3339 date-time, in a sentence; "" when it
    is one."""
    match = _DATE_TIME.fullmatch(value)
    if match is not None:
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        offset = match.group(8)
        try:
            # A leap second is checked as the second before it: datetime has no second 60.
            datetime(year, month, day, hour, minute, min(second, 59))
            if offset not in ("Z", "z"):
                hours, minutes = int(offset[1:3]), int(offset[4:6])
                if hours > 23 or minutes > 59:
                    raise ValueError(offset)
            if second <= 60:
                return ""
        except ValueError:
            pass
    return (
        f"object metadata {CAPTURED_AT} is {value[:80]!r}, not an RFC 3339 date-time "
        "such as 2024-05-01T12:00:00Z"
    )
