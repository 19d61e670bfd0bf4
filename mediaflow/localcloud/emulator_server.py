"""The emulator's HTTP endpoint (`LocalCloud.endpoint_url`): moto's server, except that Step
Functions calls are answered by the engine shards, which run the executions.

Inside the hub, Step Functions calls of boto3's default session already go to the shards
(shards.py); a client in another process (the integration suite against `mediaflow serve`, an
operator's script) reaches the local cloud only over HTTP, where moto alone would answer, without
the state machine. Requests whose `X-Amz-Target` is `AWSStepFunctions.<Operation>` (the JSON 1.0
protocol every Step Functions SDK speaks) are therefore made again through the hub's routed
client, and its answer is sent back as Step Functions would send it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError, ParamValidationError
from moto.server import ThreadedMotoServer

_TARGET_PREFIX = "AWSStepFunctions."
_CONTENT_TYPE = "application/x-amz-json-1.0"

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class EmulatorServer(ThreadedMotoServer):
    """moto's threaded server; once `answer_step_functions_with(client)` is called, Step
    Functions requests are answered by `client` (the hub's client routed to the shards)."""

    def __init__(self, ip_address: str, port: int) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self._step_functions: Any = None

    def start(self) -> None:
        super().start()
        server = self._server
        assert server is not None
        moto_app: WsgiApp = server.app

        def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
            if self._step_functions is None or not target.startswith(_TARGET_PREFIX):
                return moto_app(environ, start_response)
            return _answer(self._step_functions, target, environ, start_response)

        server.app = app

    def answer_step_functions_with(self, client: Any) -> None:
        self._step_functions = client


def _answer(
    client: Any, target: str, environ: dict[str, Any], start_response: StartResponse
) -> list[bytes]:
    operation = target.removeprefix(_TARGET_PREFIX)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        params = json.loads(environ["wsgi.input"].read(length) or b"{}")
        method = getattr(client, xform_name(operation))
    except (ValueError, AttributeError):
        return _send(start_response, 400, _error("UnknownOperationException", target))
    try:
        parsed = dict(method(**params))
    except ClientError as error:
        details = error.response.get("Error", {})
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        body = _error(str(details.get("Code", "")), str(details.get("Message", "")))
        return _send(start_response, int(status), body)
    except ParamValidationError as error:
        return _send(start_response, 400, _error("ValidationException", str(error)))
    parsed.pop("ResponseMetadata", None)
    return _send(start_response, 200, parsed)


def _error(code: str, message: str) -> dict[str, str]:
    return {"__type": code, "message": message}


def _send(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    # The JSON protocol sends timestamps as epoch seconds.
    data = json.dumps(body, default=_epoch_seconds).encode()
    start_response(
        f"{status} {'OK' if status < 400 else 'Error'}",
        [("Content-Type", _CONTENT_TYPE), ("Content-Length", str(len(data)))],
    )
    return [data]


def _epoch_seconds(value: object) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
