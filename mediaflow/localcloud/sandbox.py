"""Run the real Lambda handlers in-process, as Lambda would: their folder on the path, their
template environment at import time, a context object, and errors shaped like Lambda's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from mediaflow.localcloud.template import REGION, FunctionSpec

# Handlers read their configuration once, at import (in app.py; their other modules hold no
# configuration); the environment is process-wide, so imports happen one at a time with the
# function's own variables in place, and each environment gets its own copy of app.py.
_IMPORT_LOCK = threading.Lock()
_LOADED: dict[tuple[str, tuple[tuple[str, str], ...]], Callable[..., Any]] = {}


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: int
    aws_request_id: str
    log_group_name: str = ""
    log_stream_name: str = "mediaflow-local"
    function_version: str = "$LATEST"

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    """What Lambda answers to `Invoke`: a payload, and `FunctionError` when the handler raised."""

    payload: Any
    function_error: str | None = None

    @property
    def body(self) -> bytes:
        return json.dumps(self.payload).encode()


def function_environment(spec: FunctionSpec) -> dict[str, str]:
    """The variables Lambda sets for every function, then the template's own."""
    return {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        # There is no X-Ray daemon on the local cloud.
        "POWERTOOLS_TRACE_DISABLED": "true",
        **spec.environment,
    }


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def load_handler(spec: FunctionSpec) -> Callable[..., Any]:
    environment = function_environment(spec)
    cache_key = (spec.logical_id, tuple(sorted(environment.items())))
    with _IMPORT_LOCK:
        if cache_key in _LOADED:
            return _LOADED[cache_key]
        module_name, _, attribute = spec.handler.rpartition(".")
        path = spec.code_dir / f"{module_name.replace('.', '/')}.py"
        if not path.is_file():
            raise FileNotFoundError(f"{spec.logical_id}: handler module {path} does not exist")
        for folder in reversed(spec.python_path):
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
        with _environment(environment):
            module_spec = importlib.util.spec_from_file_location(
                f"mediaflow_function_{spec.logical_id}", path
            )
            assert module_spec and module_spec.loader
            module: ModuleType = importlib.util.module_from_spec(module_spec)
            # Registered before it runs, as `import` does: dataclasses and pickling look it up.
            sys.modules[module_spec.name] = module
            module_spec.loader.exec_module(module)
        handler = getattr(module, attribute)
        _LOADED[cache_key] = handler
        return handler


def invoke(spec: FunctionSpec, event: Any) -> Invocation:
    """Run the handler on `event` (JSON-round-tripped, as Lambda does) and answer as Lambda."""
    handler = load_handler(spec)
    context = LambdaContext(
        function_name=spec.name,
        memory_limit_in_mb=spec.memory_mb,
        invoked_function_arn=spec.arn,
        timeout_seconds=spec.timeout_seconds,
        aws_request_id=str(uuid.uuid4()),
    )
    # A Lambda sandbox has its CPU to itself; here many handlers share one interpreter, so the
    # timeout is measured in this thread's CPU time, not in time spent waiting for the others.
    started = time.thread_time()
    try:
        result = handler(json.loads(json.dumps(event)), context)
    except Exception as error:
        return Invocation(
            payload={
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "requestId": context.aws_request_id,
                "stackTrace": traceback.format_tb(error.__traceback__),
            },
            function_error="Unhandled",
        )
    elapsed = time.thread_time() - started
    # A thread cannot be stopped as Lambda stops a sandbox, so the local cloud lets the handler
    # finish and then answers as Lambda would have: the result of a late handler is lost.
    if elapsed > spec.timeout_seconds:
        return timed_out(spec, context.aws_request_id)
    return Invocation(payload=json.loads(json.dumps(result)))


def timed_out(spec: FunctionSpec, request_id: str) -> Invocation:
    return Invocation(
        payload={
            "errorType": "Sandbox.Timedout",
            "errorMessage": (
                f"RequestId: {request_id} Error: Task timed out after "
                f"{spec.timeout_seconds:.2f} seconds"
            ),
        },
        function_error="Unhandled",
    )
