"""The hub's side of the engine shards: starts them, routes Step Functions calls to them, and
knows which executions are running.

Every Step Functions call made in the hub process (by the local cloud, the tests, or `mediaflow
redrive` and `reconcile` on the local cloud) is answered by the shards: a StartExecution by the
shard that owns its object key (so that the events of one key stay in order), a call naming an
execution by the shard that runs it, ListExecutions by all of them, merged.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from mediaflow.localcloud.channel import Channel
from mediaflow.localcloud.engine import EngineConfig
from mediaflow.localcloud.faults import Fault
from mediaflow.localcloud.service_answers import Answer, answer, error_answer
from mediaflow.localcloud.zygote import Zygote

_NAMES_AN_EXECUTION = {
    "DescribeExecution",
    "GetExecutionHistory",
    "StopExecution",
    "RedriveExecution",
    "DescribeStateMachineForExecution",
}


class EngineShards:
    def __init__(
        self,
        zygote: Zygote,
        count: int,
        config: EngineConfig,
        handlers: dict[str, Callable[..., Any]],
    ) -> None:
        self.running: set[str] = set()
        self.changed = threading.Condition()
        self._ended_before_started: set[str] = set()
        self._owner: dict[str, int] = {}
        self.internal_errors: list[str] = []
        self._session: boto3.Session | None = None
        self._take_fault = handlers["take_fault"]
        handlers = {**handlers, "execution_ended": self._execution_ended}
        self._pids: list[int] = []
        self._channels: list[Channel] = []
        # Shards are forked from a process that has imported the engine once: milliseconds each.
        for number in range(count):
            connection, pid = zygote.start_shard(config)
            self._pids.append(pid)
            self._channels.append(Channel(connection, handlers, name=f"hub-{number}"))

    def close(self) -> None:
        """Close each shard's pipe, which ends it (and its sandboxes); kill what lingers."""
        if self._session is not None:
            self._session.events.unregister("before-parameter-build.sfn", _keep_parameters)
            self._session.events.unregister("before-call.sfn", self._route)  # type: ignore[arg-type]
        for channel in self._channels:
            channel.close()
        deadline = time.monotonic() + 10
        for pid in self._pids:
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.01)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)

    def route_calls_of(self, session: boto3.Session) -> None:
        """Answer every Step Functions call of this session's clients from the shards."""
        self._session = session
        session.events.register_first("before-parameter-build.sfn", _keep_parameters)
        session.events.register_first("before-call.sfn", self._route)  # type: ignore[arg-type]

    def call_all(self, method: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The same call on every shard, at once."""
        with ThreadPoolExecutor(max_workers=len(self._channels)) as calls:
            return list(
                calls.map(lambda channel: channel.call("sfn", method, params), self._channels)
            )

    # -- routing -----------------------------------------------------------------------------

    def start_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        """StartExecution on the shard of the input's object key; the parsed answer."""
        shard = _shard_of(params.get("input", "{}"), len(self._channels))
        parsed: dict[str, Any] = self._channels[shard].call("sfn", "start_execution", params)
        if "executionArn" in parsed:
            self._started(parsed["executionArn"], shard)
        return parsed

    def _route(self, model: Any, context: dict[str, Any], **_: Any) -> Answer:
        operation = model.name
        params = context["mediaflow_parameters"]
        method = _snake(operation)
        fault: Fault | None = self._take_fault(f"stepfunctions:{operation}")
        if fault:
            return error_answer(fault.code, f"injected fault: {fault.error}", fault.http_status)
        if operation == "StartExecution":
            parsed = self.start_execution(params)
        elif operation == "ListExecutions":
            parsed = self._list_executions(params)
        elif operation in _NAMES_AN_EXECUTION:
            parsed = self._call_owner(params["executionArn"], method, params)
        else:
            parsed = self._channels[0].call("sfn", method, params)
        status = parsed.get("ResponseMetadata", {}).get("HTTPStatusCode", 200)
        return answer(status, parsed)

    def _call_owner(self, arn: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The shard running the execution answers; for an ARN no shard started here (a name
        computed before its execution exists), each is asked until one knows it."""
        if arn in self._owner:
            return dict(self._channels[self._owner[arn]].call("sfn", method, params))
        parsed: dict[str, Any] = {}
        for shard, channel in enumerate(self._channels):
            parsed = channel.call("sfn", method, params)
            if "Error" not in parsed:
                self._owner[arn] = shard
                return parsed
        return parsed

    def _list_executions(self, params: dict[str, Any]) -> dict[str, Any]:
        """Every shard's executions, newest first, in one page."""
        found = []
        for channel in self._channels:
            token = None
            while True:
                page = channel.call(
                    "sfn", "list_executions", {**params, **({"nextToken": token} if token else {})}
                )
                if "Error" in page:
                    return dict(page)
                found += page["executions"]
                token = page.get("nextToken")
                if not token:
                    break
        found.sort(key=lambda execution: execution["startDate"], reverse=True)
        return {"executions": found}

    # -- running executions ------------------------------------------------------------------

    def _started(self, arn: str, shard: int) -> None:
        with self.changed:
            self._owner[arn] = shard
            if arn in self._ended_before_started:
                self._ended_before_started.discard(arn)
            else:
                self.running.add(arn)
            self.changed.notify_all()

    def _execution_ended(self, arn: str, internal_error: str | None) -> None:
        with self.changed:
            if arn in self.running:
                self.running.discard(arn)
            else:
                self._ended_before_started.add(arn)
            if internal_error:
                self.internal_errors.append(f"{arn}: {internal_error}")
            self.changed.notify_all()


def _keep_parameters(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """The call's own parameters, for `_route` (before-call sees only the serialised request)."""
    context["mediaflow_parameters"] = dict(params)


def _shard_of(execution_input: str, shards: int) -> int:
    """The shard of an event's object: the same for every event of one bucket and key."""
    try:
        detail = json.loads(execution_input)["detail"]
        key = f"{detail['bucket']['name']}/{detail['object']['key']}"
    except (ValueError, KeyError, TypeError):
        key = ""
    return zlib.crc32(key.encode()) % shards


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _snake(operation: str) -> str:
    from botocore import xform_name

    return str(xform_name(operation))
