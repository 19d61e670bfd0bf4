"""A threaded HTTP server for the local cloud's endpoints (the S3 gateway, the HTTP API) that
can be stopped with its keep-alive connections still open, as a service going away closes them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LocalServer(ThreadingHTTPServer):
    """Serves `handler` for `owner` (the handler reaches it as `self.server.owner`) on a thread
    of its own; `start()` gives `http://host:port`, `stop()` ends every connection."""

    daemon_threads = True

    def __init__(
        self, owner: Any, handler: type[BaseHTTPRequestHandler], address: tuple[str, int]
    ) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__(address, handler)

    def start(self, name: str) -> str:
        self._thread = threading.Thread(target=self.serve_forever, name=name, daemon=True)
        self._thread.start()
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self.shutdown()
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.server_close()
        if self._thread is not None:
            self._thread.join()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)
