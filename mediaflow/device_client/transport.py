"""HTTP for the device client, over urllib3 (botocore's own HTTP library, so the client needs
nothing the tool does not already install). One pool of keep-alive connections, shared by the
client's threads; no retries of its own: the uploader decides what is safe to send again."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import urllib3

from mediaflow.device_client.errors import TransportError


@dataclass(frozen=True)
class Response:
    status: int
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.data) if self.data else None


class Transport:
    """Sends one request and returns the whole answer; a connection that cannot be made, is
    dropped or times out is a TransportError naming the host."""

    def __init__(self, *, connect_timeout: float = 10.0, read_timeout: float = 120.0) -> None:
        self._pool = urllib3.PoolManager(
            maxsize=16,
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            retries=False,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> Response:
        try:
            answer = self._pool.request(
                method, url, headers=headers or {}, body=body, redirect=False
            )
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise TransportError(
                f"no answer from {urlsplit(url).netloc}: {_reason(error)}"
            ) from None
        return Response(
            answer.status, answer.data, {k.lower(): v for k, v in answer.headers.items()}
        )

    def close(self) -> None:
        self._pool.clear()


def _reason(error: BaseException) -> str:
    """The innermost cause, which says what happened (refused, reset, timed out)."""
    reason: BaseException = error
    while getattr(reason, "reason", None) is not None and reason.reason is not reason:  # type: ignore[attr-defined]
        reason = reason.reason  # type: ignore[attr-defined]
    text = str(reason)
    # urllib3 prefixes the connection object's repr; what follows the colon is the cause.
    return text.split(">: ", 1)[-1] if ">: " in text else text or type(reason).__name__
