"""The runtime inside a function sandbox: one process per warm Lambda instance.

Started by `sandbox.py` as `python -I -S lambda_runtime.py FD`, a script of the standard library
alone, so that nothing of the developer tool is importable by the function. It does what Lambda's
Python runtime (awslambdaric's bootstrap) does: puts the function's code and layers on the path,
imports the handler module once (the init phase), then answers invocations one at a time, with
the error payloads that runtime builds. FD is a socket to the sandbox manager; each message on it
is a 4-byte big-endian length and a JSON object.
"""

import importlib
import importlib.abc
import importlib.machinery
import io
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from typing import Any

# The error types of awslambdaric's FaultException, for the faults it reports itself.
IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
MARSHAL_ERROR = "Runtime.MarshalError"


class Fault(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class _BundledOnly(importlib.abc.MetaPathFinder):
    """Lets the function import only what Lambda would find: its code and layers, the standard
    library, and the distributions its requirements bring (the manager lists their top-level
    names). Everything else in the tool's environment stays invisible, as it is on Lambda."""

    def __init__(self, code_paths: list[str], allowed: set[str]) -> None:
        self.code_paths = code_paths
        # sys.stdlib_module_names leaves out the interpreter's build configuration module
        # (_sysconfigdata_<abi>_<platform>), which `sysconfig` imports: it is stdlib all the same.
        self.allowed = allowed | set(sys.stdlib_module_names) | {sysconfig_data_module()}

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if path is not None:  # a submodule: its package was allowed already
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, self.code_paths)
        if spec is not None or name in self.allowed or name in sys.builtin_module_names:
            return spec
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)


def sysconfig_data_module() -> str:
    """The name `sysconfig` imports its build variables from (as sysconfig itself names it)."""
    multiarch = getattr(sys.implementation, "_multiarch", "")
    return os.environ.get(
        "_PYTHON_SYSCONFIGDATA_NAME",
        f"_sysconfigdata_{sys.abiflags}_{sys.platform}_{multiarch}",
    )


class LambdaContext:
    """The context object of awslambdaric, with the attributes handlers and Powertools read."""

    def __init__(self, request_id: str, deadline_ms: int, function_arn: str) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = None
        self.identity = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_payload(error_type: str, message: str, trace: list[str], request_id: str = "") -> dict:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": trace,
    }


def exception_payload(error: BaseException, request_id: str = "") -> dict:
    if isinstance(error, Fault):
        return error_payload(error.error_type, str(error), [], request_id)
    frames = traceback.extract_tb(error.__traceback__)
    # As awslambdaric: the trace starts at the function's own code, not at the runtime.
    while frames and frames[0].filename == __file__:
        frames.pop(0)
    return error_payload(
        type(error).__name__, str(error), traceback.format_list(frames), request_id
    )


def load_handler(handler: str) -> Any:
    """Import the handler as awslambdaric does, with its fault types."""
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise Fault(MALFORMED_HANDLER_NAME, f"Bad handler '{handler}': not enough values")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise Fault(
            IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {error}"
        ) from None
    except SyntaxError as error:
        raise Fault(
            USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{module_name}': {error}"
        ) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise Fault(
            HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None


class Channel:
    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=fd)

    def send(self, message: dict) -> None:
        data = json.dumps(message, ensure_ascii=False, allow_nan=True).encode()
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def receive(self) -> dict | None:
        header = self._exactly(4)
        if header is None:
            return None
        body = self._exactly(struct.unpack(">I", header)[0])
        return None if body is None else json.loads(body)

    def _exactly(self, size: int) -> bytes | None:
        chunks, missing = [], size
        while missing:
            chunk = self.sock.recv(missing)
            if not chunk:
                return None
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)


def _exit_with_the_manager() -> None:
    """A sandbox never outlives its manager (Lambda freezes and reclaims idle instances)."""
    manager = os.getppid()
    while os.getppid() == manager:
        time.sleep(0.5)
    os._exit(0)


def invoke(handler: Any, request: dict) -> dict:
    request_id = request["requestId"]
    context = LambdaContext(request_id, request["deadlineMs"], request["functionArn"])
    try:
        event = json.loads(request["event"])
        result = handler(event, context)
    except Exception as error:
        return {"type": "error", "payload": exception_payload(error, request_id)}
    try:
        body = json.dumps(result, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError) as error:
        fault = Fault(MARSHAL_ERROR, f"Unable to marshal response: {error}")
        return {"type": "error", "payload": exception_payload(fault, request_id)}
    return {"type": "result", "payload": body}


def main() -> None:
    # The local cloud that started this sandbox handles Ctrl-C and ends it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = Channel(int(sys.argv[1]))
    threading.Thread(target=_exit_with_the_manager, daemon=True).start()
    # Lambda's runtime writes every line to the log stream at once.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(line_buffering=True)
    config = channel.receive()
    if config is None:
        return
    code_paths: list[str] = config["codePaths"]
    # Lambda's order: the function's code, its layers, the bundled site-packages, the runtime.
    sys.path[:0] = [*code_paths, *config["sitePackages"]]
    sys.meta_path.insert(0, _BundledOnly(code_paths, set(config["allowedModules"])))
    started = time.perf_counter()
    try:
        handler = load_handler(config["handler"])
    except Exception as error:
        # As Lambda's runtime: the init error is logged and reported, and the instance ends.
        payload = exception_payload(error)
        print(f"[ERROR] {payload['errorType']}: {payload['errorMessage']}", file=sys.stderr)
        channel.send({"type": "initError", "payload": payload})
        return
    channel.send({"type": "ready", "initMs": (time.perf_counter() - started) * 1000})
    while (request := channel.receive()) is not None:
        channel.send(invoke(handler, request))


if __name__ == "__main__":
    main()
