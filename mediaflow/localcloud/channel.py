"""Calls between the local cloud's processes over one pipe, in both directions at once.

The hub (the process that owns the emulated services) and each engine shard (a process that runs
state machine executions) call each other: the hub starts and describes executions, a shard asks
the hub for injected faults and reports executions that ended. A call waits for its reply; the
other side runs it on a thread of its own, so a call that blocks (a test's hook, say) never
holds up the pipe.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any


class RemoteError(Exception):
    """The other side raised while running a call."""


class ChannelClosed(Exception):
    """The other side is gone."""


class Channel:
    def __init__(
        self, connection: Connection, handlers: dict[str, Callable[..., Any]], *, name: str
    ) -> None:
        self._connection = connection
        self._handlers = handlers
        self._sending = threading.Lock()
        self._waiting: dict[int, Future[Any]] = {}
        self._ids = itertools.count()
        self._workers = ThreadPoolExecutor(max_workers=32, thread_name_prefix=f"{name}-call")
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, name=f"{name}-reader", daemon=True)
        self._reader.start()

    def call(self, method: str, *args: Any) -> Any:
        if self._closed.is_set():
            raise ChannelClosed(f"cannot call {method}: the other process has ended")
        call_id = next(self._ids)
        reply: Future[Any] = Future()
        self._waiting[call_id] = reply
        self._send(("call", call_id, method, args))
        return reply.result()

    def notify(self, method: str, *args: Any) -> None:
        """A call whose reply nobody waits for."""
        if not self._closed.is_set():
            self._send(("notify", None, method, args))

    def close(self) -> None:
        self._closed.set()
        # Closing the descriptor would not wake the reader blocked on it, nor tell the other
        # side: shutting the socket down does both.
        with contextlib.suppress(OSError):
            socket.socket(fileno=os.dup(self._connection.fileno())).shutdown(socket.SHUT_RDWR)
        self._connection.close()
        self._workers.shutdown(wait=False, cancel_futures=True)

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def wait_closed(self, timeout: float | None = None) -> bool:
        return self._closed.wait(timeout)

    def _send(self, message: tuple[Any, ...]) -> None:
        with self._sending:
            try:
                self._connection.send(message)
            except (OSError, ValueError) as error:
                raise ChannelClosed(str(error)) from None

    def _read(self) -> None:
        try:
            while True:
                kind, call_id, first, second = self._connection.recv()
                if kind == "reply":
                    future = self._waiting.pop(call_id)
                    if first:
                        future.set_result(second)
                    else:
                        future.set_exception(RemoteError(second))
                else:
                    self._workers.submit(self._run, kind, call_id, first, second)
        except (EOFError, OSError):
            pass
        finally:
            self._closed.set()
            for future in self._waiting.values():
                future.set_exception(ChannelClosed("the other process has ended"))
            self._waiting.clear()

    def _run(self, kind: str, call_id: int, method: str, args: tuple[Any, ...]) -> None:
        try:
            result = self._handlers[method](*args)
        except Exception as error:
            if kind == "call":
                self._reply(call_id, False, f"{type(error).__name__}: {error}")
            return
        if kind == "call":
            self._reply(call_id, True, result)

    def _reply(self, call_id: int, ok: bool, value: Any) -> None:
        with contextlib.suppress(ChannelClosed):  # nobody is left to hear it
            self._send(("reply", call_id, ok, value))
