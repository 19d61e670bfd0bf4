"""The local HTTP API on a real socket: requests off the wire go to `HttpApi.handle`, the route's
function runs in its sandbox, and `HttpApi.answer` makes the response, as API Gateway serves an
HTTP API's stage at its invoke URL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from mediaflow.localcloud.http_api import MAX_PAYLOAD_BYTES, HttpApi
from mediaflow.localcloud.http_server import LocalServer
from mediaflow.localcloud.payload_v2 import HttpRequest, HttpResponse
from mediaflow.localcloud.sandbox import Invocation

_log = logging.getLogger(__name__)

InvokeFunction = Callable[[str, dict[str, Any]], Invocation]
"""Runs a function (by logical ID) on an event and gives Lambda's answer."""


class ApiServer:
    """Serves `api` on `host`:`port` (a free port when 0); `start()` gives the base URL."""

    def __init__(
        self, api: HttpApi, invoke: InvokeFunction, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.api = api
        self.invoke = invoke
        self._address = (host, port)
        self._server: LocalServer | None = None
        self.url = ""

    def start(self) -> str:
        self._server = LocalServer(self, _Handler, self._address)
        self.url = self._server.start("http-api")
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def respond(self, request: HttpRequest) -> HttpResponse:
        outcome = self.api.handle(request)
        if isinstance(outcome, HttpResponse):
            return outcome
        invocation = self.invoke(outcome.function, outcome.event)
        return self.api.answer(outcome, invocation.body, invocation.function_error)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalServer

    def _serve(self) -> None:
        body = self._body()
        if body is None:
            self.close_connection = True
            self._send(HttpResponse.message(413, "Request Entity Too Large"))
            return
        request = HttpRequest(
            method=self.command,
            target=self.path,
            headers=tuple(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        try:
            response = self.server.owner.respond(request)
        except Exception:  # the emulator's own failure: what API Gateway says for a 5xx
            _log.exception("local HTTP API: %s %s failed", self.command, self.path)
            response = HttpResponse.message(500, "Internal Server Error")
        self._send(response)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_OPTIONS = do_PATCH = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, PROPFIND...) goes to the routes too: API Gateway
        # answers one no route takes with its 404, where http.server would answer 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _body(self) -> bytes | None:
        """The request body; None when it is over the HTTP API's payload quota."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            size = 0
            while True:
                length = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                size += length
                if size > MAX_PAYLOAD_BYTES:
                    return None
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_PAYLOAD_BYTES:
            return None
        return self.rfile.read(length)

    def _send(self, response: HttpResponse) -> None:
        self.send_response_only(response.status)
        self.send_header("Date", self.date_time_string())
        for name, value in response.headers:
            if name.lower() not in ("content-length", "date", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("local HTTP API: " + format, *args)
