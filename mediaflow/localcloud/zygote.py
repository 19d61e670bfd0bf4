"""A process that has imported the engine once and forks engine shards on request.

Importing moto's interpreter takes seconds; a local cloud starts a shard per core, and the tests
start many local clouds. So each hub process starts this zygote once (`python -m
mediaflow.localcloud.zygote`), single-threaded, and asks it for shards: each request carries the
shard's configuration and one end of the shard's pipe to the hub. (multiprocessing's forkserver
does the same but first re-runs the caller's main script in every child.)
"""

from __future__ import annotations

import atexit
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
import traceback
from multiprocessing.connection import Connection

from mediaflow.localcloud import engine

_HEADER = struct.Struct(">I")


class Zygote:
    """The hub's handle on its zygote."""

    _instance: Zygote | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._socket, child = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mediaflow.localcloud.zygote", str(child.fileno())],
            pass_fds=[child.fileno()],
            stdin=subprocess.DEVNULL,
        )
        child.close()
        atexit.register(self.stop)

    @classmethod
    def shared(cls) -> Zygote:
        with cls._lock:
            if cls._instance is None or cls._instance.process.poll() is not None:
                cls._instance = cls()
            return cls._instance

    def start_shard(self, config: engine.EngineConfig) -> tuple[Connection, int]:
        """A new shard running `engine.serve`, and the hub's end of its pipe; and its pid."""
        hub_end, shard_end = socket.socketpair()
        request = pickle.dumps(config)
        with self._lock:
            socket.send_fds(
                self._socket, [_HEADER.pack(len(request)) + request], [shard_end.fileno()]
            )
            pid = _HEADER.unpack(_exactly(self._socket, _HEADER.size))[0]
        shard_end.close()
        return Connection(hub_end.detach()), pid

    def stop(self) -> None:
        self._socket.close()
        self.process.wait()


def _exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError("the zygote has ended")
        data += chunk
    return data


def _serve(hub: socket.socket) -> None:
    # Shards are never waited for here: the kernel reaps them.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(hub, 1 << 20, 1)
        except OSError:
            return
        if not message:
            return
        (size,) = _HEADER.unpack(message[: _HEADER.size])
        payload = message[_HEADER.size :]
        while len(payload) < size:
            payload += _exactly(hub, size - len(payload))
        config = pickle.loads(payload)
        engine.prepare(config)
        pid = os.fork()
        if pid == 0:
            hub.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            code = 0
            try:
                engine.serve(Connection(fds[0]), config)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        os.close(fds[0])
        hub.sendall(_HEADER.pack(pid))


if __name__ == "__main__":
    _serve(socket.socket(fileno=int(sys.argv[1])))
