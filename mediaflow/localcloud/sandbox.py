"""Function sandboxes: each warm instance of a function is a process of its own, as on Lambda.

A sandbox starts from the layout `sam build` produces (the template's CodeUri as /var/task, its
layers on /opt's paths, see `template.FunctionSpec.python_path`), with the template's environment
and nothing of the developer's, imports the handler once (a cold start), then serves invocations
one at a time (warm starts). `MemorySize` is enforced on the process's peak resident memory and
`Timeout` in wall-clock time: either ends the sandbox, and the invocation answers what Lambda
answers. Handlers reach S3 and the rest over HTTP at `AWS_ENDPOINT_URL`, the emulator's server.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mediaflow.localcloud import lambda_failures
from mediaflow.localcloud.dependencies import importable_modules, requirement_files
from mediaflow.localcloud.template import REGION, FunctionSpec

RUNTIME_SCRIPT = Path(__file__).with_name("lambda_runtime.py")
MEMORY_POLL_SECONDS = 0.01
# Warm instances per function and engine. Lambda starts one per concurrent invocation; here a
# cold start costs this machine's CPU, so beyond this many an invocation waits for an instance.
MAX_INSTANCES = 2


@dataclass(frozen=True)
class Invocation:
    """What Lambda answers to `Invoke`: a payload, and `FunctionError` when the function failed."""

    body: bytes
    function_error: str | None = None

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @classmethod
    def failed(cls, payload: Mapping[str, object]) -> Invocation:
        return cls(lambda_failures.payload_body(payload), "Unhandled")


class FunctionLog:
    """Where the functions' log lines go (CloudWatch Logs, on AWS): whole lines, never mixed."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, function: str, instance: str, line: str) -> None:
        with self._lock:
            self._stream.write(f"{function} {instance} {line.rstrip()}\n")
            self._stream.flush()


def lambda_environment(
    spec: FunctionSpec, endpoint_url: str, s3_endpoint_url: str = ""
) -> dict[str, str]:
    """The variables Lambda sets for a function, then the template's own; nothing inherited.
    The SDK sends S3 calls to `s3_endpoint_url` when given, everything else to `endpoint_url`."""
    s3_endpoint = {"AWS_ENDPOINT_URL_S3": s3_endpoint_url} if s3_endpoint_url else {}
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": spec.handler,
        # The execution role's credentials, as far as the emulator cares.
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_ENDPOINT_URL": endpoint_url,
        **s3_endpoint,
        # There is no X-Ray daemon on the local cloud.
        "POWERTOOLS_TRACE_DISABLED": "true",
        **spec.environment,
    }


class Sandbox:
    """One warm instance: a process running `lambda_runtime.py`."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], log: FunctionLog) -> None:
        self.spec = spec
        self.stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self._log = log
        self._scratch = tempfile.mkdtemp(prefix=f"{spec.logical_id}-tmp-")
        self._manager, child = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(RUNTIME_SCRIPT), str(child.fileno())],
            pass_fds=[child.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            cwd=spec.code_dir,
            # Lambda gives each instance a /tmp of its own.
            env={
                **environment,
                "AWS_LAMBDA_LOG_STREAM_NAME": self.stream,
                "TMPDIR": self._scratch,
            },
        )
        child.close()
        for pipe in (self.process.stdout, self.process.stderr):
            threading.Thread(target=self._forward_logs, args=(pipe,), daemon=True).start()
        self.init_ms: float | None = None  # reported with the first invocation only, as Lambda

    # -- life cycle --------------------------------------------------------------------------

    def start(self, allowed_modules: frozenset[str]) -> dict[str, Any] | None:
        """Run the init phase; None when the handler is ready, else the init error payload."""
        self._send(
            {
                "handler": self.spec.handler,
                "codePaths": [str(path) for path in self.spec.python_path],
                "sitePackages": _site_packages(),
                "allowedModules": sorted(allowed_modules),
            }
        )
        # Lambda retries an init that overruns its 10 s within the first invocation, under the
        # function's timeout: so init may take as long as that, and no longer.
        answer = self._receive(time.monotonic() + max(10, self.spec.timeout_seconds))
        if answer is None or answer.get("type") != "ready":
            problem = answer["payload"] if answer else self._exit_payload("")
            self.stop()
            return dict(problem)
        self.init_ms = float(answer["initMs"])
        return None

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        self._manager.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    # -- invocations -------------------------------------------------------------------------

    def invoke(self, event: bytes, request_id: str) -> Invocation:
        timeout = self.spec.timeout_seconds
        started = time.monotonic()
        deadline = started + timeout
        self._lambda_log(f"START RequestId: {request_id} Version: $LATEST")
        self._send(
            {
                "requestId": request_id,
                "event": event.decode(),
                "deadlineMs": int(time.time() * 1000 + timeout * 1000),
                "functionArn": self.spec.arn,
            }
        )
        answer = self._receive(deadline)
        if answer is None:
            invocation = self._ended(request_id, deadline)
        elif answer["type"] == "result":
            invocation = Invocation(answer["payload"].encode())
        else:
            invocation = Invocation.failed(answer["payload"])
        self._report(request_id, started)
        return invocation

    def _ended(self, request_id: str, deadline: float) -> Invocation:
        """The invocation got no answer: the sandbox ran out of time or memory, or died."""
        if self.alive and time.monotonic() >= deadline:
            self.stop()
            self._lambda_log(
                f"{request_id} Task timed out after {self.spec.timeout_seconds:.2f} seconds"
            )
            return Invocation.failed(
                lambda_failures.timeout_payload(request_id, self.spec.timeout_seconds)
            )
        over = self.peak_memory_mb() > self.spec.memory_mb
        self.stop()
        if over:
            return Invocation.failed(lambda_failures.out_of_memory_payload(request_id))
        return Invocation.failed(self._exit_payload(request_id))

    def _exit_payload(self, request_id: str) -> dict[str, str]:
        code = self.process.wait()
        how = f"signal: {signal.Signals(-code).name.lower()}" if code < 0 else f"exit status {code}"
        return lambda_failures.runtime_exit_payload(request_id, how)

    def peak_memory_mb(self) -> float:
        """The peak resident memory of the process (VmHWM), which is what Lambda limits."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0.0
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def _report(self, request_id: str, started: float) -> None:
        duration_ms = (time.monotonic() - started) * 1000
        init = f"\tInit Duration: {self.init_ms:.2f} ms" if self.init_ms is not None else ""
        self.init_ms = None
        self._lambda_log(f"END RequestId: {request_id}")
        self._lambda_log(
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {self.spec.memory_mb} MB"
            f"\tMax Memory Used: {math.ceil(self.peak_memory_mb())} MB{init}"
        )

    # -- the channel to lambda_runtime.py ------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        self._manager.sendall(struct.pack(">I", len(data)) + data)

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        """The runtime's next message, or None when the deadline passes, the peak memory goes
        over MemorySize (checked every MEMORY_POLL_SECONDS) or the process ends."""
        buffer = b""
        while True:
            if len(buffer) >= 4:
                size = struct.unpack(">I", buffer[:4])[0]
                if len(buffer) >= 4 + size:
                    return dict(json.loads(buffer[4 : 4 + size]))
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.peak_memory_mb() > self.spec.memory_mb:
                return None
            self._manager.settimeout(min(remaining, MEMORY_POLL_SECONDS))
            try:
                chunk = self._manager.recv(1 << 16)
            except TimeoutError:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            buffer += chunk

    def _forward_logs(self, pipe: IO[str]) -> None:
        for line in pipe:
            self._log.write(self.spec.logical_id, self.stream[-8:], line)

    def _lambda_log(self, line: str) -> None:
        self._log.write(self.spec.logical_id, self.stream[-8:], line)


class SandboxPool:
    """The warm instances of one function: an idle one serves the next invocation, else a new
    one cold-starts (at most MAX_INSTANCES at once; more invocations wait for one)."""

    def __init__(
        self, spec: FunctionSpec, endpoint_url: str, log: FunctionLog, s3_endpoint_url: str = ""
    ) -> None:
        self.spec = spec
        self._environment = lambda_environment(spec, endpoint_url, s3_endpoint_url)
        self._allowed = importable_modules(requirement_files(spec.python_path))
        self._log = log
        self._idle: list[Sandbox] = []
        self._all: set[Sandbox] = set()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_INSTANCES)
        self.cold_starts = 0

    def invoke(self, event: bytes) -> Invocation:
        request_id = str(uuid.uuid4())
        with self._slots:
            sandbox = self._take()
            if sandbox is None:
                sandbox = Sandbox(self.spec, self._environment, self._log)
                with self._lock:
                    self._all.add(sandbox)
                    self.cold_starts += 1
                init_error = sandbox.start(self._allowed)
                if init_error is not None:
                    # Reported as the runtime reports it: before any request, so with no id.
                    self._forget(sandbox)
                    return Invocation.failed(init_error)
            invocation = sandbox.invoke(event, request_id)
            if sandbox.alive:
                with self._lock:
                    self._idle.append(sandbox)
            else:
                self._forget(sandbox)
            return invocation

    def _take(self) -> Sandbox | None:
        with self._lock:
            while self._idle:
                sandbox = self._idle.pop()
                if sandbox.alive:
                    return sandbox
                self._all.discard(sandbox)
            return None

    def _forget(self, sandbox: Sandbox) -> None:
        with self._lock:
            self._all.discard(sandbox)

    def close(self) -> None:
        with self._lock:
            sandboxes, self._all, self._idle = list(self._all), set(), []
        for sandbox in sandboxes:
            sandbox.stop()


def _site_packages() -> list[str]:
    """Where the tool's environment keeps installed distributions (the function's bundle)."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))
