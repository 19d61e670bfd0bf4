"""The device API's routes (docs/openapi.json), called with the device's access token.

The token comes from signing in (Cognito's InitiateAuth USER_PASSWORD_AUTH, through the target);
it is renewed by signing in again a minute before it expires, or when the API answers 401 (a
token that expired mid-run, or was revoked). Every route the client calls is safe to send again
(GETs, POST /uploads with its Idempotency-Key, part URLs, complete), so a dropped connection is
retried with back-off.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from mediaflow.device_client.backoff import Backoff
from mediaflow.device_client.errors import ApiError, TransportError
from mediaflow.device_client.transport import Response, Transport


class Tokens(Protocol):
    @property
    def access_token(self) -> str: ...
    @property
    def expires_in(self) -> int: ...


SignIn = Callable[[], Tokens]
# Sign in again this long before the access token expires, so no request carries a stale one.
_RENEW_BEFORE_SECONDS = 60.0
# Throttled (API Gateway's 429) or a passing server failure: worth the same request again.
_TRANSIENT = frozenset({429, 500, 502, 503, 504})


class DeviceApi:
    """The API at `url` (the stage's invoke URL, the stack's DeviceApiUrl output), as the device
    `sign_in` signs in."""

    def __init__(
        self,
        url: str,
        sign_in: SignIn,
        transport: Transport | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._sign_in = sign_in
        self.transport = transport or Transport()
        self.backoff = backoff or Backoff()
        self._lock = threading.Lock()
        self._token = ""
        self._renew_at = 0.0
        self.sign_ins = 0

    # -- the routes -------------------------------------------------------------------------

    def create_upload(self, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        return self._call("POST", "/uploads", body, {"Idempotency-Key": idempotency_key})

    def part_urls(self, media_id: str, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        answer = self._call("POST", f"/uploads/{media_id}/parts", {"parts": parts})
        return list(answer["parts"])

    def progress(self, media_id: str) -> dict[str, Any]:
        return self._call("GET", f"/uploads/{media_id}")

    def complete(self, media_id: str) -> dict[str, Any]:
        return self._call("POST", f"/uploads/{media_id}/complete", {})

    def media(self, media_id: str) -> dict[str, Any]:
        return self._call("GET", f"/media/{media_id}")

    # -- the calls --------------------------------------------------------------------------

    def sign_in(self) -> None:
        """Signs in now (a wrong password is a DeviceClientError from the target)."""
        self._token_for(force=True)

    def _token_for(self, *, force: bool = False, stale: str = "") -> str:
        with self._lock:
            # Another thread may have renewed the token this one found stale.
            if (
                force
                or not self._token
                or self._token == stale
                or time.monotonic() >= self._renew_at
            ):
                tokens = self._sign_in()
                self.sign_ins += 1
                self._token = tokens.access_token
                self._renew_at = time.monotonic() + max(
                    0.0, tokens.expires_in - _RENEW_BEFORE_SECONDS
                )
            return self._token

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        token = self._token_for()
        renewed = False
        attempt = 0
        while True:
            sent = {"Authorization": f"Bearer {token}", **(headers or {})}
            if data is not None:
                sent["Content-Type"] = "application/json"
            try:
                answer = self.transport.request(method, self.url + path, headers=sent, body=data)
            except TransportError:
                if not self.backoff.more_after(attempt):
                    raise
                self.backoff.sleep(attempt)
                attempt += 1
                continue
            if answer.status == 401 and not renewed:
                # Expired or revoked mid-run: one new sign-in, then the same request again.
                token, renewed = self._token_for(stale=token), True
                continue
            if answer.status in _TRANSIENT and self.backoff.more_after(attempt):
                self.backoff.sleep(attempt)
                attempt += 1
                continue
            if answer.status >= 400:
                raise api_error(answer)
            return dict(answer.json() or {})


def api_error(answer: Response) -> ApiError:
    """The API's error shape `{"error": {"code", "message", "field"}}`, or API Gateway's own
    `{"message": ...}` (401, 429, 5xx)."""
    try:
        body = answer.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        message = str(error.get("message", ""))
        if error.get("field"):
            message = f"{message} (field {error['field']})"
        return ApiError(answer.status, str(error.get("code", "")), message)
    if isinstance(body, dict) and "message" in body:
        return ApiError(answer.status, "", str(body["message"]))
    text = answer.data[:200].decode("utf-8", "replace").strip()
    return ApiError(answer.status, "", text or "no explanation")
