"""The emulator's S3 behind the local S3 gateway: a request passed on as it came (method, path,
query, headers and body, streamed a block at a time) and the emulator's answer passed back
unchanged, also streamed. Only what belongs to one hop of HTTP is the gateway's own: the
connection and how the body is framed.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterable, Sequence
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from mediaflow.localcloud.request_body import BLOCK

# Headers of one connection, not of the request (RFC 9110 §7.6.1), and `Expect`, which the
# gateway has already answered itself.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)


class Upstream:
    """The emulator's endpoint, `http://host:port`."""

    def __init__(self, url: str, timeout: float = 600.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the emulator's endpoint must be http://host:port, not {url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._timeout = timeout

    def send(
        self,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: Iterable[bytes],
        length: int | None,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Sends a request with `length` bytes of body (None: no body, as the client sent none).
        The caller closes the connection once it has read the answer."""
        connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        try:
            connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    connection.putheader(name, value)
            if length is not None:
                connection.putheader("Content-Length", str(length))
            connection.endheaders()
            for data in body:
                connection.send(data)
            return connection, connection.getresponse()
        except BaseException:
            connection.close()
            raise


def relay(response: http.client.HTTPResponse, client: BaseHTTPRequestHandler, head: bool) -> None:
    """Passes the emulator's answer to the client: status, headers and body as they came."""
    client.send_response_only(response.status, response.reason)
    length = response.getheader("Content-Length")
    for name, value in response.getheaders():
        if name.lower() not in _HOP_BY_HOP:
            client.send_header(name, value)
    bodiless = head or response.status in (204, 304) or 100 <= response.status < 200
    chunked = not bodiless and length is None
    if chunked:
        client.send_header("Transfer-Encoding", "chunked")
    client.end_headers()
    if bodiless:
        return
    while data := response.read(BLOCK):
        client.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n" if chunked else data)
    if chunked:
        client.wfile.write(b"0\r\n\r\n")
