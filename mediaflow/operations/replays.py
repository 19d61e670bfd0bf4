"""Executions the operator tools start: named after what they replay, so that a second run finds
the execution the first one started instead of starting another.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN an execution of this name has, known before it starts."""
    head, sep, machine = state_machine_arn.partition(":stateMachine:")
    if not sep:
        raise ValueError(f"{state_machine_arn!r} is not a state machine ARN")
    return f"{head}:execution:{machine}:{name}"


def replay_name(kind: str, *parts: str) -> str:
    """The same name for the same replay: a second run finds the execution the first one started."""
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"{kind}-{digest}"  # 74 characters at most; Step Functions allows 80


def short_name(name: str) -> str:
    """A replay's name as reports show it: its kind and the first 12 digits of its digest."""
    return name[: name.index("-") + 13]


def start_once(sfn: SFNClient, state_machine_arn: str, name: str, payload: str) -> str:
    """Start the named execution unless it exists: the status of the one found, or "" if started."""
    # Look first: StartExecution answers ExecutionAlreadyExists for a name whose execution has
    # ended and quietly returns a running one; looking lets the report say what was found.
    try:
        return sfn.describe_execution(executionArn=execution_arn(state_machine_arn, name))["status"]
    except sfn.exceptions.ExecutionDoesNotExist:
        pass
    try:
        sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=payload)
    except sfn.exceptions.ExecutionAlreadyExists:
        return "started meanwhile by another run"
    return ""
