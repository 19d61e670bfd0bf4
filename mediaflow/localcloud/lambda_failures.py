"""What a failed function answers to Lambda's Invoke, and so what Step Functions records: the
error is the payload's errorType, the cause the payload itself (aws_errors.FAILURE_PAYLOADS,
with the pages they come from). The sandboxes end a function with these; `--fault` injects them.

Lambda's platform writes its own payloads (timeout, out of memory, a runtime that exited)
compactly, errorType first; the Python runtime (lambda_runtime.py) writes handler and init
errors, errorMessage first, with ", " and ": ".
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from mediaflow.localcloud.aws_errors import OUT_OF_MEMORY, RUNTIME_EXIT_ERROR, SANDBOX_TIMEDOUT


def timeout_payload(request_id: str, timeout_seconds: float) -> dict[str, str]:
    """The function ran past its Timeout."""
    return {
        "errorType": SANDBOX_TIMEDOUT,
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
        f"{timeout_seconds:.2f} seconds",
    }


def out_of_memory_payload(request_id: str) -> dict[str, str]:
    """The function needed more than its MemorySize: Lambda killed the runtime."""
    return {
        "errorType": OUT_OF_MEMORY,
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
    }


def runtime_exit_payload(request_id: str, how: str = "exit status 1") -> dict[str, str]:
    """The runtime process ended by itself: `how` is `exit status N` or `signal: <name>`."""
    return {
        "errorType": RUNTIME_EXIT_ERROR,
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {how}",
    }


def injected_payload(error: str, request_id: str, timeout_seconds: float) -> dict[str, object]:
    """The payload of a function made to fail with `error` by `--fault`: Lambda's own for how it
    ends a function, the runtime's for an init error, else a handler exception's."""
    if error == SANDBOX_TIMEDOUT:
        return dict(timeout_payload(request_id, timeout_seconds))
    if error == OUT_OF_MEMORY:
        return dict(out_of_memory_payload(request_id))
    if error == RUNTIME_EXIT_ERROR:
        return dict(runtime_exit_payload(request_id))
    # Init errors (Runtime.*) are reported before any request, with no request id.
    reported_for = "" if error.startswith("Runtime.") else request_id
    return {
        "errorMessage": f"injected fault: {error}",
        "errorType": error,
        "requestId": reported_for,
        "stackTrace": [],
    }


def payload_body(payload: Mapping[str, object]) -> bytes:
    """The bytes Lambda returns, and Step Functions keeps as the Cause."""
    from_platform = "requestId" not in payload
    return json.dumps(payload, separators=(",", ":") if from_platform else None).encode()
