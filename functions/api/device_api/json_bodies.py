"""Request bodies as JSON, where anything that is not JSON is a 400, never a 500.

Python's parser raises more than JSONDecodeError on hostile input: ValueError for an integer
of more than 4300 digits, RecursionError for deeply nested arrays. Powertools turns only
JSONDecodeError into a validation error, so every failure becomes one.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

MAX_BODY_BYTES = 64 * 1024
"""The largest body any route takes: 100 part checksums are about 10 KB."""
_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise json.JSONDecodeError(f"not JSON ({type(error).__name__})", str(text), 0) from error


def body_problem(event: dict[str, Any]) -> tuple[int, str] | None:
    """(status, why) when the event's body is too large or not text; None when it can be
    parsed. API Gateway base64-encodes bodies it does not take for text."""
    headers = event.get("headers") or {}
    content_type = str(headers.get("content-type", "")).strip().lower()
    if content_type.startswith(_FORMS):
        # Powertools would parse these as forms, and fails (a 500) on a multipart type that
        # names no boundary; the API takes JSON only.
        return 400, "the body must be JSON (application/json), not a form"
    body = event.get("body")
    if not body:
        return None
    if not isinstance(body, str):
        return 400, "the body must be JSON text"
    if event.get("isBase64Encoded"):
        if len(body) > (MAX_BODY_BYTES + 2) // 3 * 4:
            return 413, f"the body is larger than {MAX_BODY_BYTES} bytes"
        try:
            raw = base64.b64decode(body, validate=True)
            raw.decode("utf-8")
        except (binascii.Error, ValueError):
            return 400, "the body must be JSON text in UTF-8"
        return None
    if len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        return 413, f"the body is larger than {MAX_BODY_BYTES} bytes"
    return None
