"""The cursor of a listing: where the next page starts (DynamoDB's ExclusiveStartKey), bound to
the caller, the device listed and the filters, with an expiry, and signed with HMAC-SHA256.

A cursor is `<payload>.<signature>`, both base64url without padding. A cursor that was altered,
issued to another caller or for other filters, or that has expired is InvalidCursor: it is
never used to read, so no cursor can reach anyone else's media.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from device_api.errors import InvalidCursor

CURSOR_SECONDS = 3600
VERSION = 1


def issue(key: bytes, scope: dict[str, Any], start_key: dict[str, Any], now: datetime) -> str:
    """A cursor for `scope` (who asks, about what) resuming at `start_key`."""
    payload = {
        "v": VERSION,
        "scope": scope,
        "start": start_key,
        "exp": int(now.timestamp()) + CURSOR_SECONDS,
    }
    body = _encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_encode(_sign(key, body))}"


def redeem(key: bytes, cursor: str, scope: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The start key of a cursor issued for exactly `scope` and not expired; else InvalidCursor."""
    body, _, signature = cursor.partition(".")
    try:
        given = _decode(signature)
    except ValueError:
        raise InvalidCursor("the cursor is not one this API issued", field="cursor") from None
    if not hmac.compare_digest(given, _sign(key, body)):
        raise InvalidCursor("the cursor is not one this API issued", field="cursor")
    payload = json.loads(_decode(body))
    if payload.get("v") != VERSION or payload.get("scope") != scope:
        raise InvalidCursor(
            "the cursor belongs to another listing: pass the same filters, or start again",
            field="cursor",
        )
    if int(now.timestamp()) >= payload.get("exp", 0):
        raise InvalidCursor("the cursor has expired: start the listing again", field="cursor")
    start: dict[str, Any] = payload["start"]
    return start


def _sign(key: bytes, body: str) -> bytes:
    return hmac.new(key, body.encode(), hashlib.sha256).digest()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    if not text or not text.isascii():
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as error:
        raise ValueError("not base64url") from error
