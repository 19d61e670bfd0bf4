"""Fault injection for the local cloud: make a function or a service call fail N times.

A fault is written `TARGET=ERROR[:TIMES]`, for example

- `ThumbnailFunction=Lambda.TooManyRequestsException:2`: Lambda refuses the invocation twice
  (the Invoke API answers the error, as when the account is throttled);
- `AudioFunction=Sandbox.Timedout`: the function times out once;
- `InspectFunction=CorruptMedia:1`: the handler raises `CorruptMedia` once;
- `rekognition:DetectLabels=Rekognition.ThrottlingException:3`;
- `dynamodb:PutItem=DynamoDB.ProvisionedThroughputExceededException:2`.

TIMES defaults to 1; `*` means every call.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

_HTTP_STATUS = {
    "TooManyRequestsException": 429,
    "ThrottlingException": 400,
    "ProvisionedThroughputExceededException": 400,
    "ServiceException": 500,
    "InternalServerError": 500,
    "InternalServerErrorException": 500,
}

FOREVER = -1


@dataclass
class Fault:
    target: str
    error: str
    times: int = 1

    @property
    def code(self) -> str:
        """The error code a service answers with: `Lambda.TooManyRequestsException` -> its tail."""
        return self.error.split(".", 1)[1] if "." in self.error else self.error

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self.code, 400)

    @property
    def is_service_error(self) -> bool:
        """True when the service refuses the call, False when the function itself fails."""
        return ":" in self.target or self.error.startswith("Lambda.")


@dataclass
class FaultPlan:
    faults: list[Fault] = field(default_factory=list)
    injected: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, fault: Fault) -> None:
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


def parse_fault(text: str) -> Fault:
    match = _FAULT.match(text.strip())
    if not match:
        raise ValueError(
            f"fault {text!r} is not TARGET=ERROR[:TIMES], "
            "e.g. ThumbnailFunction=Lambda.TooManyRequestsException:2"
        )
    times = match["times"] or "1"
    return Fault(match["target"], match["error"], FOREVER if times == "*" else int(times))
