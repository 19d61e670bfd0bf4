"""Fault injection for the local cloud: make a function or a service call fail N times, with an
error that AWS really reports there (the table of `aws_errors`).

A fault is written `TARGET=ERROR[:TIMES]`, for example

- `ThumbnailFunction=Lambda.TooManyRequestsException:2`: Lambda refuses the invocation twice
  (the Invoke API answers the error, as when the account is throttled);
- `AudioFunction=Sandbox.Timedout`: the function runs past its Timeout once;
- `AudioFunction=Runtime.OutOfMemory`: the function needs more than its MemorySize once;
- `InspectFunction=CorruptMedia:1`: the handler raises `CorruptMedia` once;
- `rekognition:DetectLabels=Rekognition.ThrottlingException:3`;
- `dynamodb:PutItem=DynamoDB.ProvisionedThroughputExceededException:2`;
- `events:StartExecution=ExecutionLimitExceeded`: EventBridge cannot start the workflow.

TARGET is a function of the template (its logical ID) or a service call of the table. ERROR is a
name that target can end with on AWS: for a function, what Lambda's Invoke API answers, how
Lambda ends a function (timeout, out of memory, init errors), or an exception its handler can
raise (the classes of the errors modules on its Lambda path, Python's built-in exceptions,
botocore's ClientError). Anything else is refused, so that no test exercises a Retry AWS never
takes. TIMES defaults to 1; `*` means every call.
"""

from __future__ import annotations

import ast
import builtins
import re
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from mediaflow.localcloud import aws_errors
from mediaflow.localcloud.aws_errors import AwsError
from mediaflow.localcloud.template import FunctionSpec, Stack

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FOREVER = -1

# Every function reads S3 with botocore, whose errors escape as ClientError (docs/contracts.md).
BOTOCORE_ERROR = "ClientError"
PYTHON_EXCEPTIONS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, Exception) and not issubclass(value, Warning)
)
# Lambda reports these from its runtime's init phase, before any request.
_INIT_ERRORS = {
    "Runtime.ImportModuleError",
    "Runtime.UserCodeSyntaxError",
    "Runtime.HandlerNotFound",
}
_LAMBDA_ERRORS = {
    error.name: error
    for error in (*aws_errors.LAMBDA_SERVICE_ERRORS, *aws_errors.LAMBDA_FUNCTION_ERRORS)
}


def own_error_names(spec: FunctionSpec) -> tuple[str, ...]:
    """The exception classes a function's errors modules define (each package's `errors.py` on
    its Lambda path: its own and its layers'), with their built-in bases such as ValueError."""
    names: set[str] = set()
    for folder in spec.python_path:
        for module in sorted(folder.glob("*/errors.py")):
            for node in ast.parse(module.read_text()).body:
                if isinstance(node, ast.ClassDef):
                    names.add(node.name)
                    names.update(
                        base.id
                        for base in node.bases
                        if isinstance(base, ast.Name) and base.id in PYTHON_EXCEPTIONS
                    )
    return tuple(sorted(names))


@dataclass
class Fault:
    target: str
    error: str
    times: int = 1

    @property
    def aws_error(self) -> AwsError | None:
        """The table's entry for this error where a service answers it (None for a function's
        own exception)."""
        if ":" not in self.target:
            return _LAMBDA_ERRORS.get(self.error)
        integration = aws_errors.SERVICE_CALLS.get(self.target)
        return integration.error(self.error) if integration else None

    @property
    def is_service_error(self) -> bool:
        """True when the service refuses the call, False when the function itself fails."""
        return ":" in self.target or self.error.startswith("Lambda.")

    @property
    def code(self) -> str:
        """The error code the local cloud answers with, so that its interpreter reports `error`
        as Step Functions does: aws-sdk integrations name errors after the wire code (adding
        `Exception`), the optimised ones after the name's last part (adding the prefix)."""
        integration = aws_errors.SERVICE_CALLS.get(self.target)
        error = self.aws_error
        if integration and integration.aws_sdk and error:
            return error.wire_code
        return self.error.rsplit(".", 1)[-1]

    @property
    def http_status(self) -> int:
        error = self.aws_error
        # A failure of Step Functions' own client has no status; the local cloud needs one.
        return error.statuses[0] if error and error.statuses else 500


@dataclass(frozen=True)
class FaultCatalogue:
    """Every fault target and what it can end with: the template's functions, each with its own
    exception names, and the service calls of the table."""

    own_errors: dict[str, tuple[str, ...]]  # function logical ID -> its exception classes

    @classmethod
    def of(cls, stack: Stack) -> FaultCatalogue:
        return cls({spec.logical_id: own_error_names(spec) for spec in stack.functions()})

    def targets(self) -> list[str]:
        return [*sorted(self.own_errors), *sorted(aws_errors.SERVICE_CALLS)]

    def errors(self, target: str) -> tuple[str, ...]:
        """What `target` can end with on AWS (built-in Python exceptions aside)."""
        if target in self.own_errors:
            return (*_LAMBDA_ERRORS, *self.own_errors[target], BOTOCORE_ERROR)
        return aws_errors.SERVICE_CALLS[target].names

    def check(self, fault: Fault) -> None:
        """Refuse, in one line, a target that does not exist or an error it cannot end with."""
        if fault.target not in self.own_errors and fault.target not in aws_errors.SERVICE_CALLS:
            functions = ", ".join(sorted(self.own_errors))
            calls = ", ".join(sorted(aws_errors.SERVICE_CALLS))
            raise ValueError(
                f"no fault target {fault.target!r}: targets are the template's functions "
                f"({functions}) and the service calls {calls}"
            )
        possible = self.errors(fault.target)
        if fault.error in possible:
            return
        is_function = fault.target in self.own_errors
        if is_function and fault.error in PYTHON_EXCEPTIONS:
            return
        why = aws_errors.SUPERSEDED.get(fault.error, "")
        raise ValueError(
            f"{fault.target} cannot end with {fault.error!r} on AWS"
            + (f" ({why})" if why else "")
            + f"; it can end with {', '.join(possible)}"
            + (" or a Python built-in exception" if is_function else "")
        )


@cache
def project_catalogue() -> FaultCatalogue:
    """The catalogue of this repository's template, for callers that name no stack."""
    return FaultCatalogue.of(Stack(PROJECT_ROOT))


@dataclass
class FaultPlan:
    faults: list[Fault] = field(default_factory=list)
    injected: dict[str, int] = field(default_factory=dict)
    catalogue: FaultCatalogue | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, fault: Fault) -> None:
        (self.catalogue or project_catalogue()).check(fault)
        with self._lock:
            self.faults.append(fault)

    def take(self, target: str) -> Fault | None:
        """The fault to inject into this call of `target`, if one is due; counts it."""
        with self._lock:
            for fault in self.faults:
                if fault.target == target and fault.times != 0:
                    if fault.times > 0:
                        fault.times -= 1
                    key = f"{fault.target}={fault.error}"
                    self.injected[key] = self.injected.get(key, 0) + 1
                    return fault
        return None


_FAULT = re.compile(r"^(?P<target>[\w:]+)=(?P<error>[\w.]+)(?::(?P<times>\d+|\*))?$")


def parse_fault(text: str, catalogue: FaultCatalogue | None = None) -> Fault:
    match = _FAULT.match(text.strip())
    if not match:
        raise ValueError(
            f"fault {text!r} is not TARGET=ERROR[:TIMES], "
            "e.g. ThumbnailFunction=Lambda.TooManyRequestsException:2"
        )
    times = match["times"] or "1"
    fault = Fault(match["target"], match["error"], FOREVER if times == "*" else int(times))
    try:
        (catalogue or project_catalogue()).check(fault)
    except ValueError as error:
        raise ValueError(f"fault {text!r}: {error}") from None
    return fault
