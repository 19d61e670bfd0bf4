"""An engine shard: a process that runs state machine executions, as Step Functions does.

The local cloud runs one shard per core. Each runs moto's Amazon States Language interpreter on
the template's definition, unchanged; the tasks' service calls reach the hub's emulator over
HTTP, as a state machine reaches AWS, except the two the emulator lacks: `lambda:invoke`, which
runs the function in a sandbox of this shard, and Rekognition, which is emulated here. Before each
call the shard asks the hub whether a fault is to be injected (the hub holds the test's or the
user's fault plan) and tells it when an execution ends.

The hub routes every event of one object key to the same shard, so executions of one key see
each other in order, as the claim in the workflow expects.
"""

from __future__ import annotations

import io
import json
import os
import threading
import uuid
from dataclasses import dataclass
from enum import Enum
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.utils import parse_timestamp
from moto import mock_aws

from mediaflow.localcloud import lambda_failures, lambda_names, moto_patches, rekognition
from mediaflow.localcloud.channel import Channel
from mediaflow.localcloud.dependencies import importable_modules, requirement_files
from mediaflow.localcloud.faults import Fault
from mediaflow.localcloud.sandbox import FunctionLog, Invocation, SandboxPool
from mediaflow.localcloud.service_answers import answer, error_answer
from mediaflow.localcloud.template import ACCOUNT_ID, REGION, FunctionSpec

# An execution that ends so is one Step Functions could redrive; moto's interpreter cannot
# resume one from its failed state, so the local cloud answers as AWS does for an execution it
# will not redrive, and says why.
UNFINISHED = ("FAILED", "TIMED_OUT", "ABORTED")
NOT_REDRIVABLE = (
    "The local cloud cannot redrive executions: moto's interpreter has no RedriveExecution "
    "(README, Known limitations)"
)


@dataclass(frozen=True)
class EngineConfig:
    functions: tuple[FunctionSpec, ...]
    definition: str  # the state machine's, parsed ahead by `prepare`
    endpoint_url: str  # the hub's emulator, where the tasks' service calls go
    s3_endpoint_url: str  # the hub's S3 gateway, where the functions' S3 calls go
    clock_factor: float
    function_log: str  # a file the functions' log lines are appended to


# The clients a shard creates: their models are loaded once, in the process shards fork from.
_CLIENTS: tuple[Any, ...] = ("stepfunctions", "s3", "lambda", "rekognition", "dynamodb", "sqs")
_prepared: set[str] = set()


def prepare(config: EngineConfig) -> None:
    """What every shard of this configuration needs, done once before shards are forked."""
    key = repr((config.definition, config.functions))
    if key in _prepared:
        return
    _prepared.add(key)
    moto_patches.apply_to_engine()
    moto_patches.parse_definition(config.definition)
    for service in _CLIENTS:
        boto3.client(service, region_name=REGION)
    for spec in config.functions:
        importable_modules(requirement_files(spec.python_path))


def serve(connection: Connection, config: EngineConfig) -> None:
    """The shard process: runs until the hub closes the pipe."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_DEFAULT_REGION=REGION,
    )
    os.environ.pop("AWS_PROFILE", None)
    prepare(config)
    moto_patches.service_endpoint["url"] = config.endpoint_url
    moto_patches.clock["factor"] = config.clock_factor
    # Everything but Step Functions is the hub's: those calls go out over HTTP.
    mock = mock_aws(config=moto_patches.mock_config(stepfunctions={"execute_state_machine": True}))
    mock.start()
    engine = Engine(connection, config)
    try:
        engine.channel.wait_closed()
    finally:
        engine.close()
        mock.stop()


class Engine:
    def __init__(self, connection: Connection, config: EngineConfig) -> None:
        self.functions = {spec.name: spec for spec in config.functions}
        self.config = config
        self._log_file = open(config.function_log, "a")  # noqa: SIM115 - open as long as the shard
        self.log = FunctionLog(self._log_file)
        self.pools: dict[str, SandboxPool] = {}
        self._pools_lock = threading.Lock()
        self.sfn: Any = boto3.client("stepfunctions", region_name=REGION)
        self.s3: Any = boto3.client("s3", region_name=REGION, endpoint_url=config.endpoint_url)
        session = boto3._get_default_session()
        session.events.register_first("before-call", self._before_call)  # type: ignore[arg-type]
        moto_patches.forget_clients()
        moto_patches.execution_ended["callback"] = self._execution_ended
        self.channel = Channel(connection, {"sfn": self.sfn_call}, name="engine")

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
        self._log_file.close()

    # -- the hub's Step Functions calls ------------------------------------------------------

    def sfn_call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """One Step Functions API call on this shard's executions, answered as botocore parsed
        it (a ClientError's parsed response when it failed)."""
        if method == "get_execution_history" and (page := self._history_page(params)):
            return page
        if method == "redrive_execution":
            return {
                "Error": {"Code": "ExecutionNotRedrivable", "Message": NOT_REDRIVABLE},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
        try:
            response: dict[str, Any] = getattr(self.sfn, method)(**params)
        except ClientError as error:
            return dict(error.response)
        if method == "describe_execution" and response["status"] in UNFINISHED:
            response.setdefault("redriveStatus", "NOT_REDRIVABLE")
            response.setdefault("redriveStatusReason", NOT_REDRIVABLE)
        return response

    def _history_page(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """GetExecutionHistory read from the execution itself: moto's answer goes through its
        serialiser and botocore's parser (a tenth of a second for one image's history), and
        ignores maxResults, nextToken and reverseOrder. None when the execution is unknown, for
        moto to answer the error."""
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        backend: Any = stepfunctions_parser_backends[ACCOUNT_ID][REGION]
        try:
            execution = backend.describe_execution(params["executionArn"])
        except Exception:
            return None
        events = [_as_botocore_parses(event) for event in execution.to_history_output()["events"]]
        if params.get("reverseOrder"):
            events.reverse()
        if not params.get("includeExecutionData", True):
            events = [_without_execution_data(event) for event in events]
        # GetExecutionHistory: 100 events a page unless maxResults (at most 1000) says less.
        size = min(int(params.get("maxResults") or 100), 1000)
        start = int(params.get("nextToken") or 0)
        page: dict[str, Any] = {"events": events[start : start + size]}
        if start + size < len(events):
            page["nextToken"] = str(start + size)
        return page

    def _execution_ended(self, arn: str, internal_error: str | None) -> None:
        self.channel.notify("execution_ended", arn, internal_error)

    # -- the service calls of the tasks ------------------------------------------------------

    def _before_call(
        self, model: Any, params: dict[str, Any], **_: Any
    ) -> tuple[Any, dict[str, Any]] | None:
        target = f"{model.service_model.service_name}:{model.name}"
        fault: Fault | None = self.channel.call("take_fault", target)
        if fault:
            return error_answer(fault.code, f"injected fault: {fault.error}", fault.http_status)
        if target == "lambda:Invoke":
            return self._invoke(params)
        if target == "rekognition:DetectLabels":
            return self._detect_labels(params)
        return None

    def _invoke(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = unquote(params["url_path"].split("/functions/", 1)[1].split("/", 1)[0])
        qualifier = (params.get("query_string") or {}).get("Qualifier")
        try:
            # The workflow invokes the alias (`...:function:<name>:live`): the one version.
            spec, version = lambda_names.invoke_target(self.functions, name, qualifier)
        except lambda_names.InvokeTargetError as error:
            return error_answer(error.code, str(error), error.status)
        event: bytes = params["body"] or b"{}"
        fault: Fault | None = self.channel.call("invoking", spec.logical_id, json.loads(event))
        if fault and fault.is_service_error:
            return error_answer(fault.code, f"injected fault: {fault.error}", fault.http_status)
        if fault:
            invocation = Invocation.failed(
                lambda_failures.injected_payload(
                    fault.error, str(uuid.uuid4()), spec.timeout_seconds
                )
            )
        else:
            invocation = self._pool(spec).invoke(event)
        parsed: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": version,
            "Payload": StreamingBody(io.BytesIO(invocation.body), len(invocation.body)),
        }
        if invocation.function_error:
            parsed["FunctionError"] = invocation.function_error
        return answer(200, parsed)

    def _pool(self, spec: FunctionSpec) -> SandboxPool:
        with self._pools_lock:
            if spec.logical_id not in self.pools:
                self.pools[spec.logical_id] = SandboxPool(
                    spec,
                    self.config.endpoint_url,
                    self.log,
                    s3_endpoint_url=self.config.s3_endpoint_url,
                )
            return self.pools[spec.logical_id]

    def _detect_labels(self, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        request = json.loads(params["body"])
        location = request["Image"]["S3Object"]
        try:
            extra = {"VersionId": location["Version"]} if location.get("Version") else {}
            data = self.s3.get_object(Bucket=location["Bucket"], Key=location["Name"], **extra)[
                "Body"
            ].read()
            result = rekognition.detect_labels(
                data, request.get("MaxLabels", 1000), request.get("MinConfidence", 55.0)
            )
        except rekognition.RekognitionError as error:
            return error_answer(error.code, str(error), 400)
        except ClientError as error:
            return error_answer(
                "InvalidS3ObjectException", f"Unable to get object metadata from S3: {error}", 400
            )
        return answer(200, result)


def _as_botocore_parses(value: Any) -> Any:
    """moto's own history event as botocore parses it from the wire: enums as their strings,
    `timestamp` as a datetime."""
    if isinstance(value, dict):
        return {
            key: parse_timestamp(item) if key == "timestamp" else _as_botocore_parses(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_as_botocore_parses(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    return value


def _without_execution_data(event: dict[str, Any]) -> dict[str, Any]:
    """A history event without its input and output, as includeExecutionData=false gives it."""
    return {
        key: (
            {name: value for name, value in detail.items() if name not in ("input", "output")}
            if key.endswith("EventDetails") and isinstance(detail, dict)
            else detail
        )
        for key, detail in event.items()
    }
