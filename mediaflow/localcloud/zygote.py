"""A process that has imported the engine once and forks engine shards on request.

Importing moto's interpreter takes seconds; a local cloud starts a shard per core, and the tests
start many local clouds. So each hub process starts this zygote once (`zygote.serve`, in a
Python of its own), single-threaded, and asks it for shards: each request carries the shard's
configuration and one end of the shard's pipe to the hub. (multiprocessing's forkserver
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
# Ctrl-C reaches every process of the terminal's group: the hub alone handles it, and ends the
# zygote, the shards (which inherit this) and their sandboxes. Ignored before anything else.
_ZYGOTE_MAIN = (
    "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); import sys; "
    "from mediaflow.localcloud import zygote; zygote.serve(int(sys.argv[1]))"
)
# Importing the engine and parsing a definition take seconds; on a loaded machine, many more.
START_TIMEOUT_SECONDS = 300


class Zygote:
    """The hub's handle on its zygote."""

    _instance: Zygote | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._socket, child = socket.socketpair()
        self.process = subprocess.Popen(
            # Not `-m`: the package imports this module, and running it again as __main__ would
            # make a second copy of it.
            [sys.executable, "-c", _ZYGOTE_MAIN, str(child.fileno())],
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

    def prepare(self, config: engine.EngineConfig) -> None:
        """Have the zygote prepare for shards of this configuration now, while the hub starts."""
        request = pickle.dumps(("prepare", config))
        with self._lock:
            self._socket.sendall(_HEADER.pack(len(request)) + request)

    def start_shard(self, config: engine.EngineConfig) -> tuple[Connection, int]:
        """A new shard running `engine.serve`, and the hub's end of its pipe; and its pid."""
        hub_end, shard_end = socket.socketpair()
        request = pickle.dumps(("start", config))
        with self._lock:
            socket.send_fds(
                self._socket, [_HEADER.pack(len(request)) + request], [shard_end.fileno()]
            )
            self._socket.settimeout(START_TIMEOUT_SECONDS)
            try:
                pid = _HEADER.unpack(_exactly(self._socket, _HEADER.size))[0]
            except (TimeoutError, EOFError) as error:
                raise RuntimeError(f"the engine zygote did not start a shard: {error}") from None
            finally:
                self._socket.settimeout(None)
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
    buffer, fds = b"", []
    while True:
        try:
            data, received, _, _ = socket.recv_fds(hub, 1 << 20, 16)
        except OSError:
            return
        if not data:
            return
        buffer += data
        fds += received
        # One read may hold several requests, or part of one: each is a length, then a pickle.
        while len(buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack(buffer[: _HEADER.size])
            if len(buffer) < _HEADER.size + size:
                break
            kind, config = pickle.loads(buffer[_HEADER.size : _HEADER.size + size])
            buffer = buffer[_HEADER.size + size :]
            engine.prepare(config)
            if kind == "start":
                pid = _fork_shard(hub, fds.pop(0), config)
                try:
                    hub.sendall(_HEADER.pack(pid))
                except OSError:  # the hub is gone, and so is the shard's pipe
                    return


def _fork_shard(hub: socket.socket, pipe: int, config: engine.EngineConfig) -> int:
    pid = os.fork()
    if pid:
        os.close(pipe)
        return pid
    hub.close()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    code = 0
    try:
        engine.serve(Connection(pipe), config)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)


def serve(fd: int) -> None:
    """The zygote process: serves the hub on socket `fd` until the hub closes it."""
    _serve(socket.socket(fileno=fd))
